"""Flattening log rows into the rows of the read model's fact tables. Pure: no I/O, no DuckDB.

One log row (one event in one stream) gives one ``log_events`` row and, for the types the read model
understands, one row in a fact table keyed by the same global position. Nothing here decides which copy of an
event counts or which thread it belongs to: an event mirrored into several streams gives identical fact rows for
each copy, and the views in :mod:`analytics.schema` pick one copy per ``(session_id, event_key)``. That keeps the
projection append-only (each log row is written exactly once), so resuming or rebuilding cannot change a sum.

Payloads are the API's JSON exactly as recorded, so nothing is trusted: a field of the wrong type becomes NULL,
an unparseable payload or an unknown type keeps only its ``log_events`` row, and text that DuckDB could not store
(a lone surrogate, valid in JSON) is escaped. Payloads of types whose facts are in the indexed columns
(``span.model_request_start``, ``session.status_running``, ...) are not parsed at all unless they carry a
``session_thread_id``: parsing is most of the projection's cost.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder import jsontext, vocabulary
from recorder.events import dump_json, parse_time
from recorder.money import money_amount

LogRow = tuple[int, int, str, str | None, str, str, datetime | None, str]
"""(position, stream_id, session_id, thread_id, event_key, type, processed_at, payload), as the store reads it."""

TOOL_USE_TYPES = vocabulary.TOOL_USE_KINDS
TOOL_RESULT_TYPES = vocabulary.TOOL_RESULTS
# Status events whose state follows from the type alone (idle needs its stop reason, thread ones their thread).
PLAIN_STATUS = {t: s for t, s in vocabulary.SESSION_STATUS.items() if t not in vocabulary.IDLE_TYPES}
THREAD_STATUS_PREFIX = "session.thread_status_"
REQUEST_START = vocabulary.REQUEST_START
REQUEST_END = vocabulary.REQUEST_END
THREAD_FIELD = '"session_thread_id"'
# Types the model does not parse whose objects have no session_thread_id (per the SDK's event types): their
# payloads are not even searched for one. Any other unparsed type (an unknown one) is searched, and parsed if found.
NO_THREAD_FIELD = frozenset([
    "agent.message", "agent.thinking", "user.message", "system.message", "span.model_request_start",
    "agent.thread_context_compacted", "agent.thread_message_sent", "agent.thread_message_received",
    "session.updated", "session.deleted", *vocabulary.WORKFLOW_RUN_TYPES, *PLAIN_STATUS,
])

@dataclass
class Batch:
    """The fact rows of a run of consecutive log rows, one list per table (column order as in the schema)."""

    streams: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    log_events: list[tuple[Any, ...]] = field(default_factory=list)
    thread_hints: list[tuple[Any, ...]] = field(default_factory=list)
    request_ends: list[tuple[Any, ...]] = field(default_factory=list)
    tool_uses: list[tuple[Any, ...]] = field(default_factory=list)
    tool_results: list[tuple[Any, ...]] = field(default_factory=list)
    confirmations: list[tuple[Any, ...]] = field(default_factory=list)
    statuses: list[tuple[Any, ...]] = field(default_factory=list)
    usage: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[tuple[Any, ...]] = field(default_factory=list)
    threads_created: list[tuple[Any, ...]] = field(default_factory=list)
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    payload_chars: int = 0
    unparseable: int = 0

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Fact table name -> rows (``streams`` excluded: the projection inserts only new ones)."""
        return {
            "log_events": self.log_events,
            "f_thread_hint": self.thread_hints,
            "f_request_end": self.request_ends,
            "f_tool_use": self.tool_uses,
            "f_tool_result": self.tool_results,
            "f_confirmation": self.confirmations,
            "f_status": self.statuses,
            "f_usage": self.usage,
            "f_error": self.errors,
            "f_thread_created": self.threads_created,
            "f_outcome": self.outcomes,
        }


# ------------------------------------------------------------------------------------------ value coercion


