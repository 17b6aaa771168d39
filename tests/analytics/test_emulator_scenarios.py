"""Acceptance: every standard emulator scenario, recorded from every stream, projected and reported, agrees with
sums computed independently from the raw events (tests/analytics/support.py: plain Python, no SQL)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from recorder.analytics import queries
from recorder.analytics.projection import Projection

from recorder.emulator import Emulator
from recorder.events import parse_time
from recorder.money import money_amount
from recorder.store import EventStore
from tests.analytics.support import TOKENS, emulator_streams, expected, record_emulator


@pytest.fixture(scope="module")
def emu() -> Any:
    emulator = Emulator(seed=11)
    emulator.add_standard_sessions(long_events=600)
    yield emulator
    emulator.close()


def _list_cost(emu: Any, sid: str) -> Decimal | None:
    """The latest cumulative list cost: the session object's unless a session.usage event is later."""
    session = emu.session(sid)
    best = (parse_time(session.get("updated_at")), money_amount(session["usage"].get("list_cost"))[0])
    for obj in emu.ground_truth(sid):
        if obj["type"] == "session.usage":
            at = parse_time(obj["processed_at"])
            if best[0] is None or at > best[0]:
                best = (at, money_amount(obj["usage"]["list_cost"])[0])
    return best[1]


def test_every_scenario_agrees_with_its_raw_events(emu: Any, store: EventStore, tmp_path: Path) -> None:
    sids = emu.session_ids()
    assert len(sids) >= 13
    record_emulator(store, emu, sids)
    with Projection(tmp_path / "a.duckdb") as p:
        p.update(store)
        sessions = {r["session_id"]: r for r in queries.usage(p, "session").records()}
        threads = queries.usage(p, "thread").records()
        calls = {(r["session_id"], r["id"]): r for r in queries.tool_calls(p).records()}
        days = queries.usage(p, "day").records()
        agents = queries.usage(p, "agent").records()
        unknown = p.query("SELECT count(*) FROM events WHERE type = 'agent.future_widget'").fetchone()[0]

    assert set(sessions) == set(sids)
    assert unknown == 1
    checked_calls = 0
    for sid in sids:
        want = expected(emulator_streams(emu, sid))
        got = sessions[sid]
        assert got["model_requests"] == want.model_requests, emu.scenario(sid)
        for name in TOKENS:
            assert got[name] == want.tokens[name], (emu.scenario(sid), name)
        assert {k: got[k] for k in want.grader} == want.grader, emu.scenario(sid)
        assert {k: got[k] for k in want.reported} == want.reported, emu.scenario(sid)
        assert got["list_cost"] == _list_cost(emu, sid), emu.scenario(sid)

        # per-thread figures are the thread's own and add up to the session's
        mine = {r["thread_id"]: r for r in threads if r["session_id"] == sid}
        assert {t for t, v in want.per_thread.items()} <= set(mine)
        for thread, tokens in want.per_thread.items():
            for name in TOKENS:
                assert mine[thread][name] == tokens[name], (emu.scenario(sid), thread, name)
        for name in (*TOKENS, "model_requests", *want.grader, *want.reported):
            assert sum(r[name] for r in mine.values()) == got[name], (emu.scenario(sid), name)
        assert sum((r["list_cost"] or 0) for r in mine.values()) == got["list_cost"]

        # every tool call paired with its result, or none when no result was recorded
        session_calls = {use_id: call for (s, use_id), call in calls.items() if s == sid}
        assert set(session_calls) == set(want.tool_calls), emu.scenario(sid)
        for use_id, call in want.tool_calls.items():
            row = session_calls[use_id]
            assert (row["name"], row["kind"], row["result_id"], row["is_error"]) == (
                call["name"], call["kind"], call["result_id"], call["is_error"]), (emu.scenario(sid), use_id)
            checked_calls += 1
    assert checked_calls > 100
    # every grouping sums to the same totals, the new figures included
    integer_fields = [n for n in (*TOKENS, "grader_input_tokens", "grader_output_tokens", "web_search_requests",
                                  "web_fetch_requests", "cache_creation_1h_input_tokens")]
    for rows in (days, agents, threads):
        for name in integer_fields:
            assert sum(r[name] for r in rows) == sum(r[name] for r in sessions.values()), name
    assert sum(r["cache_creation_1h_input_tokens"] for r in sessions.values()) > 0
    kinds = {row["kind"] for row in calls.values()}
    assert kinds == {"builtin", "mcp", "custom"}


def test_session_stream_only_still_counts_every_primary_request_once(emu: Any, sqlite_url: str,
                                                                     tmp_path: Path) -> None:
    """A recorder that only recorded session streams: child-thread requests are not there, the rest is."""
    with EventStore(sqlite_url) as store:
        record_emulator(store, emu, emu.session_ids(), threads=False, snapshots=False)
        with Projection(tmp_path / "a.duckdb") as p:
            p.update(store)
            sessions = {r["session_id"]: r for r in queries.usage(p, "session").records()}
    for sid in emu.session_ids():
        want = expected({None: emu.ground_truth(sid)})
        assert sessions[sid]["model_requests"] == want.model_requests
        assert sessions[sid]["input_tokens"] == want.tokens["input_tokens"]
