"""The JSON transcript: the fold's state as one JSON document for other programs (``--format json``).

Field names are part of the CLI contract (``"format": "recorder.transcript/1"``); new fields may be added, none
will be renamed. Times are RFC 3339 UTC (``...Z``), durations milliseconds. Top level::

    format, session_id, title, status, agent {name, model}, view, until {event_id | time} | null,
    first_event_at, last_event_at, duration_seconds, events, event_types {type: count},
    usage {model_requests, input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens,
           grader_input_tokens, grader_output_tokens, grader_cache_read_input_tokens,
           grader_cache_creation_input_tokens, web_search_requests, web_fetch_requests, active_seconds,
           cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
           list_cost, currency, list_cost_source, list_cost_event_id},
    outcomes [{outcome_id, description, rubric, max_iterations, result, iterations [{iteration, result,
              explanation, grader_* tokens, started_at, finished_at, duration_ms, ...}]}],
    workflow_runs [{workflow_run_id, name, phases, status, result, errors, threads, ...}],
    threads [{thread_id, parent_thread_id, agent_name, model, status, is_primary, events, model_requests,
              tool_calls, messages, first_event_at, last_event_at, usage {the four token counts}}],
    tool_calls [...], model_requests [...], turns [...], messages [...], status_timeline [...], errors [...],
    unknown_events [the event objects as delivered], timeline [{id, type, kind, thread_id, processed_at, ...}]

``tool_calls`` use the field names of ``recorder tools ID --format json`` (DESIGN.md) — ``id`` (the tool-use
event id), ``name``, ``kind`` (builtin | mcp | custom), ``input``, ``thread_id``, ``result_id`` and ``is_error``
(null when no result was recorded), ``started_at``, ``finished_at``, ``duration_ms`` — plus ``status``
(ok | error | pending | denied), ``mcp_server_name``, ``model_request_id``, ``result_type``, ``result_text`` and
``confirmation``. ``usage`` sums every ``span.model_request_end`` of every thread once; ``list_cost`` is the
amount from the latest ``session.usage`` event, or from the session snapshot when the whole session is shown,
else null — a number with 6 decimals, as ``recorder usage --format json`` gives it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from recorder.events import format_time
from recorder.render.deferred import CHUNK_CHARS, Document, Slot
from recorder.replay.fold import (
    Entry,
    ErrorInfo,
    Folder,
    Message,
    ModelRequest,
    Outcome,
    SessionState,
    StatusChange,
    ToolCall,
    Turn,
    WorkflowRun,
)
from recorder.replay.meta import SessionMeta
from recorder.replay.timeline import TimelineEvent, Until
from recorder.vocabulary import TOKEN_FIELDS

FORMAT = "recorder.transcript/1"


def tool_call(call: ToolCall) -> dict[str, Any]:
    confirmation = None
    if call.confirmation is not None:
        confirmation = {"event_id": call.confirmation.event_id, "at": format_time(call.confirmation.at),
                        "result": call.confirmation.result, "deny_message": call.confirmation.deny_message}
    return {
        "id": call.id, "name": call.name, "kind": call.kind, "input": call.input, "thread_id": call.thread_id,
        "result_id": call.result_id, "is_error": call.is_error if call.result_id is not None else None,
        "started_at": format_time(call.started_at), "finished_at": format_time(call.finished_at),
        "duration_ms": call.duration_ms, "status": call.status, "mcp_server_name": call.mcp_server_name,
        "model_request_id": call.request_id, "result_type": call.result_type, "result_text": call.result_text,
        "confirmation": confirmation, "evaluated_permission": call.evaluated_permission, "policy": call.policy,
        "judgement": call.judgement, "reason_code": call.reason_code, "denied_by": call.denied_by,
    }


def outcome(o: Outcome) -> dict[str, Any]:
    """An outcome with its grader iterations: the fields of ``recorder outcomes --format json``, nested."""
    return {
        "outcome_id": o.outcome_id, "event_id": o.event_id, "defined_at": format_time(o.defined_at),
        "description": o.description, "rubric": o.rubric, "max_iterations": o.max_iterations, "result": o.result,
        "iterations": [{
            "iteration": e.iteration, "result": e.result, "explanation": e.explanation,
            **{f"grader_{k}": v for k, v in (e.usage.as_dict() if e.usage else dict.fromkeys(TOKEN_FIELDS)).items()},
            "started_at": format_time(e.started_at), "finished_at": format_time(e.finished_at),
            "duration_ms": e.duration_ms, "heartbeats": e.heartbeats, "start_id": e.start_id, "end_id": e.end_id,
        } for e in o.evaluations],
    }


def workflow_run(run: WorkflowRun) -> dict[str, Any]:
    return {"workflow_run_id": run.id, "name": run.name, "description": run.description,
            "phases": [{"id": k, "name": v} for k, v in run.phases.items()], "status": run.status,
            "result": run.result, "errors": run.errors, "threads": run.threads,
            "created_at": format_time(run.created_at), "ended_at": format_time(run.ended_at)}


def model_request(request: ModelRequest) -> dict[str, Any]:
    return {
        "id": request.id, "end_id": request.end_id, "number": request.number, "thread_id": request.thread_id,
        "model": request.model, "started_at": format_time(request.started_at),
        "finished_at": format_time(request.finished_at), "duration_ms": request.duration_ms,
        "is_error": request.is_error, "usage": request.usage.as_dict() if request.usage else None,
        "model_usage": request.model_usage, "event_ids": request.event_ids,
    }


def turn(t: Turn) -> dict[str, Any]:
    return {"number": t.number, "user_message_id": t.user_event_id, "started_at": format_time(t.started_at),
            "ended_at": format_time(t.ended_at), "stop_reason": t.stop_reason, "model_requests": t.model_requests,
            "tool_calls": t.tool_calls}


def message(m: Message) -> dict[str, Any]:
    return {"id": m.event_id, "at": format_time(m.at), "thread_id": m.thread_id, "role": m.role, "text": m.text,
            "direction": m.direction, "peer_thread_id": m.peer_thread_id, "peer_agent_name": m.peer_agent_name,
            "echo": m.echo}


def status_change(s: StatusChange) -> dict[str, Any]:
    return {"event_id": s.event_id, "at": format_time(s.at), "scope": s.scope, "thread_id": s.thread_id,
            "status": s.status, "stop_reason": s.stop_reason, "stop_details": s.stop_details}


def error(e: ErrorInfo) -> dict[str, Any]:
    return {"event_id": e.event_id, "at": format_time(e.at), "thread_id": e.thread_id, "type": e.error_type,
            "message": e.message, "retry_status": e.retry_status, "details": e.details, "error": e.error}


def timeline_item(entry: Entry) -> dict[str, Any]:
    event = entry.event
    item: dict[str, Any] = {"id": event.event_id, "type": event.type, "kind": entry.kind,
                            "thread_id": event.thread_id, "processed_at": event.time}
    if not event.event_id:
        item["key"] = event.key
    if entry.request is not None:
        item["model_request_id"] = entry.request.id
    if entry.tool is not None:
        item["tool_use_id"] = entry.tool.id
    return item


def _money(amount: str | None) -> float | None:
    """A list cost as scripts get it from every report (``recorder usage`` too): a number, 6 decimals."""
    if amount is None:
        return None
    try:
        return float(round(Decimal(amount), 6))
    except (InvalidOperation, ValueError):
        return None


def _head(state: SessionState, until: Until | None, view: str) -> dict[str, Any]:
    """The document's fields before its lists: facts about the whole session (or prefix)."""
    usage = state.usage
    meta = state.meta
    primary = state.primary
    lanes = sorted(state.lanes.values(), key=lambda lane: lane.order)
    return {
        "format": FORMAT,
        "session_id": state.session_id,
        "title": meta.title,
        "status": state.status,
        "agent": {"name": meta.agent_name or (primary.agent_name if primary else None),
                  "model": meta.model or (primary.model if primary else None)},
        "view": view,
        "until": None if until is None else (
            {"event_id": until.event_id} if until.event_id is not None else {"time": format_time(until.time)}),
        "first_event_at": format_time(state.first_at),
        "last_event_at": format_time(state.last_at),
        "duration_seconds": state.duration_seconds,
        "events": state.events,
        "event_types": dict(sorted(state.event_types.items())),
        "usage": {"model_requests": usage.model_requests, **usage.tokens.as_dict(),
                  **{f"grader_{k}": v for k, v in usage.grader.as_dict().items()}, **usage.reported,
                  "list_cost": _money(usage.list_cost), "currency": usage.currency,
                  "list_cost_source": usage.list_cost_source,
                  "list_cost_event_id": usage.list_cost_event_id},
        "threads": [{"thread_id": lane.thread_id, "parent_thread_id": lane.parent_thread_id,
                     "agent_name": lane.agent_name, "model": lane.model, "status": lane.status,
                     "is_primary": lane.is_primary, "events": lane.events, "model_requests": lane.model_requests,
                     "tool_calls": lane.tool_calls, "messages": lane.messages,
                     "first_event_at": format_time(lane.first_at), "last_event_at": format_time(lane.last_at),
                     "usage": lane.usage.as_dict(), "workflow_run_id": lane.workflow_run_id} for lane in lanes],
        "outcomes": [outcome(o) for o in state.outcomes.values()],
        "workflow_runs": [workflow_run(r) for r in state.workflow_runs.values()],
    }


