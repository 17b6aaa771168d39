"""The projection's contract, on SQLite and on the real PostgreSQL server: each event counted once, nothing
skipped (late commits included), resumable after a crash mid-batch, rebuilds identical, retention honoured."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from recorder.analytics import queries, schema
from recorder.analytics.projection import Projection

from recorder.errors import StoreUnavailable
from recorder.store import ComplianceStore, EventStore
from tests.analytics.logs import CHILD, PRIMARY, multi_agent, simple
from tests.helpers import message, raws

TOKENS = queries.TOKENS


def dump(p: Projection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table and view of the read model, sorted (the state row aside: it holds times)."""
    names = schema.FACT_TABLES + schema.SNAPSHOT_TABLES + [
        "events", "model_requests", "tool_calls", "messages", "errors", "usage_snapshots", "status_changes",
        "status_intervals", "cost_observations", "sessions", "threads", "primary_threads",
    ]
    return {name: p.query(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in names}


def distinct_ends(script: Any) -> list[dict[str, Any]]:
    return [obj for obj, _ in script.items if obj["type"] == "span.model_request_end"]


def test_each_event_counts_once_and_threads_add_up(store: EventStore, tmp_path: Path) -> None:
    script = multi_agent()
    script.append_to(store)
    with Projection(tmp_path / "a.duckdb") as p:
        result = p.update(store)
        assert result.rows == store.head_position() > len(script.items)  # mirrored events are in several streams

        [session] = queries.usage(p, "session").records()
        ends = distinct_ends(script)
        assert session["model_requests"] == len(ends) == 4
        for name in TOKENS:
            assert session[name] == sum(e["model_usage"][name] for e in ends)
        assert session["failed_requests"] == 1
        assert session["list_cost"] == Decimal("12.34")

        threads = {r["thread_id"]: r for r in queries.usage(p, "thread").records()}
        assert set(threads) == {PRIMARY, CHILD}
        assert threads[CHILD]["input_tokens"] == 200 + 300 and threads[PRIMARY]["input_tokens"] == 1000 + 2000
        for name in (*TOKENS, "model_requests"):
            assert sum(t[name] for t in threads.values()) == session[name]
        assert threads[PRIMARY]["is_primary"] and not threads[CHILD]["is_primary"]

        # one row per distinct event; both interrupts (empty ids) kept, each once; unknown types kept
        keys = {(obj["id"], obj["processed_at"]) for obj, _ in script.items}
        assert p.query("SELECT count(*) FROM events").fetchone()[0] == len(keys) == len(script.items)
        assert p.query("SELECT count(*) FROM events WHERE type = 'user.interrupt' AND event_id = ''").fetchone()[0] == 2
        assert p.query("SELECT count(*) FROM events WHERE type = 'agent.future_widget'").fetchone()[0] == 1


def test_tool_calls_are_paired_with_their_result_or_null(store: EventStore, tmp_path: Path) -> None:
    script = multi_agent()
    script.append_to(store)
    with Projection(tmp_path / "a.duckdb") as p:
        p.update(store)
        sid = script.session
        calls = queries.tool_calls(p, sid).records()
    uses = [obj for obj, _ in script.items if obj["type"] == "agent.tool_use"]
    results = {obj["tool_use_id"]: obj for obj, _ in script.items if obj["type"] == "agent.tool_result"}
    assert [c["id"] for c in calls] == [u["id"] for u in uses]
    for call, use in zip(calls, uses, strict=True):
        result = results.get(use["id"])
        assert call["result_id"] == (result["id"] if result else None)
        assert call["is_error"] == (result["is_error"] if result else None)
        assert (call["duration_ms"] is None) == (result is None)
    assert [c["thread_id"] for c in calls] == [PRIMARY, CHILD, PRIMARY]


def test_projection_never_skips_an_event_that_commits_late(store: EventStore, backend_url: str,
                                                           tmp_path: Path) -> None:
    """Hold one append transaction open while a second writer waits and the projection tails the log; the
    projection must end with every event exactly once and never move past a position it has not seen."""
    store.append(raws([message(i) for i in range(5)], session="sesn_first"))
    holding, release, stop = threading.Event(), threading.Event(), threading.Event()
    problems: list[str] = []
    seen_positions: list[int] = []

    def hold(_conn: object) -> None:
        holding.set()
        assert release.wait(20)

    def slow_writer() -> None:
        with EventStore(backend_url) as s:
            s.append(raws([message(i) for i in range(100, 150)], session="sesn_slow"), before_commit=hold)

    def fast_writer() -> None:
        with EventStore(backend_url) as s:
            s.append(raws([message(i) for i in range(200, 210)], session="sesn_fast"))

    def tailer() -> None:
        with EventStore(backend_url) as s, Projection(tmp_path / "tail.duckdb") as p:
            while True:
                done = stop.is_set()
                p.update(s, batch_rows=7, snapshots=False)
                positions = [r[0] for r in p.query("SELECT position FROM log_events ORDER BY 1").fetchall()]
                if positions != list(range(1, len(positions) + 1)):
                    problems.append(f"gap in projected positions: {positions[:3]}...{positions[-3:]}")
                if p.state().position != len(positions):
                    problems.append(f"checkpoint {p.state().position} != {len(positions)} rows")
                seen_positions[:] = positions
                if done:
                    return
                stop.wait(0.02)

    slow = threading.Thread(target=slow_writer)
    tail = threading.Thread(target=tailer)
    slow.start()
    assert holding.wait(10)
    tail.start()
    fast = threading.Thread(target=fast_writer)
    fast.start()
    fast.join(1.0)
    assert fast.is_alive(), "a second append committed while an earlier one was still open"
    assert seen_positions in ([], list(range(1, 6)))
    release.set()
    slow.join(20)
    fast.join(20)
    stop.set()
    tail.join(30)
    assert problems == []
    assert seen_positions == list(range(1, 66))
    with Projection(tmp_path / "tail.duckdb") as p:
        counts = dict(p.query("SELECT session_id, count(*) FROM events GROUP BY 1").fetchall())
    assert counts == {"sesn_first": 5, "sesn_slow": 50, "sesn_fast": 10}


def test_rebuild_gives_identical_tables(store: EventStore, tmp_path: Path) -> None:
    first, second = multi_agent("sesn_one"), simple("sesn_two", 6, start=50_000)
    first.append_to(store)
    with Projection(tmp_path / "inc.duckdb") as p:
        p.update(store, batch_rows=5)
        second.append_to(store)
        store.record_snapshot("sesn_one", {"id": "sesn_one", "status": "idle",
                                           "agent": {"name": "lead", "model": {"id": "claude-opus-4-7"}}})
        p.update(store, batch_rows=3)
        incremental = dump(p)
        result = p.rebuild(store)
        assert result.rows == store.head_position()
        assert dump(p) == incremental
    with Projection(tmp_path / "fresh.duckdb") as fresh:
        fresh.update(store, batch_rows=10_000)
        assert dump(fresh) == incremental
    assert len(incremental["log_events"]) == store.head_position()


class Crash(Exception):
    pass


def test_an_interrupted_batch_resumes_without_double_counting(store: EventStore, tmp_path: Path) -> None:
    multi_agent().append_to(store)
    simple("sesn_two", 5).append_to(store)
    head = store.head_position()
    calls = []

    def crash_on_third_batch(last: int) -> None:
        calls.append(last)
        if len(calls) == 3:
            raise Crash

    with Projection(tmp_path / "a.duckdb") as p:
        with pytest.raises(Crash):
            p.update(store, batch_rows=10, fault=crash_on_third_batch)
        assert p.state().position == calls[1] == 20  # the first two batches are committed, the third is not
        assert p.query("SELECT count(*) FROM log_events").fetchone()[0] == 20
        p.update(store, batch_rows=10)
        resumed = dump(p)
    with Projection(tmp_path / "clean.duckdb") as clean:
        clean.update(store)
        assert dump(clean) == resumed
    assert len(resumed["log_events"]) == head


_KILL_SCRIPT = """
import os, sys
from recorder.analytics.projection import Projection
from recorder.store import EventStore
batches = []
def die(last):
    batches.append(last)
    if len(batches) == 3:
        os._exit(9)   # no cleanup, no rollback: the process is gone mid-transaction
with EventStore(sys.argv[1]) as store, Projection(sys.argv[2]) as p:
    p.update(store, batch_rows=4, fault=die)
"""


def test_a_killed_projection_resumes_without_double_counting(sqlite_url: str, tmp_path: Path) -> None:
    with EventStore(sqlite_url) as store:
        multi_agent().append_to(store)
        path = tmp_path / "killed.duckdb"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        done = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, sqlite_url, str(path)], env=env, timeout=120,
                              capture_output=True, text=True)
        assert done.returncode == 9, done.stderr
        with Projection(path) as p:
            assert p.state().position == 8
            p.update(store)
            resumed = dump(p)
        with Projection(tmp_path / "clean.duckdb") as clean:
            clean.update(store)
            assert dump(clean) == resumed


