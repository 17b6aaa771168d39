"""A tiny, fully scripted Managed Agents API behind an injected ``httpx2`` transport, for hostile-input tests.

The emulator models a well-behaved API; these tests need one that misbehaves in exact ways: event texts chosen
byte for byte (hostile nesting, huge numbers, long ids), timestamps that lie about the list order, events that
become visible late, cursors that loop, answers of the wrong shape. Sessions hold event *texts* in list order;
``visible`` says how many the list shows so far. The list filters ``created_at[gte]`` by each event's own
``processed_at`` (as a distributed API would) and pages by index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from recorder.events import format_time, parse_time
from recorder.record import Observer, RecordOptions, RunReport, make_client, run_recording
from recorder.store import EventStore
from tests.recorder.support import API_KEY, FAST_RETRY

BASE_URL = "http://fake-api.test"
T0 = datetime(2026, 11, 1, 12, 0, 0)


def at(seconds: float) -> str:
    return format_time(T0 + timedelta(seconds=seconds))  # type: ignore[return-value]


def event_text(index: int, *, when: float | None = None, kind: str = "agent.message", event_id: Any = None,
               extra: str = "") -> str:
    """One event's JSON text; ``extra`` is spliced in as raw JSON members (e.g. '"deep":[[[]]]')."""
    eid = json.dumps(f"sevt_{index:06d}" if event_id is None else event_id)
    stamp = at(index if when is None else when)
    tail = f",{extra}" if extra else ""
    return f'{{"id":{eid},"type":{json.dumps(kind)},"processed_at":"{stamp}"{tail}}}'


@dataclass
class FakeSession:
    session_id: str
    events: list[str] = field(default_factory=list)
    visible: int | None = None  # how many events the list shows (None: all)
    status: Any = "terminated"
    loop_cursor: bool = False  # every page points to the same next page
    body: str | None = None  # a fixed answer for every request about this session (wrong shape tests)
    threads: dict[str, list[str]] = field(default_factory=dict)  # thread id -> its events' texts

    def session_object(self) -> dict[str, Any]:
        return {"id": self.session_id, "type": "session", "status": self.status, "created_at": at(0),
                "updated_at": at(0), "agent": {"id": "agent_1", "name": "a", "model": "claude"}}


class FakeApi:
    def __init__(self) -> None:
        self.sessions: dict[str, FakeSession] = {}
        self.requests: list[str] = []

    def add(self, session: FakeSession) -> FakeSession:
        self.sessions[session.session_id] = session
        return session

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}?{request.url.query.decode()}")
        params = request.url.params
        if path == "/v1/sessions":
            data = [s.session_object() for s in self.sessions.values()]
            return _json({"data": data, "next_page": None})
        if path == "/v1/files":
            return _json({"data": [], "next_page": None})
        match = re.fullmatch(r"/v1/sessions/([^/]+)(/.*)?", path)
        if match is None:
            return _json({"error": {"type": "not_found_error", "message": "no route"}}, 404)
        session = self.sessions.get(match.group(1))
        rest = match.group(2) or ""
        if session is None:
            return _json({"type": "error", "error": {"type": "not_found_error", "message": "no session"}}, 404)
        if session.body is not None:
            return httpx2.Response(200, content=session.body.encode(), headers={"content-type": "application/json"})
        if rest == "":
            return _json(session.session_object())
        if rest == "/threads":
            return _json({"data": [{"id": tid, "type": "session_thread", "status": "idle"}
                                   for tid in session.threads], "next_page": None})
        if rest == "/events":
            return self._events(session, params)
        thread = re.fullmatch(r"/threads/([^/]+)/events", rest)
        if thread is not None and thread.group(1) in session.threads:
            texts = session.threads[thread.group(1)]
            return self._events(FakeSession(session.session_id, texts), params)
        return _json({"error": {"type": "not_found_error", "message": "no route"}}, 404)

    def _events(self, session: FakeSession, params: Any) -> httpx2.Response:
        shown = session.events[: session.visible] if session.visible is not None else session.events
        gte = parse_time(params.get("created_at[gte]"))
        if gte is not None:
            shown = [t for t in shown if (parse_time(_processed_at(t)) or T0) >= gte]
        limit = int(params.get("limit", 1000))
        start = 0 if session.loop_cursor else int(params.get("page") or 0)
        page = shown[start : start + limit]
        more = start + limit < len(shown)
        next_page = "p0" if session.loop_cursor else (str(start + limit) if more else None)
        if session.loop_cursor:
            page = shown[:limit]
        body = '{"data":[' + ",".join(page) + "],\"next_page\":" + json.dumps(next_page) + "}"
        return httpx2.Response(200, content=body.encode(), headers={"content-type": "application/json"})

    def client(self, base_url: str = BASE_URL) -> Any:
        transport = httpx2.MockTransport(self.handle)
        return make_client(api_key=API_KEY, base_url=base_url,
                           http_client=httpx2.AsyncClient(transport=transport, base_url=base_url))

    def record(self, store: EventStore, session_ids: list[str] = (), *, discover: bool = False,  # type: ignore[assignment]
               observer: Observer | None = None, **options: Any) -> RunReport:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("files", False)
        return run_recording(store, list(session_ids), RecordOptions(**options), discover=discover,
                             observer=observer, client_factory=self.client)


def _processed_at(text: str) -> str | None:
    match = re.search(r'"processed_at":"([^"]*)"', text)
    return match.group(1) if match else None


def _json(obj: Any, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, content=json.dumps(obj).encode(), headers={"content-type": "application/json"})


def stored_texts(store: EventStore, session_id: str) -> list[str]:
    return [e.payload for e in store.stream_events(session_id, None)]


__all__ = ["BASE_URL", "T0", "UTC", "FakeApi", "FakeSession", "at", "event_text", "stored_texts"]
