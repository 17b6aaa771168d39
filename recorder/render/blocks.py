"""What a transcript says about each entry of the fold, independent of markup: a :class:`Block`.

The Markdown and text renderers share this and differ only in how they format a block. Messages are shown in
full; tool inputs, tool results and unknown events are truncated to ``max_chars`` (with a note saying so).
``span.model_request_start`` events say nothing on their own: their request is shown once, when it ends, with its
model, tokens and duration (the header counts requests still open where the timeline stops).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from recorder.money import money_amount
from recorder.render.display import clean, duration, money, number, truncate
from recorder.replay.fold import Entry, SessionState, content_text
from recorder.vocabulary import ADVISOR_AGENT, OUTCOME_ONGOING, OUTCOME_START

RESULT_LINES = 40
INLINE_JSON = 100  # tool inputs up to this long stay on one line


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class Block:
    """One entry as a transcript shows it."""

    style: str  # user | agent | system | thread | tool | ok | error | status | muted | unknown
    title: str
    entry: Entry
    lane: str | None = None  # the thread's label, for entries not of the primary thread
    detail: str | None = None  # a short line of facts (ids, durations, tokens)
    text: str | None = None  # prose (Markdown as the model or user wrote it)
    code: str | None = None  # preformatted
    lang: str = ""
    note: str | None = None  # what was truncated
    inline: bool = False  # a one-line block (status changes and the like)
    collapsed: bool = False  # shown folded (thinking): the title is the summary, the text behind it


class Describer:
    """Makes blocks from entries; ``terminal`` also escapes bidi controls (see ``display.clean``)."""

    def __init__(self, state: SessionState, *, max_chars: int = 2000, terminal: bool = False) -> None:
        self.state = state
        self.max_chars = max_chars
        self.terminal = terminal
        self._methods: dict[str, Any] = {}

    def clean(self, text: str) -> str:
        return clean(text, terminal=self.terminal)

    def label(self, thread_id: str | None) -> str:
        lane = self.state.lane(thread_id)
        return self.clean(lane.label) if lane is not None else (thread_id or "session")

    def _lane(self, entry: Entry) -> str | None:
        lane = self.state.lane(entry.event.thread_id)
        if lane is None or lane.is_primary:
            return None
        return self.clean(lane.label)

    def _code(self, text: str, limit: int | None = None) -> tuple[str, str | None]:
        cut, note = truncate(text, self.max_chars if limit is None else limit, RESULT_LINES if self.max_chars else 0)
        return self.clean(cut), note

    def describe(self, entry: Entry) -> Block | None:
        method = self._methods.get(entry.kind)
        if method is None:
            method = self._methods[entry.kind] = getattr(self, "_" + entry.kind, self._unknown)
        return method(entry)

    # ---- messages

    def _user_message(self, entry: Entry) -> Block:
        return Block("user", "User", entry, text=self.clean(entry.message.text if entry.message else ""))

    def _agent_message(self, entry: Entry) -> Block:
        return Block("agent", self.label(entry.event.thread_id), entry, lane=self._lane(entry),
                     text=self.clean(entry.message.text if entry.message else ""))

    def _system_message(self, entry: Entry) -> Block:
        return Block("system", "System", entry, text=self.clean(entry.message.text if entry.message else ""))

    def _thread_message_sent(self, entry: Entry) -> Block:
        message = entry.message
        assert message is not None
        title = f"{self.label(entry.event.thread_id)} → {self._peer(message.peer_thread_id, message.peer_agent_name)}"
        return Block("thread", title, entry, lane=self._lane(entry), text=self.clean(message.text))

    def _thread_message_received(self, entry: Entry) -> Block:
        message = entry.message
        assert message is not None
        sender = self._peer(message.peer_thread_id, message.peer_agent_name)
        receiver = self.label(entry.event.thread_id)
        if message.echo:
            return Block("muted", f"{receiver} received the message from {sender}", entry, lane=self._lane(entry),
                         inline=True)
        return Block("thread", f"{receiver} ← {sender}", entry, lane=self._lane(entry), text=self.clean(message.text))

    def _peer(self, thread_id: str | None, agent_name: str | None) -> str:
        lane = self.state.lane(thread_id)
        if lane is not None and lane.agent_name:
            return self.clean(lane.agent_name)
        return self.clean(agent_name or thread_id or "unknown thread")

    def _thinking(self, entry: Entry) -> Block:
        """The API's ``agent.thinking`` carries no content; whatever text a recorded one has is shown folded."""
        title = f"{self.label(entry.event.thread_id)} is thinking"
        data = entry.event.data
        body = data.get("thinking") or data.get("text") or (content_text(data.get("content"))
                                                              if data.get("content") else None)
        if not body:
            return Block("muted", title, entry, lane=self._lane(entry), inline=True)
        return Block("muted", title, entry, lane=self._lane(entry), text=self.clean(str(body)), collapsed=True)

    def _preview(self, entry: Entry) -> None:
        return None  # stream-only previews: the buffered event that follows says everything

    # ---- model requests

    def _request_start(self, entry: Entry) -> None:
        return None

    def _request_end(self, entry: Entry) -> Block:
        request = entry.request
        assert request is not None
        usage = request.usage
        facts = [request.model or "model"]
        if usage is not None:
            facts.append(f"{number(usage.input_tokens)} in · {number(usage.output_tokens)} out · "
                         f"{number(usage.cache_read_input_tokens)} cache read · "
                         f"{number(usage.cache_creation_input_tokens)} cache write")
        if request.duration_ms is not None:
            facts.append(duration(request.duration_ms / 1000))
        failed = request.is_error
        return Block("error" if failed else "muted", f"model request #{request.number}{' failed' if failed else ''}",
                     entry, lane=self._lane(entry), detail=" · ".join(facts), inline=True)

    # ---- tools

    def _tool_name(self, entry: Entry) -> str:
        tool = entry.tool
        if tool is None or tool.name is None:
            return "tool"
        name = self.clean(tool.name)
        return f"{self.clean(str(tool.mcp_server_name))}/{name}" if tool.mcp_server_name else name

    def _tool_use(self, entry: Entry) -> Block:
        tool = entry.tool
        assert tool is not None
        text = json.dumps(tool.input, ensure_ascii=False)
        if len(text) > INLINE_JSON:
            text = json.dumps(tool.input, ensure_ascii=False, indent=2)
        code, note = self._code(text, self.max_chars * 2 if self.max_chars else 0)
        facts = [tool.kind, f"`{entry.event.event_id}`"]
        if tool.evaluated_permission not in (None, "allow") or tool.policy == "auto":
            decided = f" by {self.clean(tool.policy)}" if tool.policy else ""
            facts.append(f"permission: {self.clean(str(tool.evaluated_permission))}{decided}")
        if tool.judgement:
            reason = f" ({self.clean(tool.reason_code)})" if tool.reason_code else ""
            facts.append(f"auto judgement: {self.clean(tool.judgement)}{reason}")
        return Block("tool", f"🔧 {self._tool_name(entry)}", entry, lane=self._lane(entry), detail=" · ".join(facts),
                     code=code, lang="json", note=note)

    def _tool_result(self, entry: Entry) -> Block:
        tool = entry.tool
        assert tool is not None
        status = "error" if tool.is_error else "ok"
        facts = [f"`{entry.event.event_id}`"]
        if tool.duration_ms is not None:
            waited = " (waited for the client)" if tool.kind == "custom" else ""
            facts.append(f"took {duration(tool.duration_ms / 1000)}{waited}")
        if tool.started_at is None:
            facts.append(f"for `{tool.id}` (not in this transcript)")
        code, note = self._code(tool.result_text or "")
        return Block("error" if tool.is_error else "ok", f"↳ {self._tool_name(entry)} result: {status}", entry,
                     lane=self._lane(entry), detail=" · ".join(facts), code=code, note=note)

    def _tool_confirmation(self, entry: Entry) -> Block:
        tool = entry.tool
        assert tool is not None and tool.confirmation is not None
        result = tool.confirmation.result or "answered"
        verb = {"allow": "allowed", "deny": "denied"}.get(result, result)
        reason = f": {self.clean(tool.confirmation.deny_message)}" if tool.confirmation.deny_message else ""
        return Block("error" if result == "deny" else "status", f"User {verb} {self._tool_name(entry)}{reason}",
                     entry, lane=self._lane(entry), detail=f"`{tool.id}`", inline=True)

    # ---- session and threads

    def _status(self, entry: Entry) -> Block:
        change = entry.status
        assert change is not None
        return self._refusal(Block("status", f"Session {change.status}{self._stop(change.stop_reason)}", entry,
                                   inline=True), change.stop_details)

    def _refusal(self, block: Block, details: dict[str, Any] | None) -> Block:
        """A refusal's category (in the title) and explanation (the text)."""
        if not details:
            return block
        category = details.get("category")
        block.title += f" · refusal category: {self.clean(str(category))}" if category else " · refusal"
        explanation = details.get("explanation")
        block.style = "error"
        if explanation:
            block.text, block.inline = self.clean(str(explanation)), False
        return block

    def _stop(self, stop_reason: dict[str, Any] | None) -> str:
        if not stop_reason:
            return ""
        kind = self.clean(str(stop_reason.get("type", "")))
        ids = stop_reason.get("event_ids")
        waiting = f", waiting on {', '.join(self.clean(str(i)) for i in ids)}" if isinstance(ids, list) and ids else ""
        return f" ({kind}{waiting})"

    def _thread_status(self, entry: Entry) -> Block:
        change = entry.status
        assert change is not None
        return self._refusal(Block(
            "status", f"Thread {self.label(change.thread_id)} {change.status}{self._stop(change.stop_reason)}",
            entry, lane=self._lane(entry), inline=True), change.stop_details)

    def _thread_created(self, entry: Entry) -> Block:
        thread_id = entry.event.data.get("session_thread_id") or entry.event.thread_id
        lane = self.state.lane(thread_id)
        parent = f" by {self.label(lane.parent_thread_id)}" if lane is not None and lane.parent_thread_id else ""
        if entry.workflow is not None:
            parent += f" for workflow run {self.clean(entry.workflow.name or entry.workflow.id)}"
        advisor = " (advisor)" if lane is not None and lane.agent_name == ADVISOR_AGENT else ""
        return Block("status", f"Thread {self.label(thread_id)}{advisor} created{parent}", entry,
                     lane=self._lane(entry), detail=f"`{self.clean(str(thread_id))}`", inline=True)

    def _error(self, entry: Entry) -> Block:
        error = entry.error
        assert error is not None
        kind = self.clean(str(error.error_type or "error"))
        retry = f" ({self.clean(str(error.retry_status))})" if error.retry_status else ""
        details = " · ".join(f"{self.clean(str(k))}: {self.clean(str(v))}" for k, v in error.details.items())
        return Block("error", f"Error {kind}{retry}", entry, lane=self._lane(entry),
                     text=self.clean(str(error.message or "")), detail=details or None)

    def _usage(self, entry: Entry) -> Block:
        usage = entry.event.data.get("usage")
        amount, currency = money_amount(usage.get("list_cost") if isinstance(usage, dict) else None)
        shown = money(str(amount), currency) if amount is not None else "unknown"
        return Block("muted", f"Usage so far: list cost {self.clean(shown)}", entry, inline=True)

    def _updated(self, entry: Entry) -> Block:
        keys = [k for k in entry.event.data if k not in ("id", "type", "processed_at")]
        return Block("status", f"Session updated: {', '.join(self.clean(k) for k in keys) or 'no fields'}", entry,
                     inline=True)

    def _interrupt(self, entry: Entry) -> Block:
        return Block("error", "User interrupted", entry, lane=self._lane(entry), inline=True)

    def _compaction(self, entry: Entry) -> Block:
        return Block("muted", f"{self.label(entry.event.thread_id)}: context compacted", entry,
                     lane=self._lane(entry), inline=True)

    def _outcome_defined(self, entry: Entry) -> Block:
        data = entry.event.data
        rubric = _dict(data.get("rubric"))
        rubric_text = rubric.get("content") if rubric.get("type") == "text" else (
            f"rubric file {rubric.get('file_id')}" if rubric.get("file_id") else None)
        text = self.clean(str(data.get("description") or ""))
        if rubric_text:
            text += "\n\nRubric:\n\n" + self.clean(str(rubric_text))
        outcome_id = self.clean(str(data.get("outcome_id")))
        return Block("status", "Outcome defined", entry, text=text,
                     detail=f"`{outcome_id}` · max iterations: {data.get('max_iterations')}")

    def _outcome_evaluation(self, entry: Entry) -> Block | None:
        data = entry.event.data
        iteration = data.get("iteration")
        if entry.event.type == OUTCOME_ONGOING:
            return Block("muted", f"Grader iteration {iteration}: still evaluating", entry, inline=True)
        if entry.event.type == OUTCOME_START:
            return Block("status", f"Grader iteration {iteration} started", entry, inline=True)
        outcome = entry.outcome
        evaluation = outcome.evaluation(iteration) if outcome is not None else None
        result = self.clean(str(data.get("result") or "no verdict"))
        facts = []
        if evaluation is not None and evaluation.usage is not None:
            u = evaluation.usage
            facts.append(f"grader: {number(u.input_tokens)} in · {number(u.output_tokens)} out · "
                         f"{number(u.cache_read_input_tokens)} cache read · "
                         f"{number(u.cache_creation_input_tokens)} cache write")
        if evaluation is not None and evaluation.duration_ms is not None:
            facts.append(f"took {duration(evaluation.duration_ms / 1000)}")
        explanation = data.get("explanation")
        return Block("ok" if result == "satisfied" else "status", f"Grader iteration {iteration}: {result}", entry,
                     text=self.clean(str(explanation)) if explanation else None, detail=" · ".join(facts) or None)

    def _deleted(self, entry: Entry) -> Block:
        return Block("error", "Session deleted", entry, inline=True)

    def _workflow(self, entry: Entry) -> Block:
        data = entry.event.data
        run = entry.workflow
        name = self.clean(run.name or run.id) if run is not None else "(no run)"
        step = entry.event.type.split(".", 1)[1]
        phase_id = data.get("workflow_run_phase_id")
        phase = self.clean(run.phases.get(phase_id, str(phase_id))) if run is not None and phase_id else ""
        if step == "created":
            phases = ", ".join(self.clean(p) for p in run.phases.values()) if run is not None else ""
            return Block("status", f"Workflow run {name} created", entry, lane=self._lane(entry),
                         text=self.clean(str(data.get("description") or "")) or None,
                         detail=f"`{self.clean(str(data.get('workflow_run_id')))}`" + (
                             f" · phases: {phases}" if phases else ""))
        if step == "error":
            error = _dict(data.get("error"))
            return Block("error", f"Workflow run {name} error {self.clean(str(error.get('type') or ''))}", entry,
                         lane=self._lane(entry), text=self.clean(str(error.get("message") or "")) or None)
        if step == "status_ended":
            result = _dict(data.get("result"))
            error = _dict(result.get("error"))
            outcome = self.clean(str(result.get("type") or "ended"))
            if error:
                outcome += f": {self.clean(str(error.get('type')))} ({self.clean(str(error.get('message')))})"
            return Block("error" if error else "status", f"Workflow run {name} ended: {outcome}", entry,
                         lane=self._lane(entry), inline=True)
        if step in ("phase_started", "phase_ended"):
            return Block("status", f"Workflow run {name}: phase {phase} {step.split('_')[1]}", entry,
                         lane=self._lane(entry), inline=True)
        return Block("status", f"Workflow run {name} {step.replace('status_', '')}", entry, lane=self._lane(entry),
                     inline=True)

    def _unknown(self, entry: Entry, style: str = "unknown") -> Block:
        data = {k: v for k, v in entry.event.data.items() if k not in ("id", "type", "processed_at")}
        code, note = self._code(json.dumps(data, ensure_ascii=False, indent=2))
        facts = f"`{self.clean(entry.event.event_id)}`" + (" · not a type this version knows" if style == "unknown"
                                                           else "")
        return Block(style, self.clean(entry.event.type), entry, lane=self._lane(entry), detail=facts, code=code,
                     lang="json", note=note)
