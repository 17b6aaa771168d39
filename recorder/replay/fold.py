"""The pure fold: a session's timeline — all of it or any prefix — to the session's state at that point.

``fold(events, meta)`` reads :class:`~recorder.replay.timeline.TimelineEvent` objects (already merged, each event
once, owned by its thread) and returns a :class:`SessionState`: the timeline as :class:`Entry` objects, turns,
model requests with the events made during them and their token usage, tool calls paired with their results
(built-in ``agent.tool_use``/``agent.tool_result``, MCP, custom tools answered by ``user.custom_tool_result``
after the session waited, self-hosted ``user.tool_result``) and confirmations, thread lanes with cross-thread
messages, the status timeline with stop reasons, errors, usage and list cost. Nothing is read from anywhere
else, so the state of a prefix is the state of the session as it stood at that moment. Unknown event types
become ``unknown`` entries: shown, never dropped.

:class:`Folder` is the same fold one event at a time, for renderers that stream: ``Folder(meta, keep=False)``
keeps only counters and what is still open (tool calls awaiting a result, model requests awaiting their end),
so memory stays flat however long the session is; ``feed(event)`` returns the event's entry.

Usage: ``model_requests`` and the four token counts are sums over every ``span.model_request_end`` of every
thread (each event once); ``list_cost`` is the latest figure: the last ``session.usage`` event's or — when the
fold is told to (the whole session, not a prefix) — the session snapshot's if it is as late or later (the same
rule as ``recorder usage``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder.events import parse_time
from recorder.money import money_amount
from recorder.replay.meta import SessionMeta
from recorder.replay.timeline import TimelineEvent

TOOL_USE_KINDS = {"agent.tool_use": "builtin", "agent.mcp_tool_use": "mcp", "agent.custom_tool_use": "custom"}
RESULT_ID_FIELDS = {"agent.tool_result": "tool_use_id", "agent.mcp_tool_result": "mcp_tool_use_id",
                    "user.custom_tool_result": "custom_tool_use_id", "user.tool_result": "tool_use_id"}
SESSION_STATUS = {"session.status_running": "running", "session.status_idle": "idle",
                  "session.status_rescheduled": "rescheduling", "session.status_terminated": "terminated"}
THREAD_STATUS = {"session.thread_status_running": "running", "session.thread_status_idle": "idle",
                 "session.thread_status_rescheduled": "rescheduling",
                 "session.thread_status_terminated": "terminated"}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")

KINDS: dict[str, str] = {
    "user.message": "user_message", "agent.message": "agent_message", "system.message": "system_message",
    "agent.thinking": "thinking", "user.tool_confirmation": "tool_confirmation",
    "span.model_request_start": "request_start", "span.model_request_end": "request_end",
    "session.thread_created": "thread_created", "agent.thread_message_sent": "thread_message_sent",
    "agent.thread_message_received": "thread_message_received", "session.error": "error",
    "session.usage": "usage", "session.updated": "updated", "user.interrupt": "interrupt",
    "agent.thread_context_compacted": "compaction", "user.define_outcome": "outcome_defined",
    "span.outcome_evaluation_start": "outcome_evaluation", "span.outcome_evaluation_ongoing": "outcome_evaluation",
    "span.outcome_evaluation_end": "outcome_evaluation", "session.deleted": "deleted",
    **{t: "tool_use" for t in TOOL_USE_KINDS}, **{t: "tool_result" for t in RESULT_ID_FIELDS},
    **{t: "status" for t in SESSION_STATUS}, **{t: "thread_status" for t in THREAD_STATUS},
}


def kind_of(event_type: str) -> str:
    """The entry kind of an event type (``unknown`` for types this version does not know)."""
    kind = KINDS.get(event_type)
    if kind is not None:
        return kind
    return "workflow" if event_type.startswith("workflow_run.") else "unknown"


def content_text(content: Any) -> str:
    """The readable text of an API content list (text blocks; other blocks as a bracketed note)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return str(content)
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            parts.append(str(block))
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind in ("document", "search_result"):
            title = block.get("title") or (block.get("source") or {}).get("type") or ""
            parts.append(f"[{kind}{': ' + str(title) if title else ''}]")
        else:
            parts.append(f"[{kind}]")
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------------------ state


