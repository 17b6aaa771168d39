"""The API's endpoints: query parsing, filters, paging and the bodies of the answers.

:class:`Endpoints` is mixed into the request handler of :mod:`recorder.emulator.server`, which provides what it
uses: ``self.api`` (the :class:`~recorder.emulator.server.ApiServer`), ``self.plan`` (this response's faults),
``self.params`` (the parsed query) and the writers ``_start``, ``_send_json``, ``_write``, ``_chunk`` and
``_abort``. ``_<route>`` answers one route; a problem with the request raises :class:`HttpError`.

Lists fetch one item more than the page to know whether there is a next page. Sessions, threads and files page by
keyset (the sort key of the last item); events page by stream position (see :mod:`recorder.emulator.source`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from recorder.emulator.faults import Plan, hidden_late, rewrite_event, touched
from recorder.emulator.source import EventQuery, EventRecord
from recorder.emulator.wire import decode_cursor, dumps, encode_cursor, format_micros, now_micros, parse_micros

if TYPE_CHECKING:
    from recorder.emulator.server import ApiServer

MAX_LIMIT = 1000
DEFAULT_LIMITS = {"events": 100, "sessions": 20, "threads": 1000, "files": 20}
PING = b'event: ping\ndata: {"type":"ping"}\n\n'


class HttpError(Exception):
    """A request the API would refuse: its status and one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Endpoints:
    """The routes' implementations (a mixin of the request handler)."""

    api: ApiServer
    plan: Plan
    params: dict[str, list[str]]

    # ------------------------------------------------------------------------------------ query parsing

    def _one(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else None

    def _many(self, name: str) -> list[str] | None:
        values = self.params.get(name + "[]", []) + self.params.get(name, [])
        return values or None

    def _limit(self, kind: str) -> int:
        raw = self._one("limit")
        if raw is None or raw == "":
            return DEFAULT_LIMITS[kind]
        try:
            limit = int(raw)
        except ValueError:
            raise HttpError(400, f"limit: expected an integer, got {raw!r}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise HttpError(400, f"limit: must be between 1 and {MAX_LIMIT}, got {limit}")
        return limit

    def _order(self, default: str) -> str:
        order = self._one("order") or default
        if order not in ("asc", "desc"):
            raise HttpError(400, f"order: must be 'asc' or 'desc', got {order!r}")
        return order

    def _time_bounds(self) -> dict[str, str | None]:
        bounds: dict[str, str | None] = {}
        for op in ("gt", "gte", "lt", "lte"):
            raw = self._one(f"created_at[{op}]")
            if raw is None:
                bounds[op] = None
                continue
            try:
                bounds[op] = format_micros(parse_micros(raw))
            except ValueError:
                raise HttpError(400, f"created_at[{op}]: not an RFC 3339 timestamp: {raw!r}") from None
        return bounds

    def _cursor(self, kind: str, key: str, prefix: str = "") -> dict[str, Any] | None:
        raw = self._one("page")
        if not raw:
            return None
        try:
            state = decode_cursor(raw, prefix)
        except ValueError:
            raise HttpError(400, "page: invalid page cursor") from None
        if state.get("k") != kind or state.get("s") != key:
            raise HttpError(400, "page: this cursor belongs to a different list")
        return state

    # ------------------------------------------------------------------------------------ sessions

    def _list_sessions(self) -> None:
        limit, order, bounds = self._limit("sessions"), self._order("desc"), self._time_bounds()
        statuses = self._many("statuses")
        agent_id = self._one("agent_id")
        rows = []
        for obj in self.api.source.sessions():
            created = obj["created_at"]
            if statuses and obj["status"] not in statuses:
                continue
            if agent_id and obj.get("agent", {}).get("id") != agent_id:
                continue
            if not _in_bounds(created, bounds):
                continue
            rows.append(((created, obj["id"]), obj))
        rows.sort(key=lambda row: row[0], reverse=order == "desc")
        self._send_keyset_page(rows, limit, order, "sessions", "", bidirectional=True)

    def _send_keyset_page(self, rows: list[tuple[tuple[str, str], dict[str, Any]]], limit: int, order: str,
                          kind: str, key: str, *, bidirectional: bool = False, prefix: str = "") -> None:
        state = self._cursor(kind, key, prefix)
        if state is not None:
            after = (state["c"], state["i"])
            rows = [row for row in rows if (row[0] < after if order == "desc" else row[0] > after)]
        page = rows[:limit]
        next_page = None
        if len(rows) > limit:
            last = page[-1][0]
            next_page = encode_cursor({"k": kind, "s": key, "c": last[0], "i": last[1]}, prefix)
        body: dict[str, Any] = {"data": [obj for _, obj in page], "next_page": next_page}
        if bidirectional:
            body["prev_page"] = None
        self._send_json(body)

    def _get_session(self, session_id: str) -> None:
        self._send_json(self.api.source.session(session_id))

    # ------------------------------------------------------------------------------------ threads

    def _list_threads(self, session_id: str) -> None:
        limit = self._limit("threads")
        statuses = self._many("statuses")
        threads = list(self.api.source.threads(session_id))
        rows = [((format_micros(0), f"{n:09d}"), t) for n, t in enumerate(threads)
                if not statuses or t["status"] in statuses]
        self._send_keyset_page(rows, limit, "asc", "threads", session_id)

    def _get_thread(self, session_id: str, thread_id: str) -> None:
        self._send_json(self.api.source.thread(session_id, thread_id))

    # ------------------------------------------------------------------------------------ events

    def _event_query(self, stream_key: str) -> tuple[EventQuery, int]:
        limit, order, bounds = self._limit("events"), self._order("asc"), self._time_bounds()
        types = self._many("types")
        state = self._cursor("events", stream_key)
        if state is not None and state.get("o") != order:
            raise HttpError(400, "page: the cursor was made for the other order")
        after = None if state is None else int(state["p"])
        return EventQuery(order=order, after=after, types=frozenset(types) if types else None,  # type: ignore[arg-type]
                          **bounds), limit

    def _list_events(self, session_id: str, thread_id: str | None = None) -> None:
        stream_key = thread_id or session_id
        query, limit = self._event_query(stream_key)
        self.api.source.session(session_id)  # 404 before anything else
        records = list(islice(self._visible(session_id, thread_id, query), limit + 1))
        page = records[:limit]
        next_page = None
        if len(records) > limit:
            position = _resume_position(page, query, self.plan.duplicate)
            if position is not None and position != query.after:
                next_page = encode_cursor({"k": "events", "s": stream_key, "o": query.order, "p": position})
        if self.plan.loop_cursor and next_page is not None and self._one("page"):
            next_page = self._one("page")  # data fault: the cursor leads back to this very page
        parts = [b'{"data":[']
        cut = None
        for n, record in enumerate(page):
            item = (b"," if n else b"") + rewrite_event(record.json, self.plan).encode()
            if self.plan.drop_after is not None and n == self.plan.drop_after:
                cut = sum(len(p) for p in parts) + len(item) // 2
            parts.append(item)
        parts.append(b'],"next_page":' + dumps(next_page).encode() + b"}")
        body = b"".join(parts)
        if self.plan.drop_after is not None and cut is None:
            cut = len(body) - 2
        self._send_json(body=body, cut=cut)

    def _visible(self, session_id: str, thread_id: str | None, query: EventQuery) -> Iterator[EventRecord]:
        """The stream's records for a list, without those the ``late`` data fault still hides."""
        records = self.api.source.events(session_id, thread_id, query)
        if self.plan.late is None or thread_id is not None:
            return iter(records)
        finished = self.api.source.session(session_id).get("status") == "terminated"
        now = now_micros()
        return (r for r in records if not hidden_late(r.json, r.processed_at, self.plan, now, finished))

    def _stream_events(self, session_id: str, thread_id: str | None = None) -> None:
        self.api.source.session(session_id)
        if thread_id is not None:
            self.api.source.thread(session_id, thread_id)
        subscription = self.api.source.subscribe(session_id, thread_id)
        plan, stopping = self.plan, self.api.stopping
        if plan.heartbeat_only:
            subscription.close()  # nothing will be read from it: do not let it queue events
        try:
            self.close_connection = True
            self._start(200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache",
                              "transfer-encoding": "chunked", "connection": "close"})
            sent = 0
            last_beat = time.monotonic()
            while not stopping.is_set():
                wait = max(0.0, min(0.25, self.api.heartbeat - (time.monotonic() - last_beat)))
                record = None if plan.heartbeat_only else subscription.get(wait)
                if plan.heartbeat_only:
                    stopping.wait(wait)
                if record is None:
                    if subscription.finished and not plan.heartbeat_only:
                        break
                    if time.monotonic() - last_beat >= self.api.heartbeat:
                        self._chunk(PING)
                        last_beat = time.monotonic()
                    continue
                if plan.late is not None and thread_id is None and touched(record.json, plan.every):
                    continue  # data fault: a late-visible event never comes on the stream
                frame = f"event: {record.type}\ndata: {rewrite_event(record.json, plan)}\n\n".encode()
                if plan.drop_after is not None and sent >= plan.drop_after:
                    self._chunk(frame, partial=len(frame) // 2)
                    self._abort()
                    return
                self._chunk(frame)
                sent += 1
                if plan.duplicate and sent % plan.duplicate == 0:
                    self._chunk(frame)
                if plan.end_after is not None and sent >= plan.end_after:
                    break
            self._write(b"0\r\n\r\n")
        finally:
            subscription.close()

    # ------------------------------------------------------------------------------------ files

    def _list_files(self) -> None:
        scope = self._one("scope_id")
        ids = self._many("ids")
        files = list(self.api.source.files(scope))
        if ids:
            wanted = set(ids)
            self._send_json({"data": [f for f in files if f["id"] in wanted], "next_page": None})
            return
        limit = self._limit("files")
        rows = sorted((((f["created_at"], f["id"]), f) for f in files), key=lambda row: row[0], reverse=True)
        self._send_keyset_page(rows, limit, "desc", "files", scope or "", prefix="page_")

    def _get_file(self, file_id: str) -> None:
        self._send_json(self.api.source.file(file_id))

    def _download_file(self, file_id: str) -> None:
        meta = self.api.source.file(file_id)
        content = self.api.source.file_content(file_id)
        self._start(200, {"content-type": meta.get("mime_type") or "application/octet-stream",
                          "content-length": str(len(content)),
                          "content-disposition": f"attachment; filename*=UTF-8''{quote(meta['filename'])}"})
        self._write(content)


def _in_bounds(stamp: str, bounds: dict[str, str | None]) -> bool:
    t = format_micros(parse_micros(stamp))
    return ((bounds["gt"] is None or t > bounds["gt"]) and (bounds["gte"] is None or t >= bounds["gte"])
            and (bounds["lt"] is None or t < bounds["lt"]) and (bounds["lte"] is None or t <= bounds["lte"]))


def _resume_position(page: list[EventRecord], query: EventQuery, overlap: int | None) -> int | None:
    """Where the next page starts: after the last event delivered (never after a queued one when ascending),
    or ``overlap`` events earlier when pages are made to overlap (always keeping at least one event of progress)."""
    candidates = [r for r in page if not (query.order == "asc" and r.queued)]
    if not candidates:
        return None
    if overlap:
        back = min(overlap, len(candidates) - 1)
        return candidates[-1 - back].position
    return candidates[-1].position
