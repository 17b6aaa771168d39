"""``recorder serve``: the recorded sessions over the API's HTTP shape, so SDK programs run offline.

One HTTP layer, two sources: :class:`~recorder.apiserver.ApiServer` reads from any
:class:`~recorder.apiserver.Source`; the emulator is one, and :class:`StoreSource` is the one backed by the event
log (no scenario or fault code is loaded here):

* sessions and threads are their latest recorded snapshots (the API's own objects; a minimal object is made up
  for a session or thread recorded without one);
* a stream's events are its recorded events in order, exactly the JSON the API delivered, positioned by their
  per-stream sequence number, so list cursors, ``order``, ``created_at[...]`` bounds and ``types[]`` work as
  they do against the API (the filters run in the database, page by page);
* the SSE stream **replays** the recorded stream from its start at the recorded pace scaled by ``speed``
  (0: as fast as the client reads; ``max_gap`` caps a wait), with heartbeats in between, and ends cleanly after
  the last event — a recording is finished by definition;
* files are the archived copies (metadata as the API gave it, bytes from the content-addressed store).

Security: the log holds everything the agents saw. The server binds loopback unless told otherwise, and refuses a
non-loopback address without a token (``--token`` / ``RECORDER_SERVE_TOKEN``); with a token, every request must
present it as its API key (``x-api-key`` or ``Authorization: Bearer``). Open connections are capped
(``--max-connections``, default 64); beyond the cap a request is answered 503 at once.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from recorder.apiserver import DEFAULT_MAX_CONNECTIONS, ApiServer, EventQuery, EventRecord, serve_until_interrupted
from recorder.errors import ConfigError, NotFound
from recorder.events import format_time, parse_time
from recorder.replay.pacing import Pace, check_pace
from recorder.store import EventRow, EventStore, FileArchive, open_read_only


def _record(row: EventRow) -> EventRecord:
    return EventRecord(row.seq, row.type, format_time(row.processed_at), row.payload)


class ReplaySubscription:
    """A stream's recorded events handed out at their recorded pace (see the module docstring)."""

    def __init__(self, rows: Iterator[EventRow], *, speed: float, max_gap: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rows = rows
        self._pace = Pace(speed, max_gap)
        self._clock = clock
        self._started = clock()
        self._due = 0.0
        self._pending: EventRow | None = None
        self._finished = False
        self._closed = threading.Event()

    def _take(self) -> EventRow | None:
        row = next(self._rows, None)
        if row is None:
            self._finished = True
            return None
        self._due = self._pace.due(row.processed_at)
        return row

    def get(self, timeout: float) -> EventRecord | None:
        if self._closed.is_set() or self._finished:
            return None
        if self._pending is None:
            self._pending = self._take()
            if self._pending is None:
                return None
        wait = self._started + self._due - self._clock()
        if wait > timeout:
            self._closed.wait(max(timeout, 0))
            return None
        if wait > 0:
            self._closed.wait(wait)
        if self._closed.is_set():
            return None
        row, self._pending = self._pending, None
        return _record(row)

    @property
    def finished(self) -> bool:
        return self._finished

    def close(self) -> None:
        self._closed.set()


class StoreSource:
    """The event log as a :class:`~recorder.apiserver.source.Source` for :class:`ApiServer`."""

    def __init__(self, store: EventStore, *, speed: float = 1.0, max_gap: float | None = None) -> None:
        check_pace(speed, max_gap)
        self.store = store
        self.speed = speed
        self.max_gap = max_gap
        self.archive = FileArchive(store)
        self._file_sessions: dict[str, str] = {}
        self._lock = threading.Lock()

    # ---- sessions and threads

    def _session_object(self, session_id: str, summary: Any = None) -> dict[str, Any]:
        snapshot = self.store.latest_snapshot(session_id)
        if snapshot is not None:
            return snapshot
        created = None
        if summary is not None:
            created = summary.created_at or summary.first_event_at or summary.last_recorded_at
        return {"type": "session", "id": session_id, "title": None, "status": "terminated",
                "created_at": format_time(created) or "1970-01-01T00:00:00.000000Z", "metadata": {},
                "recorded": True}

    def sessions(self) -> Sequence[dict[str, Any]]:
        return [self._session_object(s.session_id, s) for s in self.store.sessions()]

    def session(self, session_id: str) -> dict[str, Any]:
        self.store.require_session(session_id)
        snapshot = self.store.latest_snapshot(session_id)
        if snapshot is not None:
            return snapshot
        summary = next((s for s in self.store.sessions() if s.session_id == session_id), None)
        return self._session_object(session_id, summary)

    def _thread_object(self, session_id: str, thread_id: str) -> dict[str, Any]:
        snapshot = self.store.latest_snapshot(session_id, thread_id)
        if snapshot is not None:
            return snapshot
        return {"type": "session_thread", "id": thread_id, "session_id": session_id, "parent_thread_id": None,
                "status": "terminated", "recorded": True}

    def threads(self, session_id: str) -> Sequence[dict[str, Any]]:
        self.store.require_session(session_id)
        objects = [self._thread_object(session_id, tid) for tid in self.store.thread_ids(session_id)]
        primary = [t for t in objects if t.get("parent_thread_id") is None][:1]
        return primary + [t for t in objects if t not in primary]

    def thread(self, session_id: str, thread_id: str) -> dict[str, Any]:
        self.store.require_session(session_id)
        if thread_id not in self.store.thread_ids(session_id):
            raise NotFound(f"thread {thread_id} not found in session {session_id}")
        return self._thread_object(session_id, thread_id)

    # ---- events

    def _require_stream(self, session_id: str, thread_id: str | None) -> None:
        self.store.require_session(session_id)
        if thread_id is not None and thread_id not in self.store.thread_ids(session_id):
            raise NotFound(f"thread {thread_id} not found in session {session_id}")

    def events(self, session_id: str, thread_id: str | None, query: EventQuery) -> Iterator[EventRecord]:
        self._require_stream(session_id, thread_id)
        rows = self.store.read_stream(
            session_id, thread_id, after_seq=query.after, descending=query.order == "desc",
            types=sorted(query.types) if query.types is not None else None,
            processed_gt=parse_time(query.gt), processed_gte=parse_time(query.gte),
            processed_lt=parse_time(query.lt), processed_lte=parse_time(query.lte), batch_size=1001)
        return (_record(row) for row in rows)

    def subscribe(self, session_id: str, thread_id: str | None) -> ReplaySubscription:
        self._require_stream(session_id, thread_id)
        return ReplaySubscription(self.store.read_stream(session_id, thread_id), speed=self.speed,
                                  max_gap=self.max_gap)

    # ---- files

    def files(self, scope_id: str | None) -> Sequence[dict[str, Any]]:
        session_ids = [scope_id] if scope_id is not None else self.store.session_ids()
        out = []
        for session_id in session_ids:
            for archived in self.archive.files(session_id):
                with self._lock:
                    self._file_sessions[archived.file_id] = session_id
                out.append(json.loads(archived.metadata))
        return out

    def _file_session(self, file_id: str) -> str:
        with self._lock:
            found = self._file_sessions.get(file_id)
        if found is None:
            self.files(None)
            with self._lock:
                found = self._file_sessions.get(file_id)
        if found is None:
            raise NotFound(f"file {file_id} not found")
        return found

    def file(self, file_id: str) -> dict[str, Any]:
        session_id = self._file_session(file_id)
        for archived in self.archive.files(session_id):
            if archived.file_id == file_id:
                return json.loads(archived.metadata)
        raise NotFound(f"file {file_id} not found")

    def file_content(self, file_id: str) -> bytes:
        content = self.archive.content(self._file_session(file_id), file_id)
        if content is None:
            raise NotFound(f"file {file_id} has no archived content")
        return bytes(content)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only ever means this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve the log beyond this machine without a token (ConfigError, one line)."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"refusing to serve the event log on non-loopback address {host}: set --token "
                          "(or RECORDER_SERVE_TOKEN) so that every request must present it")