@dataclass(slots=True)
class TokenUsage:
    """Token counts summed over model requests."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def add(self, model_usage: Any) -> None:
        if not isinstance(model_usage, dict):
            return
        self.input_tokens += _int(model_usage.get("input_tokens"))
        self.output_tokens += _int(model_usage.get("output_tokens"))
        self.cache_read_input_tokens += _int(model_usage.get("cache_read_input_tokens"))
        self.cache_creation_input_tokens += _int(model_usage.get("cache_creation_input_tokens"))

    def merge(self, other: TokenUsage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TOKEN_FIELDS}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(slots=True)
class Usage:
    """A session's usage: model requests and tokens from the spans, list cost as the API reported it."""

    model_requests: int = 0
    tokens: TokenUsage = field(default_factory=TokenUsage)
    list_cost: str | None = None  # the amount in major units, a decimal string
    currency: str | None = None
    list_cost_source: str | None = None  # "session.usage" (with the event id) or "snapshot"
    list_cost_event_id: str | None = None


@dataclass(slots=True)
class Lane:
    """One thread of the session: its agent, status and what happened in it."""

    thread_id: str
    parent_thread_id: str | None = None
    agent_name: str | None = None
    model: str | None = None
    status: str | None = None
    is_primary: bool = False
    events: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    model_requests: int = 0
    tool_calls: int = 0
    messages: int = 0
    order: int = 0  # creation order (the primary thread is 0)

    @property
    def label(self) -> str:
        return self.agent_name or self.thread_id


@dataclass(slots=True)
class ModelRequest:
    """A ``span.model_request_start`` and (once it came) its ``span.model_request_end``."""

    id: str  # the start event's id
    thread_id: str | None
    model: str | None
    started_at: datetime | None
    number: int  # 1-based, in the order requests started
    end_id: str | None = None
    finished_at: datetime | None = None
    is_error: bool | None = None
    usage: TokenUsage | None = None
    model_usage: dict[str, Any] | None = None  # as the API sent it (unknown fields included)
    event_ids: list[str] = field(default_factory=list)  # events made during the request (start and end aside)

    @property
    def duration_ms(self) -> float | None:
        return _ms(self.started_at, self.finished_at)


@dataclass(slots=True)
class Confirmation:
    event_id: str
    at: datetime | None
    result: str | None  # "allow" | "deny"
    deny_message: str | None


@dataclass(slots=True)
class ToolCall:
    """A tool use paired with its result (and confirmation, when the tool needed one)."""

    id: str
    name: str | None
    kind: str  # builtin | mcp | custom
    input: Any
    thread_id: str | None
    started_at: datetime | None
    mcp_server_name: str | None = None
    evaluated_permission: Any = None
    request_id: str | None = None  # the model request that made the call
    result_id: str | None = None
    result_type: str | None = None
    is_error: bool | None = None
    finished_at: datetime | None = None
    result_text: str | None = None
    confirmation: Confirmation | None = None

    @property
    def duration_ms(self) -> float | None:
        return _ms(self.started_at, self.finished_at) if self.result_id is not None else None

    @property
    def status(self) -> str:
        if self.confirmation is not None and self.confirmation.result == "deny" and self.result_id is None:
            return "denied"
        if self.result_id is None:
            return "pending"
        return "error" if self.is_error else "ok"


@dataclass(slots=True)
class StatusChange:
    event_id: str
    at: datetime | None
    scope: str  # "session" | "thread"
    thread_id: str | None
    status: str
    stop_reason: dict[str, Any] | None = None


@dataclass(slots=True)
class ErrorInfo:
    event_id: str
    at: datetime | None
    thread_id: str | None
    error_type: str | None
    message: str | None
    retry_status: str | None
    error: Any = None