def transcript(state: SessionState, *, until: Until | None = None, view: str = "all") -> dict[str, Any]:
    """The JSON transcript of a folded session (``fold(..., keep=True)``), as a dict."""
    return {
        **_head(state, until, view),
        "tool_calls": [tool_call(c) for c in state.tool_calls],
        "model_requests": [model_request(r) for r in state.model_requests],
        "turns": [turn(t) for t in state.turns],
        "messages": [message(m) for m in state.messages],
        "status_timeline": [status_change(s) for s in state.statuses],
        "errors": [error(e) for e in state.errors],
        "unknown_events": [entry.event.data for entry in state.unknown],
        "timeline": [timeline_item(entry) for entry in state.entries],
    }


def write_json(events: Iterable[TimelineEvent], meta: SessionMeta, out: TextIO, *, until: Until | None = None,
               view: str = "all", indent: int | None = 2) -> SessionState:
    """Write the JSON transcript of ``events`` to ``out``; returns the folded state (counters only).

    Streamed (see :class:`_Writer`): the same text as ``json.dumps(transcript(fold(...)), indent=indent)``, in
    memory that does not grow with the session.
    """
    folder = Folder(meta, keep=False, snapshot_cost=until is None)
    with _Writer(indent) as writer:
        for event in events:
            entry = folder.feed(event)
            writer.add(entry, folder.turn)
        state = folder.finish()
        writer.write(out, _head(state, until, view))
    return state