def text(value: Any) -> str | None:
    """A string DuckDB can store (lone surrogates escaped), or None for anything that is not a string."""
    if not isinstance(value, str):
        return None
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def integer(value: Any) -> int | None:
    """An integer count (bool and out-of-range values are not counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def content_chars(content: Any) -> int | None:
    """Characters of text in a content block list; a non-text block counts its JSON size."""
    if not isinstance(content, list):
        return None
    chars = 0
    for block in content:
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            chars += len(block["text"])
        elif block is not None:
            chars += len(dump_json(block))
    return chars


# ------------------------------------------------------------------------------------------------ flatten

Fact = tuple[str, tuple[Any, ...]]
"""A fact row of one event: (the Batch list it goes to, the row without its leading position)."""

class _Missing(enum.Enum):
    """Not memoized yet (None is a memoized answer: the payload has no facts)."""

    MISSING = enum.auto()
MEMO_MAX_CHARS = 1_000_000  # remember the facts of payloads up to this size (copies of big ones are rare)


class Flattener:
    """Flattens consecutive batches of log rows into fact rows.

    Remembers the streams it has reported, and the facts of the payloads of the current and previous batch: the
    same event recorded from two streams (the primary thread mirrors the session stream) has the same payload,
    usually a few positions apart, and is parsed once.
    """

    def __init__(self, known_streams: dict[int, tuple[str, str | None]] | None = None) -> None:
        self.known = dict(known_streams or {})
        self._recent: dict[str, tuple[Fact, ...] | None] = {}
        self._older: dict[str, tuple[Fact, ...] | None] = {}

    def flatten(self, rows: list[LogRow]) -> Batch:
        """The fact rows of ``rows`` (consecutive log rows in position order)."""
        batch = Batch()
        known, new_streams = self.known, batch.streams
        recent, older = self._recent, self._older
        appenders = {name: getattr(batch, name).append for name in _FACT_LISTS}
        log_events = batch.log_events.append
        statuses = appenders["statuses"]
        chars = 0
        for position, stream_id, session_id, thread_id, event_key, event_type, processed_at, payload in rows:
            if stream_id not in known and stream_id not in new_streams:
                new_streams[stream_id] = (session_id, thread_id)
            size = len(payload)
            chars += size
            log_events((position, stream_id, event_key, event_type, processed_at, size))
            handler = _HANDLERS.get(event_type)
            if handler is None and event_type.startswith(THREAD_STATUS_PREFIX):
                handler = _status
            if (handler is None or handler is _plain_status) and (event_type in NO_THREAD_FIELD
                                                                  or THREAD_FIELD not in payload):
                if handler is not None:
                    statuses((position, "session", PLAIN_STATUS[event_type], None, None, None, None))
                continue
            found = recent.get(payload, _Missing.MISSING)
            if found is _Missing.MISSING:
                found = older.get(payload, _Missing.MISSING)
                if found is _Missing.MISSING:
                    found = facts(event_type, payload, handler)
                if size <= MEMO_MAX_CHARS:
                    recent[payload] = found
            if found is None:
                batch.unparseable += 1
                continue
            for name, tail in found:
                appenders[name]((position, *tail))
        batch.payload_chars = chars
        known.update(new_streams)
        self._older, self._recent = recent, {}
        return batch


def flatten(rows: list[LogRow], known_streams: dict[int, tuple[str, str | None]] | None = None) -> Batch:
    """The fact rows of ``rows`` (consecutive log rows in position order); ``known_streams`` are not reported."""
    return Flattener(known_streams).flatten(rows)


def facts(event_type: str, payload: str, handler: Any = None) -> tuple[Fact, ...] | None:
    """The fact rows (without position) of one event; None when its payload is not a JSON object."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        try:  # valid JSON json refuses (deep nesting, huge numbers): its top-level members
            data = jsontext.loads(payload)
        except ValueError:
            return None
    if not isinstance(data, dict):
        return None
    out: list[Fact] = []
    hint = data.get("session_thread_id")
    if hint:
        hint = text(hint)
        if hint:
            out.append(("thread_hints", (hint,)))
    if handler is not None:
        out.append(handler(event_type, data))
    return tuple(out)


def _request_end(event_type: str, data: dict[str, Any]) -> Fact:
    usage = obj(data.get("model_usage"))
    return "request_ends", (
        text(data.get("model_request_start_id")),
        boolean(data.get("is_error")),
        integer(usage.get("input_tokens")),
        integer(usage.get("output_tokens")),
        integer(usage.get("cache_read_input_tokens")),
        integer(usage.get("cache_creation_input_tokens")),
        text(usage.get("speed")),
    )


def _tool_use(event_type: str, data: dict[str, Any]) -> Fact:
    evaluation = obj(data.get("evaluation"))
    judged = obj(evaluation.get("evaluated_permission"))
    tool_input = data.get("input")
    input_text = None if tool_input is None else text(dump_json(tool_input))
    return "tool_uses", (
        TOOL_USE_TYPES[event_type],
        text(data.get("name")),
        text(data.get("mcp_server_name")),
        input_text,
        None if input_text is None else len(input_text),
        text(data.get("evaluated_permission")),
        text(evaluation.get("type")),
        text(judged.get("type")),
        text(judged.get("reason_code")),
    )