@dataclass(slots=True)
class Message:
    """Something said: by the user, an agent, the system, or one thread to another."""

    event_id: str
    at: datetime | None
    thread_id: str | None
    role: str  # user | agent | system | thread
    text: str
    direction: str | None = None  # "sent" | "received" for thread messages
    peer_thread_id: str | None = None  # the receiver (sent) or the sender (received)
    peer_agent_name: str | None = None
    echo: bool = False  # a received copy of a message whose sent copy is in the timeline


@dataclass(slots=True)
class Turn:
    """From a user message to the session going idle (or terminating)."""

    number: int
    user_event_id: str
    started_at: datetime | None
    ended_at: datetime | None = None
    stop_reason: dict[str, Any] | None = None
    model_requests: int = 0
    tool_calls: int = 0


@dataclass(slots=True)
class Entry:
    """One event of the timeline and what the fold made of it."""

    event: TimelineEvent
    kind: str
    request: ModelRequest | None = None  # the model request the event belongs to (or starts/ends)
    tool: ToolCall | None = None
    message: Message | None = None
    status: StatusChange | None = None
    error: ErrorInfo | None = None


@dataclass
class SessionState:
    """A session (or a prefix of it) after the fold."""

    session_id: str
    meta: SessionMeta
    events: int = 0
    event_types: Counter[str] = field(default_factory=Counter)
    status: str | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_event_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    lanes: dict[str, Lane] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    model_requests: list[ModelRequest] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    errors: list[ErrorInfo] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    unknown: list[Entry] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # entries by kind (kept even when entries are not)
    tool_errors: int = 0
    open_model_requests: int = 0  # started, not ended where the timeline stops
    pending_tool_calls: int = 0  # used, no result where the timeline stops

    @property
    def primary(self) -> Lane | None:
        return next((lane for lane in self.lanes.values() if lane.is_primary), None)

    def lane(self, thread_id: str | None) -> Lane | None:
        return self.lanes.get(thread_id) if thread_id is not None else None

    def depth(self, thread_id: str | None) -> int:
        depth, seen = 0, set()
        lane = self.lane(thread_id)
        while lane is not None and lane.parent_thread_id is not None and lane.thread_id not in seen:
            seen.add(lane.thread_id)
            depth += 1
            lane = self.lane(lane.parent_thread_id)
        return depth

    @property
    def duration_seconds(self) -> float | None:
        if self.first_at is None or self.last_at is None:
            return None
        return (self.last_at - self.first_at).total_seconds()


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 3)


# ------------------------------------------------------------------------------------------------ folding


