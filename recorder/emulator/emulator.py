"""The :class:`Emulator`: generated sessions behind the :class:`~recorder.apiserver.source.Source` protocol (and
:class:`~recorder.apiserver.source.SessionControl` for the API's writes), plus the handles tests need (ground
truth, faults, live control, archive/delete/new messages, webhooks, serving)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from recorder.apiserver import ApiServer, EventQuery, EventRecord
from recorder.apiserver.wire import now_micros, parse_micros
from recorder.emulator import ids
from recorder.emulator.builder import default_resources
from recorder.emulator.faults import FaultBook, Faults
from recorder.emulator.lazy import LongStream
from recorder.emulator.scenarios import SCENARIOS, Context, agent
from recorder.emulator.session import EmulatedSession
from recorder.emulator.snapshots import SessionSnapshot, file_object
from recorder.emulator.streams import StreamLog, Subscriber
from recorder.emulator.turns import next_turn, user_event
from recorder.emulator.webhooks import WEBHOOK_OF_EVENT, Attempt, WebhookFaults, WebhookSender
from recorder.errors import ConfigError, NotFound

EPOCH = parse_micros("2026-03-02T09:00:00Z")  # finished sessions start from here, three hours apart
DEFAULT_LONG_EVENTS = 10_000
STANDARD = ("tool_use", "mcp", "custom_tool", "confirmation", "multi_agent", "errors", "budget", "interrupts",
            "compaction", "unknown_types", "large_results", "unicode", "outcome", "self_hosted", "workflows",
            "error_catalog", "long")


class Emulator:
    """Seeded, deterministic Managed Agents sessions served over loopback HTTP.

    ``seed`` fixes every id, text and (for finished sessions) time. ``api_key`` None accepts any non-empty key.
    ``heartbeat`` is the seconds between ``ping`` frames on idle streams. ``faults`` are global faults.
    ``webhook_url`` / ``webhook_secret`` / ``webhook_faults``: where signed webhooks go (see
    :mod:`recorder.emulator.webhooks`). ``file_lag``: seconds (or a (low, high) range) between a session going
    idle in real time and its new files being listed. ``turn_interval``: step interval of later turns.
    """

    def __init__(self, seed: int = 0, *, api_key: str | None = None, heartbeat: float = 5.0,
                 faults: Faults | str | None = None, webhook_url: str | None = None,
                 webhook_secret: str | None = None, webhook_faults: WebhookFaults | str | None = None,
                 file_lag: float | tuple[float, float] = (1.0, 3.0), turn_interval: float = 0.02) -> None:
        self.seed = seed
        self.api_key = api_key
        self.heartbeat = heartbeat
        self.fault_book = FaultBook()
        self.fault_book.set(None, faults)
        lag = (file_lag, file_lag) if isinstance(file_lag, int | float) else file_lag
        if lag[0] < 0 or lag[1] < lag[0]:
            raise ConfigError("file_lag must be a non-negative number or a (low, high) range")
        self.file_lag = (float(lag[0]), float(lag[1]))
        self.turn_interval = turn_interval
        self.webhooks = WebhookSender(seed, url=webhook_url, secret=webhook_secret, faults=webhook_faults)
        self._sessions: dict[str, EmulatedSession] = {}
        self._deleted: set[str] = set()
        self._files: dict[str, tuple[EmulatedSession, int]] = {}
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._serving = 0

    # ---------------------------------------------------------------------------------------- adding

    def add_session(self, scenario: str, *, events: int | None = None, live: bool | None = None,
                    interval: float = 0.05, autostart: bool = True, faults: Faults | str | None = None,
                    **options: Any) -> str:
        """Add one session of ``scenario`` and return its id.

        ``events``: length of a ``long`` session (default 10,000) or approximate length of a ``live`` one.
        ``live``: play the script in real time, one step every ``interval`` seconds (default: only ``live``).
        ``autostart``: a live session starts when the emulator is served (or now, if it already is); otherwise
        call :meth:`start`. ``faults``: this session's faults. ``options``: scenario options (``mb`` for
        ``large_results``).
        """
        spec = SCENARIOS.get(scenario)
        if spec is None:
            raise ConfigError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        if events is not None and scenario not in ("long", "live"):
            raise ConfigError(f"scenario {scenario!r} has a fixed length; `events` applies to long and live")
        if events is not None and events < 1:
            raise ConfigError("events must be at least 1")
        live = spec.live_by_default if live is None else live
        if live and spec.write is None:
            raise ConfigError(f"scenario {scenario!r} cannot be played live")
        if interval < 0:
            raise ConfigError("interval cannot be negative")
        ordinal = next(self._counter)
        key = f"{scenario}#{ordinal}"
        start = now_micros() if live else EPOCH + ordinal * 3 * 3600 * 1_000_000 + ids.digest(
            self.seed, key, "start") % (40 * 60 * 1_000_000)
        if spec.write is None:
            session = self._long_session(key, start, events or DEFAULT_LONG_EVENTS)
        else:
            script = spec.write(Context(self.seed, key, start, events, options))
            session = EmulatedSession.from_script(script, live=live, interval=interval)
        session.autostart = autostart
        self._attach(session)
        with self._lock:
            self._sessions[session.id] = session
            for n, f in enumerate(session.files):
                self._files[f.id] = (session, n)
            serving = self._serving > 0
        if faults is not None:
            self.set_faults(session.id, faults)
        self.webhooks.send("session.created", session.id)
        if not live:  # finished at creation: one webhook for where it ended
            final = {"idle": "session.status_idled", "terminated": "session.status_terminated"}.get(session.status)
            if final is not None:
                self.webhooks.send(final, session.id)
        if live and autostart and serving:
            session.start()
        return session.id

    def create_session(self, scenario: str = "tool_use", *, live: bool | None = True, **kwargs: Any) -> str:
        """A session created at runtime, as a client would: plays live by default (if the scenario can) and starts
        at once when the emulator is being served. Same arguments as :meth:`add_session`."""
        spec = SCENARIOS.get(scenario)
        if live and spec is not None and spec.write is None:
            live = None
        return self.add_session(scenario, live=live, **kwargs)

    def _attach(self, session: EmulatedSession) -> None:
        low, high = self.file_lag
        seed = self.seed
        session.file_lag = lambda f: low + (high - low) * (ids.digest(seed, f.id, "lag") % 10_000) / 10_000
        session.on_event = self._on_event

    def _on_event(self, session: EmulatedSession, event: dict[str, Any], thread_id: str) -> None:
        """Webhooks for what a session does in real time."""
        webhook_type = WEBHOOK_OF_EVENT.get(event["type"])
        if webhook_type is None:
            return
        if webhook_type.startswith("session.thread_"):
            child = event.get("session_thread_id")
            if child:
                self.webhooks.send(webhook_type, session.id, session_thread_id=child)
        elif thread_id == session.snapshot.primary_thread:
            self.webhooks.send(webhook_type, session.id)

    def _long_session(self, key: str, start: int, length: int) -> EmulatedSession:
        primary = agent(self.seed, "widgets-maintainer")
        snapshot = SessionSnapshot(
            id=ids.make_id("sesn", self.seed, key), created=start, title=f"A long session ({length:,} events)",
            agent=primary.as_api(), environment_id=ids.make_id("env", self.seed, "environment"),
            resources=default_resources(self.seed, key, start), metadata={"scenario": "long"}, budget=None,
            vault_ids=[ids.make_id("vlt", self.seed, "vault")])
        snapshot.add_thread(ids.make_id("sthr", self.seed, key, "primary"), primary.as_api(), primary.model, None,
                            start)
        return EmulatedSession.long(LongStream(self.seed, key, start + 1_000_000, length), snapshot)

    def add_standard_sessions(self, *, include_live: bool = False, long_events: int = 2_000) -> list[str]:
        """One session of every scenario (``long`` with ``long_events`` events; ``live`` only if asked)."""
        out = [self.add_session(name, events=long_events if name == "long" else None) for name in STANDARD]
        if include_live:
            out.append(self.add_session("live"))
        return out

    # ---------------------------------------------------------------------------------------- control

    def start(self, session_id: str) -> None:
        """Start playing a live session that was added with ``autostart=False``."""
        self._session(session_id).start()

    def wait_until_finished(self, session_id: str, timeout: float = 30.0) -> None:
        """Block until a live session (or a later turn) has played to its end, idle or terminated; TimeoutError
        if it has not within ``timeout``."""
        if not self._session(session_id).finished.wait(timeout):
            raise TimeoutError(f"session {session_id} did not finish within {timeout} s")

    wait_until_idle = wait_until_finished

    def set_faults(self, session_id: str | None, faults: Faults | str | None) -> None:
        """Replace the faults of one session (``session_id`` None: the global faults); None or "" clears."""
        if session_id is not None:
            self._session(session_id)
        self.fault_book.set(session_id, faults)

    def faults(self, session_id: str | None = None) -> Faults:
        """The faults in force (with what is left of their counts)."""
        return self.fault_book.get(session_id)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ApiServer:
        """Start serving in a background thread; use the result as a context manager (or call ``stop()``)."""
        return self.server(host, port).start()

    def server(self, host: str = "127.0.0.1", port: int = 0) -> ApiServer:
        """A server over this emulator, bound but not started (``start()``, or a context manager)."""
        return _EmulatorServer(self, host, port)

    def close(self) -> None:
        """Stop every live session's playback and the webhook sender."""
        for session in list(self._sessions.values()):
            session.stop()
        self.webhooks.close()

    def _serving_started(self) -> None:
        with self._lock:
            self._serving += 1
            sessions = list(self._sessions.values())
        for session in sessions:
            if session.live and session.autostart:
                session.start()

    def _serving_stopped(self) -> None:
        with self._lock:
            self._serving -= 1

    # ---------------------------------------------------------------------------------------- life cycle

    def archive(self, session_id: str) -> dict[str, Any]:
        """Archive a session: it keeps its history, takes no new events, leaves ``sessions.list`` unless
        ``include_archived``; its streams end. Returns the session object (``archived_at`` set)."""
        session = self._session(session_id)
        was = session.archived
        session.archive()
        if not was:
            self.webhooks.send("session.archived", session_id)
        return session.session_object()

    def delete(self, session_id: str) -> dict[str, Any]:
        """Delete a session: its record, events and files are gone (every request about it answers 404); open
        streams receive ``session.deleted`` and end."""
        session = self._session(session_id)
        session.delete(self.seed)
        with self._lock:
            self._sessions.pop(session_id, None)
            self._deleted.add(session_id)
            for file_id in [f for f, (s, _) in self._files.items() if s is session]:
                del self._files[file_id]
        self.webhooks.send("session.deleted", session_id)
        return {"id": session_id, "type": "session_deleted"}

    def send_message(self, session_id: str, text: str, *, wait: bool = False, timeout: float = 30.0,
                     tools: int = 1, files: int = 0) -> str:
        """A new user message to an idle session: it runs one more turn (``tools`` tool calls, ``files`` output
        files) in real time and goes idle again (``end_turn``). Returns the message's event id; ``wait`` blocks
        until the session is idle again."""
        event = {"type": "user.message", "content": [{"type": "text", "text": text}]}
        sent = self.send_events(session_id, [event], tools=tools, files=files)["data"][0]["id"]
        if wait:
            self.wait_until_finished(session_id, timeout)
        return str(sent)

    def send_events(self, session_id: str, events: list[dict[str, Any]], *, tools: int = 1, files: int = 0
                    ) -> dict[str, Any]:
        """``POST /v1/sessions/{id}/events``: user events (``user.message``, ``user.custom_tool_result``,
        ``user.tool_confirmation``, ``user.interrupt``) to an idle session; then it runs a turn and goes idle again
        (an interrupt alone only stops). ConfigError (400) for an archived, terminated or running session."""
        session = self._session(session_id)
        with session.lock:
            if session.ended or session.playing or (session.live and not session.started):
                session.play([], [], 0)  # raises the right ConfigError
            n = session.turns
            applied = []
            for number, raw in enumerate(events):
                event = user_event(self.seed, session, n, number, raw)
                applied.append(event)
            at = session.apply_user_events(applied)
            emissions, new_files = ([], []) if all(e["type"] == "user.interrupt" for e in applied) else next_turn(
                self.seed, session, n, at, tools=tools, files=files, answered=applied)
            session.play(emissions, new_files, self.turn_interval)
        with self._lock:
            for index, f in enumerate(session.files):
                self._files[f.id] = (session, index)
        return {"data": [dict(e) for e in applied]}

    # SessionControl (the server's write routes)

    def archive_session(self, session_id: str) -> dict[str, Any]:
        return self.archive(session_id)

    def delete_session(self, session_id: str) -> dict[str, Any]:
        return self.delete(session_id)

    # ---------------------------------------------------------------------------------------- webhooks

    def configure_webhooks(self, url: str | None, secret: str | None = None,
                           faults: WebhookFaults | str | None = None) -> None:
        """Where webhooks go from now on (None: nowhere), their secret and delivery faults."""
        self.webhooks.configure(url, secret, faults)

    @property
    def webhook_secret(self) -> str:
        return self.webhooks.secret

    def send_webhook(self, webhook_type: str, session_id: str, *, url: str | None = None, **extra: str) -> str | None:
        """Send one webhook now (to ``url``, default the configured one); its ``webhook-id``."""
        return self.webhooks.send(webhook_type, session_id, url=url, **extra)

    def webhook_log(self) -> list[Attempt]:
        """Every delivery attempt so far (dropped ones included, marked)."""
        return list(self.webhooks.log)

    # ---------------------------------------------------------------------------------------- inspection

    def session_ids(self) -> list[str]:
        """Every session id, in the order added."""
        with self._lock:
            return list(self._sessions)

    def scenario(self, session_id: str) -> str:
        return self._session(session_id).scenario

    def thread_ids(self, session_id: str) -> list[str]:
        """The session's threads so far: the primary thread first, then children in creation order."""
        return self._session(session_id).thread_ids()

    def primary_thread_id(self, session_id: str) -> str:
        return self._session(session_id).snapshot.primary_thread

    def is_live(self, session_id: str) -> bool:
        return self._session(session_id).live

    def is_finished(self, session_id: str) -> bool:
        return self._session(session_id).finished.is_set()

    def status(self, session_id: str) -> str:
        return self._session(session_id).status

    def is_deleted(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._deleted

    def ground_truth(self, session_id: str, thread_id: str | None = None) -> list[dict[str, Any]]:
        """A stream's events exactly as paging through its list delivers them, in order (queued ones last).
        For a live session, what has been emitted so far."""
        return [json.loads(text) for text in self.ground_truth_json(session_id, thread_id)]

    def ground_truth_json(self, session_id: str, thread_id: str | None = None) -> Iterator[str]:
        """Like :meth:`ground_truth` but the JSON texts as sent, lazily (flat memory for a ``long`` session)."""
        stream = self._stream(session_id, thread_id)
        if isinstance(stream, StreamLog):
            yield from stream.texts()
        else:
            for record in stream.records(EventQuery()):
                yield record.json

    def event_count(self, session_id: str, thread_id: str | None = None) -> int:
        """How many processed events the stream holds."""
        return len(self._stream(session_id, thread_id))

    # ---------------------------------------------------------------------------------------- Source

    def sessions(self) -> Sequence[dict[str, Any]]:
        with self._lock:
            sessions = list(self._sessions.values())
        return [s.session_object() for s in sessions]

    def session(self, session_id: str) -> dict[str, Any]:
        return self._session(session_id).session_object()

    def threads(self, session_id: str) -> Sequence[dict[str, Any]]:
        session = self._session(session_id)
        return [session.thread_object(t) for t in session.thread_ids()]

    def thread(self, session_id: str, thread_id: str) -> dict[str, Any]:
        session = self._session(session_id)
        if thread_id not in session.snapshot.threads:
            raise NotFound(f"thread {thread_id} not found in session {session_id}")
        return session.thread_object(thread_id)

    def events(self, session_id: str, thread_id: str | None, query: EventQuery) -> Iterator[EventRecord]:
        return self._stream(session_id, thread_id).records(query)

    def subscribe(self, session_id: str, thread_id: str | None) -> Subscriber:
        self._stream(session_id, thread_id)
        return self._session(session_id).subscribe(thread_id)

    def files(self, scope_id: str | None = None) -> list[dict[str, Any]]:
        """The files listed now (a live session's new files appear ``file_lag`` after it goes idle)."""
        with self._lock:
            sessions = list(self._sessions.values())
        out: list[dict[str, Any]] = []
        for session in sessions:
            if scope_id is None or session.id == scope_id:
                out.extend(_file_object(session, f) for _, f in session.visible_files())
        return out

    def file(self, file_id: str) -> dict[str, Any]:
        session, n = self._file(file_id)
        return _file_object(session, session.files[n])

    def file_content(self, file_id: str) -> bytes:
        session, n = self._file(file_id)
        return session.files[n].content

    # ---------------------------------------------------------------------------------------- lookups

    def _session(self, session_id: str) -> EmulatedSession:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise NotFound(f"session {session_id} not found")
        return session

    def _stream(self, session_id: str, thread_id: str | None) -> Any:
        session = self._session(session_id)
        with session.lock:
            stream = session.streams.get(thread_id)
        if stream is None:
            raise NotFound(f"thread {thread_id} not found in session {session_id}")
        return stream

    def _file(self, file_id: str) -> tuple[EmulatedSession, int]:
        with self._lock:
            found = self._files.get(file_id)
        if found is None or all(f.id != file_id for _, f in found[0].visible_files()):
            raise NotFound(f"file {file_id} not found")
        return found


def _file_object(session: EmulatedSession, f: Any) -> dict[str, Any]:
    return file_object(f.id, f.filename, f.mime_type, len(f.content), f.created, session.id)


class _EmulatorServer(ApiServer):
    """An :class:`ApiServer` over an emulator that starts its live sessions when serving begins."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        super().__init__(emulator, planner=emulator.fault_book, control=emulator, api_key=emulator.api_key,
                         heartbeat=emulator.heartbeat, host=host, port=port, name="managed-agents-emulator",
                         on_start=emulator._serving_started)
        self.emulator = emulator

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.emulator._serving_stopped()
