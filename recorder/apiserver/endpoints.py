"""The API's endpoints: query parsing, filters, paging and the bodies of the answers.

:class:`Endpoints` answers one request. It is given the server's :class:`Context` (the source, the optional
session control, heartbeat and the stop flag) and a :class:`Responder`: the request's parsed query, the plan for
its response (:mod:`recorder.apiserver.shaping`) and the writers. The HTTP plumbing (:mod:`.server`) implements
the responder; nothing here knows about sockets or the server. ``<route>(...)`` answers one route; a problem with
the request raises :class:`HttpError`.

Lists fetch one item more than the page to know whether there is a next page. Sessions, threads and files page by
keyset (the sort key of the last item); events page by stream position (see :mod:`recorder.apiserver.source`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import quote

from recorder.apiserver.responder import Responder
from recorder.apiserver.source import EventQuery, EventRecord, SessionControl, Source
from recorder.apiserver.sse import stream_events
from recorder.apiserver.wire import decode_cursor, dumps, encode_cursor, format_micros, parse_micros

MAX_LIMIT = 1000
DEFAULT_LIMITS = {"events": 100, "sessions": 20, "threads": 1000, "files": 20}


class HttpError(Exception):
    """A request the API would refuse: its status and one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Context:
    """What the endpoints need of the server."""

    source: Source
    heartbeat: float
    stopping: threading.Event
    control: SessionControl | None = None


class Endpoints:
    """The routes' implementations for one request."""

    def __init__(self, context: Context, out: Responder) -> None:
        self.context = context
        self.source = context.source
        self.out = out
        self.params = out.params

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

    def _flag(self, name: str) -> bool:
        raw = self._one(name)
        if raw is None or raw == "":
            return False
        if raw.lower() not in ("true", "false", "1", "0"):
            raise HttpError(400, f"{name}: expected true or false, got {raw!r}")
        return raw.lower() in ("true", "1")

    def _only(self, allowed: tuple[str, ...]) -> None:
        unknown = sorted(k for k in self.params if k not in allowed)
        if unknown:
            raise HttpError(400, f"{unknown[0]}: unknown parameter (this list takes only {', '.join(allowed)})")

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

    def list_sessions(self) -> None:
        limit, order, bounds = self._limit("sessions"), self._order("desc"), self._time_bounds()
        statuses = self._many("statuses")
        agent_id = self._one("agent_id")
        include_archived = self._flag("include_archived")
        rows = []
        for obj in self.source.sessions():
            created = obj["created_at"]
            if obj.get("archived_at") and not include_archived:
                continue
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
        self.out.send_json(body)

    def get_session(self, session_id: str) -> None:
        self.out.send_json(self.source.session(session_id))

    def _control(self) -> SessionControl:
        control = self.context.control
        if control is None:  # (the server refuses write routes first; this is for a direct caller)
            raise HttpError(405, "this server is read-only")
        return control

    def archive_session(self, session_id: str) -> None:
        self.out.body()
        self.out.send_json(self._control().archive_session(session_id))

    def delete_session(self, session_id: str) -> None:
        self.out.body()
        self.out.send_json(self._control().delete_session(session_id))

    def send_events(self, session_id: str) -> None:
        raw = self.out.body()
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            raise HttpError(400, "the request body is not JSON") from None
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
            raise HttpError(400, "events: expected a non-empty list of event objects")
        self.out.send_json(self._control().send_events(session_id, events))

    # ------------------------------------------------------------------------------------ threads

    def list_threads(self, session_id: str) -> None:
        limit = self._limit("threads")
        statuses = self._many("statuses")
        threads = list(self.source.threads(session_id))
        rows = [((format_micros(0), f"{n:09d}"), t) for n, t in enumerate(threads)
                if not statuses or t["status"] in statuses]
        self._send_keyset_page(rows, limit, "asc", "threads", session_id)

    def get_thread(self, session_id: str, thread_id: str) -> None:
        self.out.send_json(self.source.thread(session_id, thread_id))

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

    def list_thread_events(self, session_id: str, thread_id: str) -> None:
        """A thread's events: the API takes only ``limit`` and ``page`` here (no order, no filters)."""
        self._only(("limit", "page"))
        self.source.thread(session_id, thread_id)
        self.list_events(session_id, thread_id)

    def list_events(self, session_id: str, thread_id: str | None = None) -> None:
        stream_key = thread_id or session_id
        query, limit = self._event_query(stream_key)
        session = self.source.session(session_id)  # 404 before anything else
        records = list(islice(self._visible(session, thread_id, query), limit + 1))
        page = records[:limit]
        next_page = None
        if len(records) > limit:
            position = _resume_position(page, query, self.out.plan.duplicate)
            if position is not None and position != query.after:
                next_page = encode_cursor({"k": "events", "s": stream_key, "o": query.order, "p": position})
        if self.out.plan.loop_cursor and next_page is not None and self._one("page"):
            next_page = self._one("page")  # data fault: the cursor leads back to this very page
        parts = [b'{"data":[']
        cut = None
        for n, record in enumerate(page):
            text = record.json if self.out.plan.rewrite is None else self.out.plan.rewrite(record.json)
            item = (b"," if n else b"") + text.encode()
            if self.out.plan.drop_after is not None and n == self.out.plan.drop_after:
                cut = sum(len(p) for p in parts) + len(item) // 2
            parts.append(item)
        parts.append(b'],"next_page":' + dumps(next_page).encode() + b"}")
        body = b"".join(parts)
        if self.out.plan.drop_after is not None and cut is None:
            cut = len(body) - 2
        self.out.send_json(body=body, cut=cut)

    def stream_events(self, session_id: str, thread_id: str | None = None) -> None:
        self.source.session(session_id)
        if thread_id is not None:
            self.source.thread(session_id, thread_id)
        subscription = self.source.subscribe(session_id, thread_id)
        stream_events(self.out, subscription, heartbeat=self.context.heartbeat, stopping=self.context.stopping,
                      session_stream=thread_id is None)

    def _visible(self, session: dict[str, Any], thread_id: str | None, query: EventQuery) -> Iterator[EventRecord]:
        """The stream's records for a list, without those the plan still hides (a data fault)."""
        records = self.source.events(session["id"], thread_id, query)
        hidden = self.out.plan.hidden
        if hidden is None or thread_id is not None:
            return iter(records)
        status = session.get("status")
        return (r for r in records if not hidden(r.json, r.processed_at, status))

    # ------------------------------------------------------------------------------------ files

    def list_files(self) -> None:
        scope = self._one("scope_id")
        ids = self._many("ids")
        files = list(self.source.files(scope))
        if ids:
            wanted = set(ids)
            self.out.send_json({"data": [f for f in files if f["id"] in wanted], "next_page": None})
            return
        limit = self._limit("files")
        rows = sorted((((f["created_at"], f["id"]), f) for f in files), key=lambda row: row[0], reverse=True)
        self._send_keyset_page(rows, limit, "desc", "files", scope or "", prefix="page_")

    def get_file(self, file_id: str) -> None:
        self.out.send_json(self.source.file(file_id))

    def download_file(self, file_id: str) -> None:
        meta = self.source.file(file_id)
        content = self.source.file_content(file_id)
        self.out.start(200, {"content-type": meta.get("mime_type") or "application/octet-stream",
                          "content-length": str(len(content)),
                          "content-disposition": f"attachment; filename*=UTF-8''{quote(meta['filename'])}"})
        self.out.write(content)


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
