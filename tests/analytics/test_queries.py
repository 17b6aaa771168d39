"""The reports' semantics: time windows, cost over time and per thread, price estimates, latency, status time and
tool waits, on small logs whose right answers are known by construction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from recorder.analytics import prices, queries
from recorder.analytics.projection import Projection
from recorder.analytics.window import Window

from recorder.errors import ConfigError, NotFound
from recorder.store import EventStore
from tests.analytics.logs import CHILD, PRIMARY, Script

DAY = 86_400_000  # ms; tests.helpers.stamp(0) is 2026-11-01 12:00:00Z


def two_day_session() -> Script:
    s = Script("sesn_days")
    s.emit("session.status_running")
    s.request(100)             # day 1 (Nov 1)
    s.usage("100")             # $1.00 so far
    s.clock += DAY
    s.request(200)             # day 2 (Nov 2)
    s.usage("250")             # $2.50 so far
    return s


@pytest.fixture
def projected(store: EventStore, tmp_path: Path) -> Iterator[tuple[EventStore, Projection]]:
    with Projection(tmp_path / "a.duckdb") as p:
        yield store, p


def test_cost_by_day_is_the_increase_reported_that_day(projected: tuple[EventStore, Projection]) -> None:
    store, p = projected
    two_day_session().append_to(store)
    p.update(store)
    days = {r["day"]: r for r in queries.usage(p, "day").records()}
    assert days[date(2026, 11, 1)]["list_cost"] == Decimal("1.00")
    assert days[date(2026, 11, 2)]["list_cost"] == Decimal("1.50")
    assert days[date(2026, 11, 1)]["input_tokens"] == 100 and days[date(2026, 11, 2)]["input_tokens"] == 200

    since_day_two = Window(since=datetime(2026, 11, 2))
    [session] = queries.usage(p, "session", since_day_two).records()
    assert session["list_cost"] == Decimal("1.50")  # accrued in the window, not the cumulative figure
    assert session["model_requests"] == 1 and session["input_tokens"] == 200
    [early] = queries.usage(p, "session", Window(until=datetime(2026, 11, 2))).records()
    assert early["list_cost"] == Decimal("1.00") and early["input_tokens"] == 100
    assert queries.usage(p, "session", Window(since=datetime(2027, 1, 1))).rows == []


def test_a_later_snapshot_is_the_latest_figure(projected: tuple[EventStore, Projection]) -> None:
    store, p = projected
    two_day_session().append_to(store)
    store.record_snapshot("sesn_days", {"id": "sesn_days", "status": "idle", "updated_at": "2026-11-03T08:00:00Z",
                                        "usage": {"list_cost": {"amount": "300", "currency": "USD"}}})
    p.update(store)
    [session] = queries.usage(p, "session").records()
    assert session["list_cost"] == Decimal("3.00")
    days = {r["day"]: r["list_cost"] for r in queries.usage(p, "day").records()}
    assert days == {date(2026, 11, 1): Decimal("1.00"), date(2026, 11, 2): Decimal("1.50"),
                    date(2026, 11, 3): Decimal("0.50")}
    assert sum(days.values()) == session["list_cost"]


def test_thread_costs_add_up_to_the_session(projected: tuple[EventStore, Projection]) -> None:
    store, p = projected
    s = Script("sesn_t")
    s.request(100)
    s.emit("session.thread_created", {"session_thread_id": CHILD, "agent_name": "helper"}, thread=CHILD)
    s.request(50, thread=CHILD)
    s.usage("250")
    s.append_to(store)
    store.record_snapshot("sesn_t", {"id": CHILD, "parent_thread_id": PRIMARY,
                                     "agent": {"name": "helper", "model": {"id": "claude-haiku-4-5"}},
                                     "usage": {"list_cost": {"amount": "40", "currency": "USD"}}}, thread_id=CHILD)
    store.record_snapshot("sesn_t", {"id": PRIMARY, "parent_thread_id": None,
                                     "agent": {"name": "lead", "model": {"id": "claude-opus-4-7"}}}, thread_id=PRIMARY)
    p.update(store)
    threads = {r["thread_id"]: r for r in queries.usage(p, "thread").records()}
    assert threads[CHILD]["list_cost"] == Decimal("0.40")
    assert threads[PRIMARY]["list_cost"] == Decimal("2.10")  # the rest of the session's figure
    models = {r["model"]: r["list_cost"] for r in queries.usage(p, "model").records()}
    assert models == {"claude-haiku-4-5": Decimal("0.40"), "claude-opus-4-7": Decimal("2.10")}
    windowed = queries.usage(p, "model", Window(since=datetime(2026, 1, 1)))
    assert all(r["list_cost"] is None for r in windowed.records())
    assert any("left empty" in note for note in windowed.notes)


def test_estimates_come_only_from_the_price_table(projected: tuple[EventStore, Projection]) -> None:
    store, p = projected
    two_day_session().append_to(store)
    store.record_snapshot("sesn_days", {"id": "sesn_days", "agent": {"name": "a", "model": {"id": "claude-x-1"}}})
    p.update(store)
    plain = queries.usage(p, "session").records()[0]
    assert plain["estimated_cost"] is None and plain["cost_drift"] is None
    table = prices.parse("model,input,output,cache_read,cache_creation\nclaude-x-*,3,15,0.3,3.75\n", "p.csv")
    [row] = queries.usage(p, "session", prices=table).records()
    tokens = {"input": 300, "output": 150, "cache_read": 900, "cache_creation": 30}  # 100 + 200 and derived
    expected = (tokens["input"] * 3 + tokens["output"] * 15 + tokens["cache_read"] * Decimal("0.3")
                + tokens["cache_creation"] * Decimal("3.75")) / Decimal(1_000_000)
    assert row["estimated_cost"] == expected.quantize(Decimal("0.000001"))
    assert row["cost_drift"] == row["estimated_cost"] - Decimal("2.50")
    assert row["cost_drift_ratio"] == pytest.approx(float(row["cost_drift"] / Decimal("2.50")))
    missing = queries.usage(p, "session", prices=prices.parse('{"models": {"other": {"input": 1, "output": 1, '
                                                              '"cache_read": 1, "cache_creation": 1}}}'))
    assert missing.records()[0]["estimated_cost"] is None
    assert any("no price for claude-x-1" in note for note in missing.notes)


def test_latency_percentiles_and_time_per_status(projected: tuple[EventStore, Projection]) -> None:
    store, p = projected
    s = Script("sesn_lat")
    s.emit("session.status_running", step=0)
    latencies = [100, 200, 300, 400, 1000]
    for ms in latencies:
        s.request(10, latency=ms)
    s.emit("session.status_idle", {"stop_reason": {"type": "requires_action", "event_ids": ["x"]}}, step=1000)
    s.emit("session.status_running", step=5000)
    s.emit("session.status_rescheduled", step=2000)
    s.emit("session.status_running", step=3000)
    s.emit("session.status_idle", {"stop_reason": {"type": "end_turn"}}, step=4000)
    s.emit("agent.message", {"content": []}, step=6000)
    s.append_to(store)
    p.update(store)
    [row] = queries.latency(p, "session").records()
    assert row["model_requests"] == 5 and row["max_ms"] == 1000
    assert row["p50_ms"] == 300
    assert row["p95_ms"] == pytest.approx(400 + 0.8 * 600)  # linear interpolation between the 4th and 5th
    # running: from the first status to the requires_action idle, then 2 s, then 4 s
    assert row["running_s"] == pytest.approx((5 * 1000 + sum(latencies) + 1000) / 1000 + 2 + 4)
    assert row["requires_action_s"] == pytest.approx(5.0)
    assert row["rescheduling_s"] == pytest.approx(3.0)
    assert row["idle_s"] == pytest.approx(6.0)  # the last status lasts until the session's last event


def test_tool_waits_and_confirmations(projected: tuple[EventStore, Projection]) -> None:
    store, p = projected
    s = Script("sesn_tools")
    custom = s.emit("agent.custom_tool_use", {"name": "lookup", "input": {"q": 1}})
    s.emit("session.status_idle", {"stop_reason": {"type": "requires_action", "event_ids": [custom["id"]]}},
           step=500)
    s.emit("user.custom_tool_result", {"custom_tool_use_id": custom["id"], "is_error": False,
                                       "content": [{"type": "text", "text": "42"}]}, step=7000)
    ask = s.emit("agent.tool_use", {"name": "bash", "input": {"command": "rm -rf /"}, "evaluated_permission": "ask"})
    s.emit("session.status_idle", {"stop_reason": {"type": "requires_action", "event_ids": [ask["id"]]}}, step=100)
    s.emit("user.tool_confirmation", {"tool_use_id": ask["id"], "result": "deny", "deny_message": "no"}, step=3000)
    s.emit("agent.tool_result", {"tool_use_id": ask["id"], "is_error": True, "content": []}, step=10)
    s.append_to(store)
    p.update(store)
    calls = {c["name"]: c for c in queries.tool_calls(p, "sesn_tools").records()}
    assert calls["lookup"]["kind"] == "custom" and calls["lookup"]["wait_ms"] == 7000
    assert calls["lookup"]["duration_ms"] == 7500 and calls["lookup"]["result_chars"] == 2
    assert calls["bash"]["confirmation"] == "deny" and calls["bash"]["wait_ms"] == 3000
    assert calls["bash"]["is_error"] is True
    stats = {r["name"]: r for r in queries.tool_stats(p).records()}
    assert stats["bash"]["denied_by_user"] == 1 and stats["bash"]["denied_by_policy"] == 0
    assert stats["bash"]["error_rate"] == 1.0
    assert stats["lookup"]["p50_wait_ms"] == 7000 and stats["lookup"]["errors"] == 0
    with pytest.raises(NotFound):
        queries.tool_calls(p, "sesn_missing")


def test_unknown_grouping_is_a_usage_error(projected: tuple[EventStore, Projection]) -> None:
    _, p = projected
    with pytest.raises(ConfigError):
        queries.usage(p, "planet")


def test_estimates_price_fast_requests_one_hour_cache_writes_web_searches_and_the_grader(
        projected: tuple[EventStore, Projection]) -> None:
    """The README's worked example: every part of the estimate, computed by hand."""
    store, p = projected
    s = Script("sesn_est")
    s.emit("session.status_running")
    s.request(1000)  # 1000 in, 500 out, 3000 cache read, 100 cache write (standard)
    start = s.emit("span.model_request_start")
    s.emit("span.model_request_end", {"model_request_start_id": start["id"], "is_error": False, "model_usage": {
        "input_tokens": 2000, "output_tokens": 1000, "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 4000, "speed": "fast"}})
    evaluation = s.emit("span.outcome_evaluation_start", {"outcome_id": "outc_1", "iteration": 0})
    s.emit("span.outcome_evaluation_end", {"outcome_evaluation_start_id": evaluation["id"], "outcome_id": "outc_1",
                                           "iteration": 0, "result": "satisfied", "explanation": "ok", "usage": {
                                               "input_tokens": 500, "output_tokens": 100,
                                               "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}})
    s.emit("session.usage", {"usage": {
        "input_tokens": 3000, "output_tokens": 1500, "cache_read_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 4000},
        "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 1}, "active_seconds": 42.5,
        "list_cost": {"amount": "12", "currency": "USD"}}})
    s.append_to(store)
    store.record_snapshot("sesn_est", {"id": "sesn_est", "agent": {"name": "a", "model": {"id": "claude-x-1"}}})
    p.update(store)
    table = prices.parse(json.dumps({"currency": "USD", "web_search": 10, "models": {"claude-x-*": {
        "input": 3, "output": 15, "cache_read": "0.3", "cache_creation": "3.75", "cache_creation_1h": 6,
        "fast": {"input": 6, "output": 6, "cache_read": 1, "cache_creation": 6}}}}), "p.json")
    [row] = queries.usage(p, "session", prices=table).records()
    million = Decimal(1_000_000)
    standard = (1000 * 3 + 500 * 15 + 3000 * Decimal("0.3") + 100 * Decimal("3.75")) / million
    fast = (2000 * 3 * 6 + 1000 * 15 * 6 + 4000 * Decimal("3.75") * 6) / million
    one_hour = 4000 * (6 - Decimal("3.75")) / million  # the 1-hour writes' extra over the 5-minute rate
    searches = 3 * Decimal(10) / 1000
    grader = (500 * 3 + 100 * 15) / million
    assert row["estimated_cost"] == (standard + fast + one_hour + searches + grader).quantize(Decimal("0.000001"))
    assert row["estimated_cost"] == Decimal("0.269775")
    assert (row["web_search_requests"], row["web_fetch_requests"], row["active_seconds"]) == (3, 1, 42.5)
    assert (row["cache_creation_5m_input_tokens"], row["cache_creation_1h_input_tokens"]) == (100, 4000)
    assert (row["grader_input_tokens"], row["grader_output_tokens"]) == (500, 100)
    assert row["list_cost"] == Decimal("0.12")
    report = queries.usage(p, "session")
    shown = {c.name for c in report.columns if c.in_table}
    assert {"web_search_requests", "grader_input_tokens", "cache_creation_1h_input_tokens"} <= shown
    assert "grader_cache_read_input_tokens" not in shown  # zero: not in the table, still in JSON


def test_price_files_take_the_optional_fields() -> None:
    table = prices.parse("model,input,output,cache_read,cache_creation,cache_creation_1h,fast,web_search\n"
                         "claude-*,3,15,0.3,3.75,6,6,10\nclaude-haiku-*,1,5,0.1,1.25,,,10\n", "p.csv")
    sonnet, haiku = table.lookup("claude-sonnet-4-6"), table.lookup("claude-haiku-4-5")
    assert sonnet is not None and haiku is not None
    assert (sonnet.one_hour, sonnet.fast, table.web_search) == (6, (6, 6, 6, 6), 10)
    assert (haiku.one_hour, haiku.fast) == (Decimal("1.25"), (1, 1, 1, 1))
    with pytest.raises(ConfigError, match="several web_search prices"):
        prices.parse("model,input,output,cache_read,cache_creation,web_search\na,1,1,1,1,10\nb,1,1,1,1,12\n")
    with pytest.raises(ConfigError, match="fast"):
        prices.parse('{"models": {"a": {"input": 1, "output": 1, "cache_read": 1, "cache_creation": 1, '
                     '"fast": {"speedy": 2}}}}')
