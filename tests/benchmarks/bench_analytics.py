"""Project a 1,000,000-event SQLite log into the DuckDB read model, then the usage report by day next to the same
aggregate computed in SQL on the SQLite log, in the same run.

The log is shaped like the recorder's: 1,000 sessions of 500 events (``realistic_events``: model request spans
with token counts, messages, tool calls with results of varied size, thinking, status; each session ends with a
``session.usage``), spread over 90 days, each recorded from the session stream AND its primary thread's stream,
which mirror each other (so every event is in the log twice, and both reports must count it once): 1,000,000
log rows. Sessions and primary threads have snapshots (agent, model). Building it (the store's append in batches
of 10,000) is not timed. Targets: projection >= 50,000 events/s; the DuckDB report >= 10x faster than the SQLite
query, and under 1 s. The two reports must agree on every day.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from recorder.analytics import parallel, queries
from recorder.analytics.projection import Projection

from recorder.events import raw_event
from recorder.store import EventStore, migrate
from tests.benchmarks.common import realistic_events, report

ROWS = 1_000_000
SESSIONS = 1_000
PER_SESSION = ROWS // SESSIONS // 2  # distinct events per session, each in two streams
DAYS = 90
BATCH = 10_000
ROUNDS = 3
START = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = "claude-sonnet-4-6"

# The same aggregate as `recorder usage --by day`, straight on the log: distinct events (by session and key, as the
# read model counts them); per UTC day the span.model_request_end count and token sums, and the list cost accrued
# (each session.usage's cumulative figure minus the session's previous one, counted on the day it was reported).
SQLITE_BY_DAY = """
WITH ends AS (
    SELECT min(processed_at) AS processed_at, min(payload) AS payload FROM events
    WHERE type = 'span.model_request_end' GROUP BY session_id, event_key
), tokens AS (
    SELECT date(processed_at) AS day, count(*) AS model_requests,
           sum(json_extract(payload, '$.model_usage.input_tokens')) AS input_tokens,
           sum(json_extract(payload, '$.model_usage.output_tokens')) AS output_tokens,
           sum(json_extract(payload, '$.model_usage.cache_read_input_tokens')) AS cache_read_input_tokens,
           sum(json_extract(payload, '$.model_usage.cache_creation_input_tokens')) AS cache_creation_input_tokens
    FROM ends GROUP BY day
), usage AS (
    SELECT session_id, min(processed_at) AS processed_at,
           CAST(json_extract(min(payload), '$.usage.list_cost.amount') AS INTEGER) AS cents
    FROM events WHERE type = 'session.usage' GROUP BY session_id, event_key
), cost AS (
    SELECT day, sum(delta) AS cents FROM (
        SELECT date(processed_at) AS day,
               cents - coalesce(lag(cents) OVER (PARTITION BY session_id ORDER BY processed_at), 0) AS delta
        FROM usage)
    GROUP BY day
)
SELECT tokens.*, cost.cents FROM tokens LEFT JOIN cost USING (day) ORDER BY day
"""


def build_log(url: str) -> float:
    """Append the log (not timed in the results); returns the seconds it took."""
    started = time.perf_counter()
    migrate.upgrade(url)
    step = timedelta(days=DAYS) / SESSIONS
    with EventStore(url) as store:
        for number in range(SESSIONS):
            session = f"sesn_bench_{number:05d}"
            primary = f"sthr_bench_{number:05d}"
            opened = START + number * step
            objs = list(realistic_events(PER_SESSION - 1, seed=number, session=session))
            for offset, obj in enumerate(objs):
                obj["processed_at"] = _stamp(opened + timedelta(milliseconds=37 * offset))
            objs.append({"id": f"sevt_{session}_usage", "type": "session.usage",
                         "processed_at": _stamp(opened + timedelta(milliseconds=37 * PER_SESSION)),
                         "usage": {"list_cost": {"amount": str(100 + number % 900), "currency": "USD"}}})
            session_stream = [raw_event(obj, session) for obj in objs]
            events = session_stream + [dataclasses.replace(e, thread_id=primary) for e in session_stream]
            for start in range(0, len(events), BATCH):
                store.append(events[start:start + BATCH])
            agent = {"id": "agent_bench", "name": "bench-agent", "model": {"id": MODEL}}
            store.record_snapshot(session, {"id": session, "status": "idle", "agent": agent})
            store.record_snapshot(session, {"id": primary, "parent_thread_id": None, "agent": agent},
                                  thread_id=primary)
        assert store.head_position() == ROWS
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children (the projection's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def best_of(rounds: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Median time of ``rounds`` runs, and the last result."""
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'log.db'}"
        print(f"building a {ROWS:,}-event SQLite log ({SESSIONS:,} sessions over {DAYS} days, each event in the "
              "session stream and the primary thread's)...", flush=True)
        build_seconds = build_log(url)
        print(f"  built in {build_seconds:.1f} s (not part of the results)", flush=True)

        with EventStore(url) as store, Projection(Path(tmp) / "bench.duckdb") as projection:
            load = os.getloadavg()[0]
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            result = projection.update(store, workers=None)  # as `recorder analytics update` does
            projection_seconds = time.perf_counter() - started
            projection_cpu = _cpu_seconds() - cpu_before
            assert result.rows == ROWS, result
            noop_seconds, _ = best_of(ROUNDS, lambda: projection.update(store))

            duck_seconds, usage = best_of(ROUNDS, lambda: queries.usage(projection, "day"))

            def sqlite_query() -> list[Any]:
                with store.engine.connect() as conn:
                    return conn.exec_driver_sql(SQLITE_BY_DAY).fetchall()

            sqlite_seconds, sqlite_rows = best_of(ROUNDS, sqlite_query)

    duck_rows = [(r["day"].isoformat(), r["model_requests"], r["input_tokens"], r["output_tokens"],
                  r["cache_read_input_tokens"], r["cache_creation_input_tokens"], r["list_cost"])
                 for r in usage.records()]
    sql_rows = [(*row[:-1], None if row[-1] is None else Decimal(row[-1]) / 100) for row in sqlite_rows]
    agree = duck_rows == sql_rows
    rate = ROWS / projection_seconds
    speedup = sqlite_seconds / duck_seconds
    results = {
        "events": ROWS,
        "workers": parallel.default_workers(),
        "distinct_events": ROWS // 2,
        "sessions": SESSIONS,
        "days": len(duck_rows),
        "projection_s": round(projection_seconds, 3),
        "projection_events_per_s": round(rate),
        "projection_cpu_s": round(projection_cpu, 2),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": round(load, 2),
        "noop_update_s": round(noop_seconds, 4),
        "duckdb_usage_by_day_s": round(duck_seconds, 4),
        "sqlite_same_aggregate_s": round(sqlite_seconds, 4),
        "duckdb_speedup": round(speedup, 1),
        "reports_agree": agree,
        "targets": {"projection_events_per_s": 50_000, "duckdb_speedup": 10, "duckdb_usage_by_day_s": 1.0},
        "targets_met": {
            "projection_events_per_s": rate >= 50_000,
            "duckdb_speedup": speedup >= 10,
            "duckdb_usage_by_day_s": duck_seconds < 1.0,
        },
    }
    print(f"project {ROWS:,} events from SQLite into DuckDB  {projection_seconds:7.2f} s  {rate:>10,.0f} events/s"
          f"  (target >= 50,000)")
    print(f"  CPU time, this process and its {parallel.default_workers()} worker(s)      {projection_cpu:7.2f} s  "
          f"(load average {load:.1f} on {os.cpu_count()} CPUs at the start)")
    print(f"  catching up when nothing is new                {noop_seconds:7.3f} s")
    print(f"usage by day ({len(duck_rows)} days), median of {ROUNDS}:")
    print(f"  DuckDB read model (`recorder usage --by day`)  {duck_seconds:7.3f} s  (target < 1 s)")
    print(f"  same aggregate in SQL on the SQLite log        {sqlite_seconds:7.3f} s  ->  DuckDB {speedup:,.1f}x "
          f"faster (target >= 10x)")
    print(f"  the two agree on every day: {agree}")
    report("analytics", results)
    if not agree:
        raise SystemExit("the DuckDB report and the SQLite aggregate disagree")


if __name__ == "__main__":
    main()
