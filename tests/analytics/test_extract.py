"""Flattening log rows into fact rows: pure functions, no database."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from recorder.analytics import extract

from recorder.events import dump_json, raw_event
from recorder.money import money_amount

AT = datetime(2026, 3, 2, 12, 0, 0)


def row(position: int, obj: dict, *, stream: int = 1, session: str = "sesn_a", thread: str | None = None,
        payload: str | None = None) -> extract.LogRow:
    raw = raw_event(obj, session, thread)
    return (position, stream, session, thread, raw.event_key, raw.type, AT, payload or raw.payload)


def test_every_row_is_kept_in_log_events_with_its_size() -> None:
    objs = [{"id": "e1", "type": "agent.thinking"}, {"id": "e2", "type": "agent.future_widget", "x": [1, 2]},
            {"id": "", "type": "user.interrupt"}]
    batch = extract.flatten([row(i + 1, o) for i, o in enumerate(objs)])
    assert [r[3] for r in batch.log_events] == ["agent.thinking", "agent.future_widget", "user.interrupt"]
    assert [r[5] for r in batch.log_events] == [len(dump_json(o)) for o in objs]
    assert batch.log_events[2][2].startswith("~sha256:")
    assert batch.streams == {1: ("sesn_a", None)}
    assert batch.payload_chars == sum(len(dump_json(o)) for o in objs)


def test_known_streams_are_not_reported_again() -> None:
    batch = extract.flatten([row(1, {"id": "e1", "type": "x"}, stream=7)], known_streams={7: ("sesn_a", None)})
    assert batch.streams == {}


def test_model_request_end_and_tool_rows() -> None:
    end = {"id": "e2", "type": "span.model_request_end", "model_request_start_id": "e1", "is_error": False,
           "model_usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                           "cache_creation_input_tokens": 7, "speed": "fast"}}
    use = {"id": "e3", "type": "agent.mcp_tool_use", "name": "get_issue", "mcp_server_name": "sentry",
           "input": {"id": "ISSUE-1"}, "evaluated_permission": "ask", "session_thread_id": "sthr_child"}
    result = {"id": "e4", "type": "agent.mcp_tool_result", "mcp_tool_use_id": "e3", "is_error": True,
              "content": [{"type": "text", "text": "boom"}, {"type": "image", "source": {"data": "xx"}}]}
    custom = {"id": "e5", "type": "user.custom_tool_result", "custom_tool_use_id": "e9", "content": None}
    batch = extract.flatten([row(i + 1, o) for i, o in enumerate([end, use, result, custom])])
    assert batch.request_ends == [(1, "e1", False, 10, 5, 100, 7, "fast")]
    assert batch.tool_uses == [(2, "mcp", "get_issue", "sentry", '{"id":"ISSUE-1"}', len('{"id":"ISSUE-1"}'), "ask",
                                None, None, None)]
    image = dump_json({"type": "image", "source": {"data": "xx"}})
    assert batch.tool_results == [(3, "mcp", "e3", True, 4 + len(image)), (4, "custom", "e9", None, None)]
    assert batch.thread_hints == [(2, "sthr_child")]


def test_fields_of_the_wrong_type_become_null_and_never_raise() -> None:
    weird = [
        {"id": "e1", "type": "span.model_request_end", "model_usage": {"input_tokens": "12", "output_tokens": True,
                                                                      "cache_read_input_tokens": 2**70}},
        {"id": "e2", "type": "span.model_request_end", "model_usage": None, "is_error": "no"},
        {"id": "e3", "type": "agent.tool_use", "name": 42, "input": [1, 2]},
        {"id": "e4", "type": "session.status_idle", "stop_reason": "requires_action"},
        {"id": "e5", "type": "session.usage", "usage": {"list_cost": {"amount": "lots", "currency": "USD"}}},
        {"id": "e6", "type": "session.error", "error": "string"},
    ]
    batch = extract.flatten([row(i + 1, o) for i, o in enumerate(weird)])
    assert batch.request_ends == [(1, None, None, None, None, None, None, None),
                                  (2, None, None, None, None, None, None, None)]
    assert batch.tool_uses == [(3, "builtin", None, None, "[1,2]", 5, None, None, None, None)]
    assert batch.statuses == [(4, "session", "idle", None, None, None, None)]
    assert batch.usage[0][9:11] == (None, "USD")
    assert batch.errors == [(6, None, None, None, None)]


def test_unparseable_payloads_and_non_objects_keep_only_their_log_row() -> None:
    rows = [row(1, {"id": "e1", "type": "agent.tool_use"}, payload="{not json"),
            row(2, {"id": "e2", "type": "agent.tool_result"}, payload="[1, 2]")]
    batch = extract.flatten(rows)
    assert len(batch.log_events) == 2 and batch.unparseable == 2
    assert batch.tool_uses == [] and batch.tool_results == []


def test_lone_surrogates_are_escaped_so_duckdb_can_store_them() -> None:
    use = {"id": "e1", "type": "agent.tool_use", "name": "write\ud800", "input": {"text": "a\udfffb"}}
    [(_, _, name, _, input_text, *_)] = extract.flatten([row(1, use)]).tool_uses
    assert name == "write\\ud800"
    name.encode("utf-8")
    input_text.encode("utf-8")
    assert json.loads(input_text) == {"text": "a\udfffb"}


def test_statuses_from_the_type_alone_and_from_idle_stop_reasons() -> None:
    objs = [
        {"id": "e1", "type": "session.status_running"},
        {"id": "e2", "type": "session.status_idle", "stop_reason": {"type": "requires_action", "event_ids": ["t1"]}},
        {"id": "e3", "type": "session.status_idle", "stop_reason": {"type": "end_turn"}},
        {"id": "e4", "type": "session.status_rescheduled"},
        {"id": "e5", "type": "session.thread_status_idle", "session_thread_id": "sthr_c",
         "stop_reason": {"type": "requires_action", "event_ids": ["t2", 3]}},
        {"id": "e6", "type": "session.thread_status_rescheduled", "session_thread_id": "sthr_c"},
        {"id": "e7", "type": "session.status_terminated"},
    ]
    batch = extract.flatten([row(i + 1, o) for i, o in enumerate(objs)])
    assert batch.statuses == [
        (1, "session", "running", None, None, None, None),
        (2, "session", "requires_action", "requires_action", ["t1"], None, None),
        (3, "session", "idle", "end_turn", None, None, None),
        (4, "session", "rescheduling", None, None, None, None),
        (5, "thread", "requires_action", "requires_action", ["t2"], None, None),
        (6, "thread", "rescheduling", None, None, None, None),
        (7, "session", "terminated", None, None, None, None),
    ]
    assert batch.thread_hints == [(5, "sthr_c"), (6, "sthr_c")]


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2500", "USD", Decimal("25.000000")),      # the API's documented form: integer minor units
    ("50", "USD", Decimal("0.500000")),
    ("0.105944", "USD", Decimal("0.105944")),   # a decimal point cannot be minor units: major units
    ("1500", "JPY", Decimal("1500.000000")),    # no minor unit
    (2500, "usd", Decimal("25.000000")),
])
def test_money_amounts(amount: object, currency: str, expected: Decimal) -> None:
    assert money_amount({"amount": amount, "currency": currency}) == (expected, currency.upper())


@pytest.mark.parametrize("value", [None, "2500", {"amount": None}, {"amount": "NaN"}, {"amount": True},
                                   {"amount": "1e400"}])
def test_money_amounts_that_are_not(value: object) -> None:
    assert money_amount(value)[0] is None


def test_usage_event_row() -> None:
    obj = {"id": "e1", "type": "session.usage",
           "usage": {"input_tokens": 5, "output_tokens": 6, "cache_read_input_tokens": 7,
                     "cache_creation": {"ephemeral_5m_input_tokens": 8, "ephemeral_1h_input_tokens": 9},
                     "active_seconds": 1.5, "list_cost": {"amount": "123", "currency": "USD"},
                     "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 2}},
           "budget": {"type": "limit", "max_list_cost": {"amount": "5000", "currency": "USD"}}}
    [usage] = extract.flatten([row(1, obj)]).usage
    assert usage == (1, 5, 6, 7, 8, 9, 1.5, 3, 2, Decimal("1.230000"), "USD", Decimal("50.000000"), "USD")


def test_refusals_errors_permissions_and_outcomes() -> None:
    objs = [
        {"id": "e1", "type": "session.status_idle", "stop_reason": {"type": "refusal"},
         "stop_details": {"type": "refusal", "category": "cyber", "explanation": "no"}},
        {"id": "e2", "type": "session.error", "error": {"type": "credential_host_unreachable_error", "message": "m",
                                                        "credential_id": "c", "vault_id": "v",
                                                        "retry_status": {"type": "terminal"}}},
        {"id": "e3", "type": "agent.tool_use", "name": "bash", "input": {}, "evaluated_permission": "deny",
         "evaluation": {"type": "auto", "evaluated_permission": {"type": "deny", "reason_code": "rm_rf"}}},
        {"id": "e4", "type": "user.tool_result", "tool_use_id": "e3", "is_error": True, "content": None},
        {"id": "e5", "type": "span.outcome_evaluation_end", "outcome_id": "o", "iteration": 1,
         "outcome_evaluation_start_id": "e0", "result": "satisfied", "explanation": "ok",
         "usage": {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 3,
                   "cache_creation_input_tokens": 4}},
    ]
    batch = extract.flatten([row(i + 1, o) for i, o in enumerate(objs)])
    assert batch.statuses == [(1, "session", "idle", "refusal", None, "cyber", "no")]
    assert batch.errors == [(2, "credential_host_unreachable_error", "m", "terminal",
                             '{"credential_id":"c","vault_id":"v"}')]
    assert batch.tool_uses == [(3, "builtin", "bash", None, "{}", 2, "deny", "auto", "deny", "rm_rf")]
    assert batch.tool_results == [(4, "builtin", "e3", True, None)]
    assert batch.outcomes == [(5, "o", "end", 1, "satisfied", "ok", "e0", None, None, None, 1, 2, 3, 4)]


def test_snapshots_with_the_agent_roster() -> None:
    session = {"id": "sesn_a", "title": "T", "status": "idle", "updated_at": "2026-03-02T10:00:00Z",
               "agent": {"id": "agent_1", "name": "lead", "model": {"id": "claude-opus-4-7"},
                         "multiagent": {"agents": [{"id": "agent_2", "name": "helper", "model": "claude-haiku-4-5"}]}},
               "usage": {"list_cost": {"amount": "250", "currency": "USD"}}}
    thread = {"id": "sthr_c", "parent_thread_id": "sthr_p", "status": "idle",
              "agent": {"name": "helper", "model": {"id": "claude-haiku-4-5"}}}
    rows = extract.snapshots([("sesn_a", "sthr_c", json.dumps(thread)), ("sesn_a", None, json.dumps(session)),
                              ("sesn_b", None, "not json")])
    assert rows.sessions == [("sesn_a", "T", "idle", "agent_1", "lead", "claude-opus-4-7", None,
                              datetime(2026, 3, 2, 10, 0), Decimal("2.500000"), "USD")]
    assert rows.threads == [("sesn_a", "sthr_c", "sthr_p", "idle", None, "helper", "claude-haiku-4-5", None, None,
                             None, None)]
    assert rows.agents == [("sesn_a", "primary", "agent_1", "lead", "claude-opus-4-7"),
                           ("sesn_a", "callable", "agent_2", "helper", "claude-haiku-4-5")]


def test_rosters_of_both_multiagent_shapes_and_the_advisor() -> None:
    coordinator = {"id": "sesn_a", "agent": {"id": "agent_1", "name": "lead", "model": {"id": "m1"}, "multiagent": {
        "type": "coordinator", "agents": [{"type": "agent", "id": "agent_2", "name": "helper", "model": {"id": "m2"}},
                                          {"type": "advisor", "model": "m3"}]}}}
    modern = {"id": "sesn_b", "agent": {"id": "agent_1", "name": "lead", "model": {"id": "m1"}, "multiagent": {
        "type": "multiagent_20261001", "advisor": {"type": "enabled", "model": "m3"},
        "subagents": {"type": "enabled", "inline_agents": {"type": "disabled"},
                      "predefined_agents": [{"type": "agent", "id": "agent_4", "name": "scout",
                                             "model": {"id": "m4"}}]},
        "workflows": {"type": "disabled"}}}}
    thread = {"id": "sthr_x", "parent_thread_id": "sthr_p", "status": "idle", "agent": {"type": "advisor",
                                                                                        "model": "m3"}}
    rows = extract.snapshots([("sesn_a", None, json.dumps(coordinator)), ("sesn_b", None, json.dumps(modern)),
                              ("sesn_a", "sthr_x", json.dumps(thread))])
    assert rows.agents == [
        ("sesn_a", "primary", "agent_1", "lead", "m1"), ("sesn_a", "callable", "agent_2", "helper", "m2"),
        ("sesn_a", "advisor", None, "anthropic.advisor", "m3"),
        ("sesn_b", "primary", "agent_1", "lead", "m1"), ("sesn_b", "advisor", None, "anthropic.advisor", "m3"),
        ("sesn_b", "subagent", "agent_4", "scout", "m4")]
    assert rows.threads[0][5:7] == ("anthropic.advisor", "m3")