def _tool_result(event_type: str, data: dict[str, Any]) -> Fact:
    kind, id_field = TOOL_RESULT_TYPES[event_type]
    return "tool_results", (
        kind, text(data.get(id_field)), boolean(data.get("is_error")), content_chars(data.get("content"))
    )


def _confirmation(event_type: str, data: dict[str, Any]) -> Fact:
    return "confirmations", (text(data.get("tool_use_id")), text(data.get("result")), text(data.get("deny_message")))


def _plain_status(event_type: str, data: dict[str, Any]) -> Fact:
    return "statuses", ("session", PLAIN_STATUS[event_type], None, None, None, None)


def _status(event_type: str, data: dict[str, Any]) -> Fact:
    """``session.status_idle`` and ``session.thread_status_*`` (the thread is the event's session_thread_id)."""
    scope = "session" if event_type == "session.status_idle" else "thread"
    state = "idle" if scope == "session" else event_type[len(THREAD_STATUS_PREFIX):]
    state = "rescheduling" if state == "rescheduled" else state
    stop = obj(data.get("stop_reason"))
    stop_type = text(stop.get("type"))
    ids = stop.get("event_ids")
    event_ids = [t for t in (text(i) for i in ids) if t] if isinstance(ids, list) else None
    if state == "idle" and stop_type == "requires_action":
        state = "requires_action"
    details = obj(data.get("stop_details"))
    return "statuses", (scope, state, stop_type, event_ids, text(details.get("category")),
                        text(details.get("explanation")))


def _usage(event_type: str, data: dict[str, Any]) -> Fact:
    usage = obj(data.get("usage"))
    cache = obj(usage.get("cache_creation"))
    cost, currency = money_amount(usage.get("list_cost"))
    budget_max, budget_currency = money_amount(obj(data.get("budget")).get("max_list_cost"))
    return "usage", (
        integer(usage.get("input_tokens")),
        integer(usage.get("output_tokens")),
        integer(usage.get("cache_read_input_tokens")),
        integer(cache.get("ephemeral_5m_input_tokens")),
        integer(cache.get("ephemeral_1h_input_tokens")),
        number(usage.get("active_seconds")),
        integer(obj(usage.get("server_tool_use")).get("web_search_requests")),
        integer(obj(usage.get("server_tool_use")).get("web_fetch_requests")),
        cost,
        currency,
        budget_max,
        budget_currency,
    )


def _error(event_type: str, data: dict[str, Any]) -> Fact:
    error = obj(data.get("error"))
    details = {k: v for k, v in error.items() if k not in ("type", "message", "retry_status")}
    return "errors", (
        text(error.get("type")), text(error.get("message")), text(obj(error.get("retry_status")).get("type")),
        text(dump_json(details)) if details else None,
    )


def _outcome(event_type: str, data: dict[str, Any]) -> Fact:
    """``user.define_outcome`` and ``span.outcome_evaluation_*``: one row each, the phase named by the type."""
    phase = {vocabulary.OUTCOME_DEFINED: "defined", vocabulary.OUTCOME_START: "start",
             vocabulary.OUTCOME_ONGOING: "ongoing", vocabulary.OUTCOME_END: "end"}[event_type]
    usage = obj(data.get("usage"))
    rubric = obj(data.get("rubric"))
    return "outcomes", (
        text(data.get("outcome_id")), phase, integer(data.get("iteration")), text(data.get("result")),
        text(data.get("explanation")), text(data.get("outcome_evaluation_start_id")), text(data.get("description")),
        text(rubric.get("content")) if rubric.get("type") == "text" else text(rubric.get("file_id")),
        integer(data.get("max_iterations")),
        integer(usage.get("input_tokens")), integer(usage.get("output_tokens")),
        integer(usage.get("cache_read_input_tokens")), integer(usage.get("cache_creation_input_tokens")),
    )


def _thread_created(event_type: str, data: dict[str, Any]) -> Fact:
    return "threads_created", (text(data.get("session_thread_id")), text(data.get("agent_name")))


