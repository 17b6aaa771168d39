"""Hand-built event logs for the analytics tests: a multi-agent session recorded from every stream, the way the
API delivers it (primary thread events mirrored into the session stream, child thread events cross-posted)."""

from __future__ import annotations

from typing import Any

from recorder.events import raw_event
from recorder.store import EventStore
from tests.helpers import stamp

PRIMARY = "sthr_primary"
CHILD = "sthr_child"


class Script:
    """Events of one session, each tagged with the streams it appears in."""

    def __init__(self, session: str, start: int = 0) -> None:
        self.session = session
        self.clock = start
        self.count = 0
        self.items: list[tuple[dict[str, Any], tuple[str | None, ...]]] = []

    def emit(self, event_type: str, fields: dict[str, Any] | None = None, *, thread: str = PRIMARY,
             event_id: str | None = None, step: int = 1000) -> dict[str, Any]:
        self.clock += step
        self.count += 1
        obj = {"type": event_type, "id": f"sevt_{self.session}_{self.count:05d}" if event_id is None else event_id,
               **(fields or {}), "processed_at": stamp(self.clock)}
        cross = event_type.startswith(("session.thread_", "agent.thread_message"))
        streams: tuple[str | None, ...] = (None, PRIMARY) if thread == PRIMARY else (
            (thread, None) if cross else (thread,))
        self.items.append((obj, streams))
        return obj

    def request(self, tokens: int, *, thread: str = PRIMARY, is_error: bool = False, latency: int = 500) -> None:
        start = self.emit("span.model_request_start", thread=thread)
        self.emit("span.model_request_end", {
            "model_request_start_id": start["id"], "is_error": is_error,
            "model_usage": {"input_tokens": tokens, "output_tokens": tokens // 2, "cache_read_input_tokens": tokens * 3,
                            "cache_creation_input_tokens": tokens // 10}}, thread=thread, step=latency)

    def tool(self, name: str, *, thread: str = PRIMARY, is_error: bool = False, result: bool = True) -> str:
        fields: dict[str, Any] = {"name": name, "input": {"command": f"run {name}"}, "evaluated_permission": "allow"}
        if thread != PRIMARY:
            fields["session_thread_id"] = thread
        use = self.emit("agent.tool_use", fields, thread=thread)
        if result:
            self.emit("agent.tool_result", {"tool_use_id": use["id"], "is_error": is_error,
                                            "content": [{"type": "text", "text": "output"}]}, thread=thread)
        return use["id"]

    def usage(self, amount: str) -> None:
        self.emit("session.usage", {"usage": {"list_cost": {"amount": amount, "currency": "USD"}}})

    def stream(self, thread: str | None) -> list[dict[str, Any]]:
        return [obj for obj, streams in self.items if thread in streams]

    def streams(self) -> list[str | None]:
        seen: list[str | None] = []
        for _, streams in self.items:
            seen += [s for s in streams if s not in seen]
        return seen

    def append_to(self, store: EventStore, *, batch: int = 7) -> None:
        """Append stream by stream (session stream first), in small batches, like a recorder would."""
        for thread in self.streams():
            events = [raw_event(obj, self.session, thread) for obj in self.stream(thread)]
            for start in range(0, len(events), batch):
                store.append(events[start:start + batch])


def multi_agent(session: str = "sesn_multi", start: int = 0) -> Script:
    """A coordinator with one child thread: requests, tools, usage events, interrupts (empty ids) in both."""
    s = Script(session, start)
    s.emit("user.message", {"content": [{"type": "text", "text": "go"}]})
    s.emit("session.status_running")
    s.request(1000)
    s.tool("bash")
    s.emit("session.thread_created", {"session_thread_id": CHILD, "agent_name": "helper"}, thread=CHILD)
    s.emit("session.thread_status_running", {"session_thread_id": CHILD, "agent_name": "helper"}, thread=CHILD)
    s.request(200, thread=CHILD)
    s.tool("grep", thread=CHILD)
    s.request(300, thread=CHILD, is_error=True)
    s.emit("user.interrupt", {"session_thread_id": None}, event_id="")
    s.emit("agent.future_widget", {"widget": {"kind": "chart"}})
    s.request(2000)
    s.tool("read", result=False)  # no result recorded
    s.usage("1234")
    s.emit("user.interrupt", {"session_thread_id": None}, event_id="")  # a second, distinct interrupt
    s.emit("session.thread_status_idle", {"session_thread_id": CHILD, "agent_name": "helper",
                                          "stop_reason": {"type": "end_turn"}}, thread=CHILD)
    s.emit("session.status_idle", {"stop_reason": {"type": "end_turn"}})
    return s


def simple(session: str, requests: int, tokens: int = 100, start: int = 0) -> Script:
    s = Script(session, start)
    s.emit("session.status_running")
    for i in range(requests):
        s.request(tokens + i)
        s.tool("bash", is_error=i % 3 == 0)
    s.emit("session.status_idle", {"stop_reason": {"type": "end_turn"}})
    return s
