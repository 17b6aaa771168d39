"""The fold, checked against what is computed independently from the emulator's raw events and snapshots."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recorder.money import money_amount
from recorder.replay.fold import Folder, content_text, fold, kind_of
from recorder.replay.meta import load_meta
from recorder.replay.timeline import Until, read_timeline
from tests.replay.conftest import Recorded
from tests.replay.support import session_events, unique_events

USES = {"agent.tool_use": "builtin", "agent.mcp_tool_use": "mcp", "agent.custom_tool_use": "custom"}
RESULTS = {"agent.tool_result": "tool_use_id", "agent.mcp_tool_result": "mcp_tool_use_id",
           "user.custom_tool_result": "custom_tool_use_id", "user.tool_result": "tool_use_id"}
TOKENS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _state(recorded: Recorded, scenario: str, **kwargs):
    sid = recorded.sid(scenario)
    meta = load_meta(recorded.store, sid)
    return fold(read_timeline(recorded.store, sid, **kwargs), meta)


def test_usage_sums_every_model_request_end_of_every_thread_once(recorded: Recorded, scenario: str) -> None:
    sid = recorded.sid(scenario)
    ends = [e for e in unique_events(recorded.emu, sid).values() if e["type"] == "span.model_request_end"]
    state = _state(recorded, scenario)
    assert state.usage.model_requests == len(ends) > 0
    for name in TOKENS:
        assert getattr(state.usage.tokens, name) == sum(e["model_usage"][name] for e in ends), name
    snapshot = recorded.emu.session(sid)["usage"]  # the emulator's own accounting, a second opinion
    assert state.usage.tokens.input_tokens == snapshot["input_tokens"]
    assert state.usage.tokens.output_tokens == snapshot["output_tokens"]
    assert state.usage.tokens.cache_read_input_tokens == snapshot["cache_read_input_tokens"]
    assert state.usage.tokens.cache_creation_input_tokens == snapshot["cache_creation"]["ephemeral_5m_input_tokens"]


def test_list_cost_is_the_latest_figure_usage_event_or_snapshot(recorded: Recorded, scenario: str) -> None:
    sid = recorded.sid(scenario)
    snapshot = recorded.emu.session(sid)
    state = _state(recorded, scenario)
    assert state.usage.list_cost == str(money_amount(snapshot["usage"]["list_cost"])[0])  # recorded after every event
    assert state.usage.list_cost_source == "snapshot"
    assert Decimal(state.usage.list_cost) > 0
    assert state.usage.currency == "USD"
    usages = [e for e in session_events(recorded.emu, sid)[None] if e["type"] == "session.usage"]
    if usages:  # without the snapshot (a prefix), the latest session.usage event
        prefix = fold(read_timeline(recorded.store, sid), load_meta(recorded.store, sid), snapshot_cost=False)
        assert prefix.usage.list_cost == str(money_amount(usages[-1]["usage"]["list_cost"])[0])
        assert prefix.usage.list_cost_source == "session.usage"
        assert prefix.usage.list_cost_event_id == usages[-1]["id"]


def test_a_snapshot_older_than_the_last_usage_event_loses(recorded: Recorded) -> None:
    sid = recorded.sid("budget")
    meta = load_meta(recorded.store, sid)
    old = dict(meta.snapshot, updated_at="2000-01-01T00:00:00Z")
    old["usage"] = {**old["usage"], "list_cost": {"amount": "0.000001", "currency": "USD"}}
    stale = type(meta)(meta.session_id, old, meta.threads)
    state = fold(read_timeline(recorded.store, sid, meta=meta), stale)
    assert state.usage.list_cost_source == "session.usage" and state.usage.list_cost != "0.000001"


def test_tool_calls_are_paired_with_their_results(recorded: Recorded, scenario: str) -> None:
    sid = recorded.sid(scenario)
    events = list(unique_events(recorded.emu, sid).values())
    uses = [e for e in events if e["type"] in USES]
    results = {e[RESULTS[e["type"]]]: e for e in events if e["type"] in RESULTS}
    state = _state(recorded, scenario)
    assert sorted(c.id for c in state.tool_calls) == sorted(u["id"] for u in uses)
    starts = [c.started_at for c in state.tool_calls]
    assert starts == sorted(starts)  # in timeline order
    by_id = {c.id: c for c in state.tool_calls}
    assert len(by_id) == len(uses)
    for use in uses:
        call = by_id[use["id"]]
        assert (call.name, call.kind, call.input) == (use["name"], USES[use["type"]], use["input"])
        result = results.get(use["id"])
        assert result is not None, "finished scenarios answer every tool call"
        assert call.result_id == result["id"]
        assert call.is_error == result["is_error"]
        assert call.result_text == content_text(result["content"])
        assert call.duration_ms is not None and call.duration_ms >= 0
    assert state.pending_tool_calls == 0
    assert state.tool_errors == sum(1 for r in results.values() if r["is_error"])


def test_custom_tools_wait_for_the_client_and_confirmations_attach(recorded: Recorded) -> None:
    custom = _state(recorded, "custom_tool")
    assert [c.kind for c in custom.tool_calls] == ["custom"] * 3
    assert [c.is_error for c in custom.tool_calls] == [False, True, False]
    waits = [s for s in custom.statuses if s.stop_reason and s.stop_reason.get("type") == "requires_action"]
    assert [w.stop_reason["event_ids"] for w in waits] == [[c.id] for c in custom.tool_calls]
    assert all(c.duration_ms >= 2000 for c in custom.tool_calls)  # the scenario waits at least 2 s each time
    confirm = _state(recorded, "confirmation")
    asked = [c for c in confirm.tool_calls if c.confirmation is not None]
    assert [c.confirmation.result for c in asked] == ["allow", "deny"]
    assert asked[1].confirmation.deny_message == "Never force-push main."
    assert [c.status for c in asked] == ["ok", "error"]


def test_threads_lanes_and_cross_thread_messages(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    state = _state(recorded, "multi_agent")
    lanes = sorted(state.lanes.values(), key=lambda lane: lane.order)
    assert [lane.agent_name for lane in lanes] == ["coordinator", "researcher", "reviewer", "scout"]
    assert lanes[0].is_primary and lanes[0].thread_id == recorded.emu.primary_thread_id(sid)
    assert [state.depth(lane.thread_id) for lane in lanes] == [0, 1, 1, 1]  # one level of delegation
    assert all(lane.status == "idle" for lane in lanes)
    assert sum(lane.events for lane in lanes) == state.events
    per_thread_requests = sum(lane.model_requests for lane in lanes)
    assert per_thread_requests == state.usage.model_requests
    sent = [m for m in state.messages if m.direction == "sent"]
    received = [m for m in state.messages if m.direction == "received"]
    assert len(sent) == len(received) == 6
    assert all(m.echo for m in received)
    assert {(m.thread_id, m.peer_thread_id) for m in sent} == {(m.peer_thread_id, m.thread_id) for m in received}


def test_status_timeline_errors_and_turns(recorded: Recorded) -> None:
    state = _state(recorded, "errors")
    raw_errors = [e for e in session_events(recorded.emu, recorded.sid("errors"))[None] if e["type"] == "session.error"]
    assert [(e.error_type, e.retry_status) for e in state.errors] == \
        [(e["error"]["type"], e["error"]["retry_status"]["type"]) for e in raw_errors]
    session_statuses = [s.status for s in state.statuses if s.scope == "session"]
    assert "rescheduling" in session_statuses and session_statuses[-1] == "terminated"
    assert state.status == "terminated"
    stops = [t.stop_reason["type"] for t in state.turns if t.stop_reason]
    assert stops == ["retries_exhausted"]  # the second turn ends in an unrecoverable error (terminated)
    assert sum(t.model_requests for t in state.turns) == state.usage.model_requests


def test_unknown_types_are_kept_as_unknown_entries(recorded: Recorded) -> None:
    state = _state(recorded, "unknown_types")
    assert [e.event.type for e in state.unknown] == ["agent.future_widget", "session.future_checkpoint",
                                                     "agent.tool_use_progress"]
    assert state.unknown[0].event.data["widget"]["kind"] == "chart"
    assert len(state.entries) == state.events  # nothing dropped
    assert kind_of("workflow_run.created") == "workflow" and kind_of("x.y") == "unknown"


def test_a_prefix_folds_to_the_state_at_that_moment(recorded: Recorded) -> None:
    sid = recorded.sid("budget")
    meta = load_meta(recorded.store, sid)
    full = list(read_timeline(recorded.store, sid))
    for n in (5, len(full) // 2, len(full) - 1):
        until = Until(event_id=full[n].event_id)
        prefix = fold(read_timeline(recorded.store, sid, until=until), meta, snapshot_cost=False)
        ends = [e for e in full[: n + 1] if e.type == "span.model_request_end"]
        usages = [e for e in full[: n + 1] if e.type == "session.usage"]
        assert prefix.events == n + 1
        assert prefix.usage.model_requests == len(ends)
        assert prefix.usage.tokens.output_tokens == sum(e.data["model_usage"]["output_tokens"] for e in ends)
        expected = str(money_amount(usages[-1].data["usage"]["list_cost"])[0]) if usages else None
        assert prefix.usage.list_cost == expected
        statuses = [e for e in full[: n + 1] if e.type.startswith("session.status_")]
        assert prefix.status == (statuses[-1].type.removeprefix("session.status_").replace("rescheduled",
                                                                                            "rescheduling")
                                 if statuses else None)


def test_the_streaming_fold_agrees_with_the_full_one(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    meta = load_meta(recorded.store, sid)
    full = fold(read_timeline(recorded.store, sid), meta)
    folder = Folder(meta, keep=False)
    for event in read_timeline(recorded.store, sid):
        folder.feed(event)
    lean = folder.finish()
    assert lean.usage == full.usage
    assert lean.counts == full.counts and lean.events == full.events
    assert not lean.entries and not lean.tool_calls and full.entries


@pytest.mark.parametrize(("content", "text"), [
    ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "a\n\nb"),
    ([{"type": "image", "source": {}}], "[image]"),
    ([{"type": "document", "title": "spec.pdf"}], "[document: spec.pdf]"),
    ("plain", "plain"),
    (None, ""),
])
def test_content_text(content: object, text: str) -> None:
    assert content_text(content) == text


# ------------------------------------------------------------------------------------ the rest of the vocabulary


def test_outcomes_and_grader_usage(recorded: Recorded) -> None:
    state = _state(recorded, "self_hosted")
    [outcome] = state.outcomes.values()
    assert outcome.description and outcome.description.startswith("The upload endpoint")
    assert outcome.rubric["type"] == "text" and outcome.max_iterations == 3
    assert [(e.iteration, e.result, e.heartbeats) for e in outcome.evaluations] == [
        (0, "needs_revision", 1), (1, "satisfied", 2)]
    assert all(e.duration_ms and e.duration_ms > 0 for e in outcome.evaluations)
    assert outcome.result == "satisfied"
    assert state.usage.grader.as_dict() == {"input_tokens": 4700, "output_tokens": 235,
                                            "cache_read_input_tokens": 2700, "cache_creation_input_tokens": 300}
    assert state.usage.reported["cache_creation_1h_input_tokens"] == 5000
    assert state.usage.reported["web_search_requests"] == 2
    [refusal] = [s for s in state.statuses if s.stop_details]
    assert refusal.stop_reason == {"type": "refusal"} and refusal.stop_details["category"] == "cyber"
    assert [c.result_type for c in state.tool_calls].count("user.tool_result") == 4


def test_workflow_runs_advisor_threads_and_permission_decisions(recorded: Recorded) -> None:
    state = _state(recorded, "workflows")
    runs = {run.name: run for run in state.workflow_runs.values()}
    assert set(runs) == {"release", "retry-test", "smoke"}
    release = runs["release"]
    assert list(release.phases.values()) == ["build", "test"] and release.status == "ended"
    assert release.result["type"] == "error" and release.errors[0]["type"] == "program_error"
    assert len(release.threads) == 1 and state.lanes[release.threads[0]].workflow_run_id == release.id
    assert (runs["retry-test"].result, runs["smoke"].result) == ({"type": "completed"}, {"type": "stopped"})
    assert any(lane.agent_name == "anthropic.advisor" for lane in state.lanes.values())
    by_name = {(c.name, c.evaluated_permission): c for c in state.tool_calls}
    policy = by_name[("bash", "deny")]
    assert (policy.policy, policy.judgement, policy.reason_code, policy.denied_by) == (
        "auto", "deny", "destructive_filesystem_operation", "policy")
    assert by_name[("bash", "ask")].denied_by == "user" and by_name[("read", "allow")].judgement == "allow"
    child_refusal = [s for s in state.statuses if s.scope == "thread" and s.stop_details]
    assert child_refusal and child_refusal[0].stop_details["category"] == "general_harms"


def test_error_details_and_media_placeholders(recorded: Recorded) -> None:
    state = _state(recorded, "error_catalog")
    details = {e.error_type: e.details for e in state.errors}
    assert len(details) == 15
    assert details["credential_host_unreachable_error"].keys() == {"credential_id", "vault_id"}
    assert details["mcp_authentication_failed_error"] == {"mcp_server_name": "linear"}
    assert details["billing_error"] == {}
    assert [s.status for s in state.statuses if s.scope == "session"][-1] == "terminated"
    png = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA" * 100}}
    doc = {"type": "document", "title": "spec.pdf", "source": {"type": "url", "url": "https://x/spec.pdf"}}
    assert content_text([png, doc, {"type": "redacted"}]) == (
        "[image: image/png, 300 B]\n\n[document: spec.pdf, https://x/spec.pdf]\n\n[redacted]")


def test_a_deletion_seen_on_every_open_stream_counts_once(deleted: Recorded) -> None:
    state = _state(deleted, "deleted")
    assert state.counts["deleted"] == 1