_HANDLERS: dict[str, Any] = {
    REQUEST_END: _request_end,
    **dict.fromkeys(TOOL_USE_TYPES, _tool_use),
    **dict.fromkeys(TOOL_RESULT_TYPES, _tool_result),
    "user.tool_confirmation": _confirmation,
    "session.status_idle": _status,
    **dict.fromkeys(PLAIN_STATUS, _plain_status),
    "session.usage": _usage,
    "session.error": _error,
    "session.thread_created": _thread_created,
    vocabulary.OUTCOME_DEFINED: _outcome,
    vocabulary.OUTCOME_START: _outcome,
    vocabulary.OUTCOME_ONGOING: _outcome,
    vocabulary.OUTCOME_END: _outcome,
}
_FACT_LISTS = ("thread_hints", "request_ends", "tool_uses", "tool_results", "confirmations", "statuses", "usage",
               "errors", "threads_created", "outcomes")
# Types whose facts are all in the indexed columns (``log_events``: type, time, thread, size): the reports read
# them from the ``events`` view (messages, request starts, workflow runs, ...). Previews are never recorded.
INDEX_ONLY = frozenset({
    *vocabulary.MESSAGE_TYPES, "agent.thinking", "user.interrupt", REQUEST_START, "session.updated",
    "session.deleted", "agent.thread_context_compacted", *vocabulary.WORKFLOW_RUN_TYPES, *vocabulary.PREVIEW_TYPES,
})
# Every type the projection handles explicitly (a fact handler, or its facts are the indexed columns).
HANDLED = frozenset({*_HANDLERS, *vocabulary.THREAD_STATUS, *INDEX_ONLY})


# ---------------------------------------------------------------------------------------------- snapshots


@dataclass
class Snapshots:
    """Rows of ``session_snapshots``, ``thread_snapshots`` and ``snapshot_agents``."""

    sessions: list[tuple[Any, ...]] = field(default_factory=list)
    threads: list[tuple[Any, ...]] = field(default_factory=list)
    agents: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        return {"session_snapshots": self.sessions, "thread_snapshots": self.threads, "snapshot_agents": self.agents}


def _model_id(agent: dict[str, Any]) -> str | None:
    model = agent.get("model")
    return text(obj(model).get("id") if isinstance(model, dict) else model)


def snapshots(stored: Sequence[tuple[str, str | None, str]]) -> Snapshots:
    """The snapshot rows of the store's latest snapshots ``(session_id, thread_id or None, JSON)``, sorted."""
    out = Snapshots()
    for session_id, thread_id, payload in sorted(stored, key=lambda s: (s[0], s[1] or "")):
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        agent = obj(data.get("agent"))
        cost, currency = money_amount(obj(data.get("usage")).get("list_cost"))
        common = (
            text(data.get("status")),
            text(agent.get("id")),
            _agent_name(agent),
            _model_id(agent),
            parse_time(data.get("created_at")),
            parse_time(data.get("updated_at")),
            cost,
            currency,
        )
        if thread_id is not None:
            out.threads.append((session_id, thread_id, text(data.get("parent_thread_id")), *common))
            continue
        out.sessions.append((session_id, text(data.get("title")), *common))
        out.agents.append((session_id, "primary", text(agent.get("id")), text(agent.get("name")), _model_id(agent)))
        for role, member in roster(agent):
            out.agents.append((session_id, role, text(member.get("id")), _agent_name(member), _model_id(member)))
    return out


def _agent_name(agent: dict[str, Any]) -> str | None:
    """An agent's name; the platform advisor (``type: advisor``) runs as ``anthropic.advisor``."""
    if agent.get("type") == "advisor":
        return vocabulary.ADVISOR_AGENT
    return text(agent.get("name"))


def roster(agent: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The agents a multi-agent session may run, as (role, agent object): ``callable`` agents of a coordinator,
    ``advisor``, and the ``subagent``/``workflow`` predefined agents of ``multiagent_20261001``."""
    multi = obj(agent.get("multiagent"))
    out: list[tuple[str, dict[str, Any]]] = []
    members = multi.get("agents")
    for member in members if isinstance(members, list) else []:
        member = obj(member)
        out.append(("advisor" if member.get("type") == "advisor" else "callable", member))
    advisor = obj(multi.get("advisor"))
    if advisor.get("type") == "enabled":
        out.append(("advisor", {"type": "advisor", "model": advisor.get("model")}))
    for section, role in (("subagents", "subagent"), ("workflows", "workflow")):
        predefined = obj(multi.get(section)).get("predefined_agents")
        for member in predefined if isinstance(predefined, list) else []:
            out.append((role, obj(member)))
    return out