# ------------------------------------------------------------------------------------------------ streaming


_SURROGATE = re.compile("[\ud800-\udfff]")
_NON_ASCII = re.compile("[^\x00-\x7e]")
SECTION_BYTES = 256 * 1024


def _escape(match: re.Match[str]) -> str:
    """A character as ``json.dumps(..., ensure_ascii=True)`` writes it (astral ones as a surrogate pair)."""
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


class _Section:
    """One list of the document in a spool: items written in the order they were made, each when it is complete
    (an open slot of a :class:`~recorder.render.deferred.Document` until then)."""

    def __init__(self, name: str, indent: int | None) -> None:
        self.name = name
        self.file = tempfile.SpooledTemporaryFile(max_size=SECTION_BYTES, mode="w+", encoding="utf-8",  # noqa: SIM115
                                                  errors="surrogatepass", newline="")
        self.doc = Document(self.file)
        self.count = 0
        self.indent = indent
        self.newline = "" if indent is None else "\n" + " " * (2 * indent)
        self.surrogates = False

    def text(self, item: Any) -> str:
        text = json.dumps(item, ensure_ascii=False, indent=self.indent)
        if self.newline:
            text = text.replace("\n", self.newline)
        if not self.surrogates and _SURROGATE.search(text):
            self.surrogates = True
        return text

    def _separator(self) -> str:
        first = not self.count
        self.count += 1
        return self.newline if first else ("," if self.indent is not None else ", ") + self.newline

    def add(self, item: Any) -> None:
        self.doc.write(self.doc.root, self._separator() + self.text(item))

    def open(self) -> Slot:
        self.doc.write(self.doc.root, self._separator())
        return self.doc.open(self.doc.root)

    def fill(self, slot: Slot, item: Any) -> None:
        self.doc.write(slot, self.text(item))
        self.doc.close(slot)