def test_a_different_log_is_recognized_and_the_model_rebuilt(sqlite_url: str, tmp_path: Path,
                                                              sqlite_template: Path) -> None:
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    (tmp_path / "other.db").write_bytes(sqlite_template.read_bytes())
    path = tmp_path / "shared.duckdb"
    with EventStore(sqlite_url) as one, EventStore(other_url) as two:
        simple("sesn_one", 4).append_to(one)
        simple("sesn_two", 6).append_to(two)
        with Projection(path) as p:
            assert p.update(one).rebuilt is None
            result = p.update(two)
            assert result.rebuilt and "rebuilt" in result.rebuilt
            assert [r["session_id"] for r in queries.usage(p, "session").records()] == ["sesn_two"]
            assert result.rows == two.head_position()


def test_pruned_sessions_leave_the_read_model(store: EventStore, tmp_path: Path) -> None:
    multi_agent("sesn_old").append_to(store)
    kept = simple("sesn_new", 3)
    kept.append_to(store)
    with Projection(tmp_path / "a.duckdb") as p:
        p.update(store)
        compliance = ComplianceStore(store)
        removed = compliance.prune_session("sesn_old", cutoff=datetime(2100, 1, 1), actor="test", reason="test",
                                           criteria={})
        assert removed is not None
        p.update(store)
        assert {r[0] for r in p.query("SELECT DISTINCT session_id FROM sessions").fetchall()} == {"sesn_new"}
        left = p.query("SELECT count(*) FROM log_events").fetchone()[0]
        assert left == p.state().log_rows == sum(len(kept.stream(t)) for t in kept.streams())
        incremental = dump(p)
        p.rebuild(store)
        assert dump(p) == incremental