class Folder:
    """The fold, one event at a time. ``keep=False`` keeps no per-event lists (flat memory, for streaming)."""

    def __init__(self, meta: SessionMeta, *, keep: bool = True, snapshot_cost: bool = True) -> None:
        self.keep = keep
        self.state = SessionState(meta.session_id, meta)
        self._open_requests: dict[str | None, ModelRequest] = {}  # per thread
        self._requests_by_id: dict[str, ModelRequest] = {}
        self._tools: dict[str, ToolCall] = {}  # awaiting a result (keep=False) or all of them
        self._sent: dict[tuple[str | None, str | None, str], int] = {}  # thread messages awaiting their echo
        self._turn: Turn | None = None
        self._request_count = 0
        self._snapshot_cost = snapshot_cost
        self._usage_at: datetime | None = None  # when the latest session.usage was processed
        self._handlers = {kind: getattr(self, "_on_" + kind) for kind in set(KINDS.values())
                          if hasattr(self, "_on_" + kind)}
        for order, thread in enumerate(meta.threads):
            self.state.lanes[thread.thread_id] = Lane(
                thread.thread_id, thread.parent_thread_id, thread.agent_name, thread.model, None,
                is_primary=thread.thread_id == meta.primary_thread_id, order=order)

    # ---- public

    def feed(self, event: TimelineEvent) -> Entry:
        state = self.state
        state.events += 1
        event_type, when, thread_id = event.type, event.processed_at, event.thread_id
        state.event_types[event_type] += 1
        if when is not None:
            if state.first_at is None or when < state.first_at:
                state.first_at = when
            if state.last_at is None or when > state.last_at:
                state.last_at = when
        if event.event_id:
            state.last_event_id = event.event_id
        lane = state.lanes.get(thread_id) if thread_id is not None else None
        if lane is None and thread_id is not None:
            lane = self._lane(thread_id)
        if lane is not None:
            lane.events += 1
            if lane.first_at is None:
                lane.first_at = when
            if when is not None:
                lane.last_at = when
        kind = KINDS.get(event_type) or kind_of(event_type)
        entry = Entry(event, kind)
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(entry, event.data)
        if entry.request is None and self._open_requests and kind != "request_end":
            request = self._open_requests.get(thread_id)
            if request is not None:
                entry.request = request
                if self.keep:
                    request.event_ids.append(event.event_id)
        state.counts[kind] += 1
        if self.keep:
            state.entries.append(entry)
            if kind == "unknown":
                state.unknown.append(entry)
        return entry

    def finish(self) -> SessionState:
        """The state after everything fed so far (list cost from the snapshot if no session.usage was seen)."""
        usage = self.state.usage
        snapshot = self.state.meta.snapshot
        cost = _list_cost(snapshot.get("usage")) if self._snapshot_cost and snapshot else None
        if cost is not None:
            # The later of the two figures, as ``recorder usage`` takes it: a snapshot is as of its updated_at
            # (none: as of when it was recorded, after every event), and wins a tie.
            taken = parse_time(snapshot.get("updated_at")) if snapshot else None
            if usage.list_cost is None or taken is None or self._usage_at is None or taken >= self._usage_at:
                usage.list_cost, usage.currency = cost
                usage.list_cost_source = "snapshot"
                usage.list_cost_event_id = None
        if self.state.status is None and self._snapshot_cost:
            self.state.status = self.state.meta.status
        self.state.open_model_requests = len(self._open_requests)
        self.state.pending_tool_calls = sum(1 for call in self._tools.values() if call.result_id is None)
        return self.state

    # ---- helpers

    def _lane(self, thread_id: str | None, agent_name: str | None = None) -> Lane | None:
        if thread_id is None:
            return None
        lane = self.state.lanes.get(thread_id)
        if lane is None:
            lane = Lane(thread_id, agent_name=agent_name, order=len(self.state.lanes),
                        is_primary=not self.state.lanes and self.state.meta.primary_thread_id is None)
            self.state.lanes[thread_id] = lane
        elif agent_name and not lane.agent_name:
            lane.agent_name = agent_name
        return lane

    def _model_of(self, thread_id: str | None) -> str | None:
        lane = self.state.lane(thread_id)
        return (lane.model if lane is not None else None) or self.state.meta.model

    def _message(self, entry: Entry, role: str, text: str, **extra: Any) -> Message:
        event = entry.event
        message = Message(event.event_id, event.processed_at, event.thread_id, role, text, **extra)
        entry.message = message
        lane = self.state.lane(event.thread_id)
        if lane is not None:
            lane.messages += 1
        if self.keep:
            self.state.messages.append(message)
        return message

    # ---- handlers, by entry kind

    def _on_user_message(self, entry: Entry, data: dict[str, Any]) -> None:
        self._message(entry, "user", content_text(data.get("content")))
        event = entry.event
        self._turn = Turn(len(self.state.turns) + 1 if self.keep else self.state.counts["user_message"] + 1,
                          event.event_id, event.processed_at)
        if self.keep:
            self.state.turns.append(self._turn)

    def _on_agent_message(self, entry: Entry, data: dict[str, Any]) -> None:
        self._message(entry, "agent", content_text(data.get("content")))

    def _on_system_message(self, entry: Entry, data: dict[str, Any]) -> None:
        self._message(entry, "system", content_text(data.get("content")))

    def _on_thread_message_sent(self, entry: Entry, data: dict[str, Any]) -> None:
        text = content_text(data.get("content"))
        to = data.get("to_session_thread_id")
        self._message(entry, "thread", text, direction="sent", peer_thread_id=to,
                      peer_agent_name=data.get("to_agent_name"))
        self._lane(to, data.get("to_agent_name"))
        key = (entry.event.thread_id, to, text)
        self._sent[key] = self._sent.get(key, 0) + 1

    def _on_thread_message_received(self, entry: Entry, data: dict[str, Any]) -> None:
        text = content_text(data.get("content"))
        sender = data.get("from_session_thread_id")
        key = (sender, entry.event.thread_id, text)
        echo = self._sent.get(key, 0) > 0
        if echo:
            self._sent[key] -= 1
            if not self._sent[key]:
                del self._sent[key]
        self._message(entry, "thread", text, direction="received", peer_thread_id=sender,
                      peer_agent_name=data.get("from_agent_name"), echo=echo)
        self._lane(sender, data.get("from_agent_name"))

    def _on_thread_created(self, entry: Entry, data: dict[str, Any]) -> None:
        thread_id = data.get("session_thread_id") or entry.event.thread_id
        lane = self._lane(thread_id, data.get("agent_name"))
        if lane is not None and lane.status is None:
            lane.status = "created"

    def _on_request_start(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        self._request_count += 1
        request = ModelRequest(event.event_id, event.thread_id, self._model_of(event.thread_id), event.processed_at,
                               self._request_count)
        self._open_requests[event.thread_id] = request
        self._requests_by_id[event.event_id] = request
        entry.request = request
        if self.keep:
            self.state.model_requests.append(request)

    def _on_request_end(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        start_id = data.get("model_request_start_id")
        request = self._requests_by_id.pop(start_id, None) if isinstance(start_id, str) else None
        if request is None:  # its start is not in the timeline (or carried no id): an end on its own
            self._request_count += 1
            request = ModelRequest(start_id if isinstance(start_id, str) else "", event.thread_id,
                                   self._model_of(event.thread_id), None, self._request_count)
            if self.keep:
                self.state.model_requests.append(request)
        if self._open_requests.get(request.thread_id) is request:
            del self._open_requests[request.thread_id]
        request.end_id = event.event_id
        request.finished_at = event.processed_at
        is_error = data.get("is_error")
        request.is_error = is_error if isinstance(is_error, bool) else None
        model_usage = data.get("model_usage")
        usage = TokenUsage()
        usage.add(model_usage)
        request.usage = usage
        request.model_usage = model_usage if isinstance(model_usage, dict) else None
        entry.request = request
        totals = self.state.usage
        totals.model_requests += 1
        totals.tokens.merge(usage)
        lane = self.state.lane(event.thread_id)
        if lane is not None:
            lane.model_requests += 1
            lane.usage.merge(usage)
        if self._turn is not None:
            self._turn.model_requests += 1

    def _on_tool_use(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        request = self._open_requests.get(event.thread_id)
        name = data.get("name")
        call = ToolCall(event.event_id, name if isinstance(name, str) else None, TOOL_USE_KINDS[event.type],
                        data.get("input"), event.thread_id, event.processed_at,
                        mcp_server_name=data.get("mcp_server_name"),
                        evaluated_permission=data.get("evaluated_permission"),
                        request_id=request.id if request is not None else None)
        entry.tool = call
        self._tools[event.event_id] = call
        if self.keep:
            self.state.tool_calls.append(call)
        lane = self.state.lane(event.thread_id)
        if lane is not None:
            lane.tool_calls += 1
        if self._turn is not None:
            self._turn.tool_calls += 1

    def _on_tool_result(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        use_id = data.get(RESULT_ID_FIELDS[event.type])
        call = self._tools.get(use_id) if isinstance(use_id, str) else None
        if call is None:  # a result whose use is not in the timeline: shown on its own
            call = ToolCall(use_id if isinstance(use_id, str) else "", None,
                            "custom" if event.type == "user.custom_tool_result" else
                            "mcp" if event.type == "agent.mcp_tool_result" else "builtin",
                            None, event.thread_id, None)
        elif not self.keep:
            del self._tools[call.id]
        call.result_id = event.event_id
        call.result_type = event.type
        call.finished_at = event.processed_at
        call.is_error = bool(data.get("is_error"))
        self.state.tool_errors += call.is_error
        call.result_text = content_text(data.get("content"))
        entry.tool = call

    def _on_tool_confirmation(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        use_id = data.get("tool_use_id")
        call = self._tools.get(use_id) if isinstance(use_id, str) else None
        confirmation = Confirmation(event.event_id, event.processed_at, data.get("result"), data.get("deny_message"))
        if call is not None:
            call.confirmation = confirmation
        else:
            call = ToolCall(use_id if isinstance(use_id, str) else "", None, "builtin", None, event.thread_id, None,
                            confirmation=confirmation)
        entry.tool = call

    def _status(self, entry: Entry, scope: str, thread_id: str | None, status: str,
                stop_reason: Any) -> StatusChange:
        event = entry.event
        change = StatusChange(event.event_id, event.processed_at, scope, thread_id, status,
                              stop_reason if isinstance(stop_reason, dict) else None)
        entry.status = change
        if self.keep:
            self.state.statuses.append(change)
        return change

    def _on_status(self, entry: Entry, data: dict[str, Any]) -> None:
        status = SESSION_STATUS[entry.event.type]
        change = self._status(entry, "session", entry.event.thread_id, status, data.get("stop_reason"))
        self.state.status = status
        primary = self.state.primary
        if primary is not None:
            primary.status = status
        if status in ("idle", "terminated") and self._turn is not None:
            self._turn.ended_at = entry.event.processed_at
            self._turn.stop_reason = change.stop_reason
            self._turn = None

    def _on_thread_status(self, entry: Entry, data: dict[str, Any]) -> None:
        status = THREAD_STATUS[entry.event.type]
        thread_id = data.get("session_thread_id") or entry.event.thread_id
        self._status(entry, "thread", thread_id, status, data.get("stop_reason"))
        lane = self._lane(thread_id, data.get("agent_name"))
        if lane is not None:
            lane.status = status

    def _on_error(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        error = data.get("error")
        error_dict = error if isinstance(error, dict) else {}
        retry = error_dict.get("retry_status")
        info = ErrorInfo(event.event_id, event.processed_at, event.thread_id,
                         error_dict.get("type") if error_dict else None,
                         error_dict.get("message") if error_dict else (str(error) if error is not None else None),
                         retry.get("type") if isinstance(retry, dict) else retry, error)
        entry.error = info
        if self.keep:
            self.state.errors.append(info)

    def _on_usage(self, entry: Entry, data: dict[str, Any]) -> None:
        cost = _list_cost(data.get("usage"))
        if cost is not None:
            usage = self.state.usage
            usage.list_cost, usage.currency = cost
            usage.list_cost_source = "session.usage"
            usage.list_cost_event_id = entry.event.event_id
            self._usage_at = entry.event.processed_at


def _list_cost(usage: Any) -> tuple[str, str | None] | None:
    """The ``list_cost`` of a usage object: (amount in major units as a decimal string, currency); the API's
    minor units are converted by :func:`recorder.money.money_amount`."""
    amount, currency = money_amount(usage.get("list_cost") if isinstance(usage, dict) else None)
    return None if amount is None else (str(amount), currency)


def fold(events: Iterable[TimelineEvent], meta: SessionMeta, *, snapshot_cost: bool = True) -> SessionState:
    """Fold a timeline (or a prefix of one) into the session's state.

    ``snapshot_cost``: fall back to the snapshot's list cost and status when the events carry none; pass False
    for a prefix (the snapshot describes the session now, not then).
    """
    folder = Folder(meta, snapshot_cost=snapshot_cost)
    for event in events:
        folder.feed(event)
    return folder.finish()