def serve(store: EventStore, *, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0,
          max_gap: float | None = None, heartbeat: float = 5.0, token: str | None = None,
          max_connections: int = DEFAULT_MAX_CONNECTIONS) -> ApiServer:
    """An :class:`ApiServer` over the log, not yet started (``.start()`` for a background thread, or use it as a
    context manager). ``token``: the one API key accepted (required for a non-loopback ``host``)."""
    if heartbeat <= 0:
        raise ConfigError("--heartbeat must be positive")
    if max_connections < 1:
        raise ConfigError("--max-connections must be at least 1")
    check_exposure(host, token)
    try:
        return ApiServer(StoreSource(store, speed=speed, max_gap=max_gap), api_key=token or None,
                         heartbeat=heartbeat, host=host, port=port, name="recorder-serve",
                         max_connections=max_connections)
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def run(db_url: str, *, host: str, port: int, speed: float, max_gap: float | None, heartbeat: float,
        token: str | None, echo: Callable[[str], None],
        max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
    """``recorder serve``: serve until interrupted, after saying where and what."""
    check_exposure(host, token)
    store = open_read_only(db_url)  # serve changes nothing: the log may sit on read-only media
    try:
        server = serve(store, host=host, port=port, speed=speed, max_gap=max_gap, heartbeat=heartbeat,
                       token=token, max_connections=max_connections)
        sessions = store.sessions()
        pace = "as fast as the client reads" if speed == 0 else f"{speed:g}x the recorded pace"
        echo(f"Serving {len(sessions)} recorded session(s) from the event log on {server.base_url} "
             f"(streams replay at {pace}; at most {max_connections} connections)")
        for s in sessions:
            echo(f"  {s.session_id}  {s.events:>8,} events  {s.status or '':<11} {s.title or ''}")
        echo("Point the SDK at it:")
        echo(f"  export ANTHROPIC_BASE_URL={server.base_url}")
        echo("  export ANTHROPIC_API_KEY=" + ("<the token>   # every request must present it" if token
                                              else "recorded   # any non-empty key"))
        echo("Press Ctrl-C to stop.")
        serve_until_interrupted(server)
    finally:
        store.close()