def test_a_file_from_another_schema_is_rebuilt(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    with EventStore(sqlite_url) as store:
        simple("sesn_one", 2).append_to(store)
        with Projection(path) as p:
            p.update(store)
            p.query("UPDATE projection_meta SET value = 'older' WHERE key = 'tables'")
        with Projection(path) as p:
            assert p.schema_note is not None
            assert p.query("SELECT count(*) FROM log_events").fetchone()[0] == 0
            result = p.update(store)
            assert result.rebuilt and result.rows == store.head_position()


def test_snapshots_give_models_agents_and_the_cost_when_no_usage_event(store: EventStore, tmp_path: Path) -> None:
    script = multi_agent()
    script.items = [(obj, s) for obj, s in script.items if obj["type"] != "session.usage"]
    script.append_to(store)
    store.record_snapshot(script.session, {
        "id": script.session, "status": "idle", "updated_at": "2026-11-01T13:00:00Z",
        "agent": {"id": "agent_lead", "name": "lead", "model": {"id": "claude-opus-4-7"},
                  "multiagent": {"agents": [{"name": "helper", "model": {"id": "claude-haiku-4-5"}}]}},
        "usage": {"list_cost": {"amount": "500", "currency": "USD"}}})
    with Projection(tmp_path / "a.duckdb") as p:
        p.update(store)
        models = {r["model"]: r for r in queries.usage(p, "model").records()}
        agents = queries.usage(p, "agent").records()
        [session] = queries.usage(p, "session").records()
    # the child thread has no snapshot: its model comes from the session agent's roster, by its agent name
    assert set(models) == {"claude-opus-4-7", "claude-haiku-4-5"}
    assert models["claude-haiku-4-5"]["input_tokens"] == 500
    assert [(a["agent_name"], a["agent_id"], a["model_requests"]) for a in agents] == [("lead", "agent_lead", 4)]
    assert session["list_cost"] == Decimal(5) and session["agent_name"] == "lead"
    # no per-thread figures: the whole session cost is on the primary thread (so on the primary's model)
    assert models["claude-opus-4-7"]["list_cost"] == Decimal(5)
    assert models["claude-haiku-4-5"]["list_cost"] is None


def test_worker_processes_give_the_same_tables(sqlite_url: str, tmp_path: Path) -> None:
    with EventStore(sqlite_url) as store:
        multi_agent("sesn_one").append_to(store)
        simple("sesn_two", 8, start=50_000).append_to(store)
        with Projection(tmp_path / "parallel.duckdb") as p:
            result = p.update(store, workers=2, parallel_min_rows=0, batch_rows=9)
            assert result.rows == store.head_position() and result.batches > 4
            parallel_tables = dump(p)
        with Projection(tmp_path / "sequential.duckdb") as p:
            p.update(store, workers=0)
            assert dump(p) == parallel_tables


def test_a_file_busy_in_another_process_is_waited_for_then_reported(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    Projection(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " time.sleep(60)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=f"in use by process {holder.pid}"):
            Projection(path, wait=0.5)
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
    with Projection(path, wait=5) as p:  # free again
        assert p.state().position == 0