class _Writer:
    """The JSON transcript written as the fold runs: the head (which needs the totals) last, shown first; each
    list spooled in a :class:`_Section`; tool calls, model requests and turns held (in memory) only while open.

    ``json.dumps`` falls back to ``ensure_ascii=True`` when recorded text holds a lone surrogate (not UTF-8); the
    sections note one when they meet it and every piece is then escaped the same way as it is copied out.
    """

    NAMES = ("tool_calls", "model_requests", "turns", "messages", "status_timeline", "errors", "unknown_events",
             "timeline")

    def __init__(self, indent: int | None) -> None:
        self.indent = indent
        self.sections = {name: _Section(name, indent) for name in self.NAMES}
        self.calls: dict[int, tuple[ToolCall, Slot]] = {}  # open, by object identity (ids may repeat or be "")
        self.requests: dict[int, tuple[ModelRequest, Slot]] = {}
        self.turn: tuple[Turn, Slot] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        for section in self.sections.values():
            section.file.close()

    def add(self, entry: Entry, current_turn: Turn | None) -> None:
        kind, sections = entry.kind, self.sections
        request, call = entry.request, entry.tool
        if kind == "request_start" and request is not None:
            self.requests[id(request)] = (request, sections["model_requests"].open())
        elif kind == "request_end" and request is not None:
            held = self.requests.pop(id(request), None)
            if held is not None:
                sections["model_requests"].fill(held[1], model_request(request))
            else:  # an end whose start is not in the timeline: complete as it is made
                sections["model_requests"].add(model_request(request))
        elif request is not None:
            request.event_ids.append(entry.event.event_id)
        if kind == "tool_use" and call is not None:
            self.calls[id(call)] = (call, sections["tool_calls"].open())
        elif kind == "tool_result" and call is not None:
            held_call = self.calls.pop(id(call), None)
            if held_call is not None:
                sections["tool_calls"].fill(held_call[1], tool_call(call))
        if self.turn is not None and self.turn[0] is not current_turn:  # ended, or a new one began
            sections["turns"].fill(self.turn[1], turn(self.turn[0]))
            self.turn = None
        if kind == "user_message" and current_turn is not None:
            self.turn = (current_turn, sections["turns"].open())
        if entry.message is not None:
            sections["messages"].add(message(entry.message))
        if entry.status is not None:
            sections["status_timeline"].add(status_change(entry.status))
        if entry.error is not None:
            sections["errors"].add(error(entry.error))
        if kind == "unknown":
            sections["unknown_events"].add(entry.event.data)
        sections["timeline"].add(timeline_item(entry))

    def _finish(self) -> None:
        sections = self.sections
        for held_call, slot in self.calls.values():
            sections["tool_calls"].fill(slot, tool_call(held_call))
        for request, slot in self.requests.values():
            sections["model_requests"].fill(slot, model_request(request))
        if self.turn is not None:
            sections["turns"].fill(self.turn[1], turn(self.turn[0]))
        self.calls.clear()
        self.requests.clear()
        self.turn = None
        for section in sections.values():
            section.doc.finish()

    def write(self, out: TextIO, head: dict[str, Any]) -> None:
        """Write the document: ``head``'s fields, then every section's list."""
        self._finish()
        indent = self.indent
        inner = "" if indent is None else "\n" + " " * indent
        comma = "," if indent is not None else ", "
        head_text = [json.dumps(k) + ": " + json.dumps(v, ensure_ascii=False, indent=indent).replace(
            "\n", inner or "\n") for k, v in head.items()]
        ascii_only = any(s.surrogates for s in self.sections.values()) or any(
            _SURROGATE.search(text) for text in head_text)

        def put(text: str) -> None:
            out.write(_NON_ASCII.sub(_escape, text) if ascii_only else text)

        put("{" + inner + (comma + inner).join(head_text))
        for section in self.sections.values():
            put(comma + inner + json.dumps(section.name) + ": [")
            if section.count:
                section.file.seek(0)
                while chunk := section.file.read(CHUNK_CHARS):
                    put(chunk)
                put(inner)
            put("]")
        put(("\n" if indent is not None else "") + "}\n")
