"""The pure fold: a session's timeline — all of it or any prefix — to the session's state at that point.

``fold(events, meta)`` reads :class:`~recorder.replay.timeline.TimelineEvent` objects (already merged, each event
once, owned by its thread) and returns a :class:`SessionState`: the timeline as :class:`Entry` objects, turns,
model requests with the events made during them and their token usage, tool calls paired with their results
(built-in ``agent.tool_use``/``agent.tool_result``, MCP, custom tools answered by ``user.custom_tool_result``
after the session waited, self-hosted ``user.tool_result``) and confirmations, thread lanes with cross-thread
messages, the status timeline with stop reasons (and a refusal's ``stop_details``), errors with their
type's own fields, outcomes with their grader iterations, workflow runs with their phases and threads, usage and
list cost. Every event type of :mod:`recorder.vocabulary` has its entry kind here. Nothing is read from anywhere
else, so the state of a prefix is the state of the session as it stood at that moment. Unknown event types
become ``unknown`` entries: shown, never dropped.

:class:`Folder` is the same fold one event at a time, for renderers that stream: ``Folder(meta, keep=False)``
keeps only counters and what is still open (tool calls awaiting a result, model requests awaiting their end),
so memory stays flat however long the session is; ``feed(event)`` returns the event's entry.

Usage: ``model_requests`` and the four token counts are sums over every ``span.model_request_end`` of every
thread (each event once); ``list_cost`` is the latest figure: the last ``session.usage`` event's or — when the
fold is told to (the whole session, not a prefix) — the session snapshot's if it is as late or later (the same
rule as ``recorder usage``). ``grader`` sums the ``usage`` of every ``span.outcome_evaluation_end``;
``reported`` holds the latest ``session.usage``'s server tool requests, active seconds and cache writes by TTL.
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
from recorder.vocabulary import (
    CONFIRMATION,
    ERROR_TYPES,
    OUTCOME_DEFINED,
    OUTCOME_END,
    OUTCOME_ONGOING,
    OUTCOME_START,
    PREVIEW_TYPES,
    REQUEST_END,
    REQUEST_START,
    RESULT_ID_FIELDS,
    SESSION_STATUS,
    SESSION_USAGE_FIELDS,
    THREAD_STATUS,
    TOKEN_FIELDS,
    TOOL_RESULTS,
    TOOL_USE_KINDS,
    USAGE,
    WORKFLOW_RUN_TYPES,
)

KINDS: dict[str, str] = {
    "user.message": "user_message", "agent.message": "agent_message", "system.message": "system_message",
    "agent.thinking": "thinking", CONFIRMATION: "tool_confirmation",
    REQUEST_START: "request_start", REQUEST_END: "request_end",
    "session.thread_created": "thread_created", "agent.thread_message_sent": "thread_message_sent",
    "agent.thread_message_received": "thread_message_received", "session.error": "error",
    USAGE: "usage", "session.updated": "updated", "user.interrupt": "interrupt",
    "agent.thread_context_compacted": "compaction", OUTCOME_DEFINED: "outcome_defined",
    OUTCOME_START: "outcome_evaluation", OUTCOME_ONGOING: "outcome_evaluation",
    OUTCOME_END: "outcome_evaluation", "session.deleted": "deleted",
    **{t: "tool_use" for t in TOOL_USE_KINDS}, **{t: "tool_result" for t in RESULT_ID_FIELDS},
    **{t: "status" for t in SESSION_STATUS}, **{t: "thread_status" for t in THREAD_STATUS},
    **{t: "workflow" for t in WORKFLOW_RUN_TYPES}, **{t: "preview" for t in PREVIEW_TYPES},
}


def kind_of(event_type: str) -> str:
    """The entry kind of an event type (``unknown`` for types this version does not know)."""
    kind = KINDS.get(event_type)
    if kind is not None:
        return kind
    return "workflow" if event_type.startswith("workflow_run.") else "unknown"


def content_text(content: Any) -> str:
    """The readable text of an API content list: text blocks as they are, images and documents as named
    placeholders with their size (``[image: image/png, 612 B]``), search results with their title and source,
    redacted blocks as ``[redacted]``."""
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
        elif kind in ("image", "document"):
            parts.append(media_placeholder(block))
        elif kind == "search_result":
            title = block.get("title") or ""
            source = f" ({block.get('source')})" if block.get("source") else ""
            inner = content_text(block.get("content"))
            parts.append(f"[search result: {title}{source}]" + (f"\n{inner}" if inner else ""))
        else:
            parts.append(f"[{kind}]")
    return "\n\n".join(parts)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def media_placeholder(block: dict[str, Any]) -> str:
    """An image or document block as a named placeholder: its title (documents), media type or location, and
    the size of inline data (base64 decoded, or the characters of plain text)."""
    kind = str(block.get("type"))
    source = _dict(block.get("source"))
    facts: list[str] = []
    if block.get("title"):
        facts.append(str(block["title"]))
    src = source.get("type")
    data = source.get("data")
    if src in ("base64", "text") and isinstance(data, str):
        facts.append(str(source.get("media_type") or src))
        size = len(data) * 3 // 4 - data[-2:].count("=") if src == "base64" else len(data.encode("utf-8"))
        facts.append(_size(size))
    elif src == "url":
        facts.append(str(source.get("url")))
    elif src == "file":
        facts.append(f"file {source.get('file_id')}")
    return f"[{kind}{': ' + ', '.join(facts) if facts else ''}]"


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
    grader: TokenUsage = field(default_factory=TokenUsage)  # span.outcome_evaluation_end usage, summed
    # from the latest session.usage: web_search_requests, web_fetch_requests, active_seconds, cache writes by TTL
    reported: dict[str, float | int] = field(default_factory=lambda: dict.fromkeys(SESSION_USAGE_FIELDS, 0))
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
    workflow_run_id: str | None = None  # the workflow run that created the thread

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
    policy: str | None = None  # evaluation.type: the permission policy that decided (always_allow, always_ask, auto)
    judgement: str | None = None  # under auto: the server's judgement (allow, ask, deny)
    reason_code: str | None = None  # under auto, for ask and deny

    @property
    def duration_ms(self) -> float | None:
        return _ms(self.started_at, self.finished_at) if self.result_id is not None else None

    @property
    def denied_by(self) -> str | None:
        """Who denied the call: ``user`` (a confirmation) or ``policy`` (evaluated_permission deny), or None."""
        if self.confirmation is not None and self.confirmation.result == "deny":
            return "user"
        return "policy" if self.evaluated_permission == "deny" else None

    @property
    def status(self) -> str:
        if self.denied_by is not None and self.result_id is None:
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
    stop_details: dict[str, Any] | None = None  # refusals: {type, category, explanation}


@dataclass(slots=True)
class ErrorInfo:
    event_id: str
    at: datetime | None
    thread_id: str | None
    error_type: str | None
    message: str | None
    retry_status: str | None
    error: Any = None
    details: dict[str, Any] = field(default_factory=dict)  # the error type's own fields (server, repository, ...)


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
class OutcomeEvaluation:
    """One grader iteration (0-based): ``span.outcome_evaluation_start`` to ``_end``, with its verdict."""

    iteration: int | None
    start_id: str | None = None
    started_at: datetime | None = None
    end_id: str | None = None
    finished_at: datetime | None = None
    result: str | None = None  # satisfied | needs_revision | max_iterations_reached | failed | interrupted
    explanation: str | None = None
    usage: TokenUsage | None = None
    heartbeats: int = 0

    @property
    def duration_ms(self) -> float | None:
        return _ms(self.started_at, self.finished_at)


@dataclass(slots=True)
class Outcome:
    """A ``user.define_outcome`` and its grader iterations."""

    outcome_id: str
    event_id: str | None = None
    defined_at: datetime | None = None
    description: str | None = None
    rubric: Any = None
    max_iterations: int | None = None
    evaluations: list[OutcomeEvaluation] = field(default_factory=list)

    @property
    def result(self) -> str | None:
        """The latest verdict."""
        done = [e for e in self.evaluations if e.result is not None]
        return done[-1].result if done else None

    def evaluation(self, iteration: Any) -> OutcomeEvaluation:
        for evaluation in self.evaluations:
            if evaluation.iteration == iteration:
                return evaluation
        evaluation = OutcomeEvaluation(iteration if isinstance(iteration, int) else None)
        self.evaluations.append(evaluation)
        return evaluation


@dataclass(slots=True)
class WorkflowRun:
    """A workflow run: its name, phases, status, errors, result and the threads it created."""

    id: str
    name: str | None = None
    description: str | None = None
    phases: dict[str, str] = field(default_factory=dict)  # phase id -> name
    status: str | None = None  # running | idle | ended
    result: Any = None
    errors: list[Any] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    ended_at: datetime | None = None


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
    outcome: Outcome | None = None
    workflow: WorkflowRun | None = None


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
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # small: kept even when entries are not
    workflow_runs: dict[str, WorkflowRun] = field(default_factory=dict)
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

    @property
    def turn(self) -> Turn | None:
        """The turn in progress (None before the first user message and after the session went idle)."""
        return self._turn

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
        run_id = data.get("workflow_run_id")
        if lane is not None and isinstance(run_id, str) and run_id:
            lane.workflow_run_id = run_id
            run = self._workflow_run(run_id)
            if thread_id not in run.threads:
                run.threads.append(str(thread_id))
            entry.workflow = run

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
        evaluation = data.get("evaluation")
        if isinstance(evaluation, dict):
            call.policy = evaluation.get("type") if isinstance(evaluation.get("type"), str) else None
            judged = evaluation.get("evaluated_permission")
            if isinstance(judged, dict):
                call.judgement = judged.get("type") if isinstance(judged.get("type"), str) else None
                code = judged.get("reason_code")
                call.reason_code = code if isinstance(code, str) else None
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
            call = ToolCall(use_id if isinstance(use_id, str) else "", None, TOOL_RESULTS[event.type][0],
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
        details = event.data.get("stop_details")
        change = StatusChange(event.event_id, event.processed_at, scope, thread_id, status,
                              stop_reason if isinstance(stop_reason, dict) else None,
                              details if isinstance(details, dict) else None)
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
        kind = error_dict.get("type")
        wanted = ERROR_TYPES.get(kind, ()) if isinstance(kind, str) else ()
        info.details = {k: v for k, v in error_dict.items() if k in wanted or (
            k not in ("type", "message", "retry_status") and not wanted)}
        entry.error = info
        if self.keep:
            self.state.errors.append(info)

    def _workflow_run(self, run_id: str) -> WorkflowRun:
        run = self.state.workflow_runs.get(run_id)
        if run is None:
            run = self.state.workflow_runs[run_id] = WorkflowRun(run_id)
        return run

    def _on_workflow(self, entry: Entry, data: dict[str, Any]) -> None:
        event = entry.event
        run_id = data.get("workflow_run_id")
        if not isinstance(run_id, str) or not run_id:  # an error of no run (e.g. too many runs): shown, no run
            return
        run = entry.workflow = self._workflow_run(run_id)
        step = event.type.split(".", 1)[1]
        if step == "created":
            run.name = data.get("name") if isinstance(data.get("name"), str) else None
            run.description = data.get("description") if isinstance(data.get("description"), str) else None
            run.created_at = event.processed_at
            phases = data.get("phases")
            for phase in phases if isinstance(phases, list) else []:
                if isinstance(phase, dict) and isinstance(phase.get("id"), str):
                    run.phases[phase["id"]] = str(phase.get("name") or phase["id"])
        elif step.startswith("status_"):
            run.status = step[len("status_"):]
            if step == "status_ended":
                run.result = data.get("result")
                run.ended_at = event.processed_at
        elif step == "error":
            run.errors.append(data.get("error"))

    def _on_outcome_defined(self, entry: Entry, data: dict[str, Any]) -> None:
        outcome_id = data.get("outcome_id")
        if not isinstance(outcome_id, str):
            return
        outcome = self._outcome(outcome_id)
        outcome.event_id, outcome.defined_at = entry.event.event_id, entry.event.processed_at
        description = data.get("description")
        outcome.description = description if isinstance(description, str) else None
        outcome.rubric = data.get("rubric")
        maximum = data.get("max_iterations")
        outcome.max_iterations = maximum if isinstance(maximum, int) and not isinstance(maximum, bool) else None
        entry.outcome = outcome

    def _outcome(self, outcome_id: str) -> Outcome:
        outcome = self.state.outcomes.get(outcome_id)
        if outcome is None:
            outcome = self.state.outcomes[outcome_id] = Outcome(outcome_id)
        return outcome

    def _on_outcome_evaluation(self, entry: Entry, data: dict[str, Any]) -> None:
        outcome_id = data.get("outcome_id")
        if not isinstance(outcome_id, str):
            return
        event = entry.event
        outcome = entry.outcome = self._outcome(outcome_id)
        evaluation = outcome.evaluation(data.get("iteration"))
        if event.type == OUTCOME_START:
            evaluation.start_id, evaluation.started_at = event.event_id, event.processed_at
        elif event.type == OUTCOME_ONGOING:
            evaluation.heartbeats += 1
        else:
            evaluation.end_id, evaluation.finished_at = event.event_id, event.processed_at
            result, explanation = data.get("result"), data.get("explanation")
            evaluation.result = result if isinstance(result, str) else None
            evaluation.explanation = explanation if isinstance(explanation, str) else None
            usage = TokenUsage()
            usage.add(data.get("usage"))
            evaluation.usage = usage
            self.state.usage.grader.merge(usage)

    def _on_usage(self, entry: Entry, data: dict[str, Any]) -> None:
        reported = data.get("usage")
        if isinstance(reported, dict):
            self.state.usage.reported = session_usage_fields(reported)
        cost = _list_cost(data.get("usage"))
        if cost is not None:
            usage = self.state.usage
            usage.list_cost, usage.currency = cost
            usage.list_cost_source = "session.usage"
            usage.list_cost_event_id = entry.event.event_id
            self._usage_at = entry.event.processed_at


def session_usage_fields(usage: dict[str, Any]) -> dict[str, float | int]:
    """The ``SESSION_USAGE_FIELDS`` of a ``session.usage`` event's ``usage`` object (0 where absent)."""
    out: dict[str, float | int] = {}
    for name, (outer, inner) in SESSION_USAGE_FIELDS.items():
        value = usage.get(outer)
        if inner is not None:
            value = value.get(inner) if isinstance(value, dict) else None
        out[name] = value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    return out


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
