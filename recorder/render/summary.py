"""The header every transcript starts with: agent, model, status, timing, tokens, cost, counts, threads.

Facts come from the fold (so they describe the prefix shown) and, for what events do not say (title, the
agent's name and model), from the session snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from recorder.render.display import clean, duration, money, number, stamp
from recorder.replay.fold import SessionState
from recorder.replay.timeline import Until


@dataclass(frozen=True, slots=True)
class ThreadRow:
    thread_id: str
    agent: str
    model: str
    status: str
    parent: str
    events: int
    model_requests: int
    tokens: str
    primary: bool


@dataclass(frozen=True, slots=True)
class Summary:
    title: str
    facts: list[tuple[str, str]]
    threads: list[ThreadRow]


def summarize(state: SessionState, *, until: Until | None = None, view: str = "all",
              terminal: bool = False) -> Summary:
    meta = state.meta
    usage = state.usage
    tokens = usage.tokens
    primary = state.primary

    def c(text: str) -> str:
        return clean(text, terminal=terminal)

    agent = meta.agent_name or (primary.agent_name if primary else None)
    model = meta.model or (primary.model if primary else None)
    facts: list[tuple[str, str]] = [("Session", state.session_id)]
    if agent or model:
        facts.append(("Agent", " · ".join(c(x) for x in (agent, model) if x)))
    facts.append(("Status", c(state.status or "unknown") + (f" (as of {until.describe()})" if until else "")))
    if state.first_at is not None:
        facts.append(("Time", f"{stamp(state.first_at)} → {stamp(state.last_at)} ({duration(state.duration_seconds)})"))
    shown = f"{number(state.events)} events"
    if view != "all":
        shown += f" ({'session stream' if view == 'session' else 'thread ' + view} only)"
    if until is not None:
        shown += f", up to {until.describe()}"
    facts.append(("Events", shown))
    requests = f"{number(usage.model_requests)}"
    if state.open_model_requests:
        requests += f" (+{state.open_model_requests} in progress)"
    facts.append(("Model requests", requests))
    facts.append(("Tokens", f"{number(tokens.input_tokens)} input · {number(tokens.output_tokens)} output · "
                            f"{number(tokens.cache_read_input_tokens)} cache read · "
                            f"{number(tokens.cache_creation_input_tokens)} cache write"))
    grader = usage.grader
    if any(grader.as_dict().values()):
        facts.append(("Grader tokens", f"{number(grader.input_tokens)} input · {number(grader.output_tokens)} output · "
                                       f"{number(grader.cache_read_input_tokens)} cache read · "
                                       f"{number(grader.cache_creation_input_tokens)} cache write"))
    reported = [f"{number(int(v)) if isinstance(v, int) else v} {k.replace('_', ' ')}"
                for k, v in usage.reported.items() if v]
    if reported:
        facts.append(("Reported usage", " · ".join(reported)))
    for outcome in state.outcomes.values():
        verdicts = ", ".join(f"{e.iteration}: {c(e.result or 'pending')}" for e in outcome.evaluations) or "not graded"
        facts.append(("Outcome", f"{c(outcome.description or outcome.outcome_id)} → {verdicts}"))
    for run in state.workflow_runs.values():
        facts.append(("Workflow run", f"{c(run.name or run.id)} ({c(run.status or 'created')})"))
    source = {"session.usage": f"latest session.usage, {usage.list_cost_event_id}",
              "snapshot": "session snapshot"}.get(usage.list_cost_source or "", "not reported")
    facts.append(("List cost", f"{c(money(usage.list_cost, usage.currency))} ({source})"))
    tools = f"{number(state.counts['tool_use'])}"
    if state.tool_errors:
        tools += f" ({state.tool_errors} failed)"
    if state.pending_tool_calls:
        tools += f" ({state.pending_tool_calls} awaiting a result)"
    facts.append(("Tool calls", tools))
    facts.append(("Errors", number(state.counts["error"])))
    if state.counts["unknown"]:
        facts.append(("Unknown event types", number(state.counts["unknown"])))
    rows = []
    if len(state.lanes) > 1:
        for lane in sorted(state.lanes.values(), key=lambda lane: lane.order):
            parent = state.lane(lane.parent_thread_id)
            rows.append(ThreadRow(
                lane.thread_id, c(lane.agent_name or "–"), c(lane.model or "–"), c(lane.status or "–"),
                c(parent.label) if parent else "–", lane.events, lane.model_requests,
                f"{number(lane.usage.input_tokens)} / {number(lane.usage.output_tokens)}", lane.is_primary))
    return Summary(c(meta.title or state.session_id), facts, rows)
