"""PostgreSQL with K = 1, 2, 4, 8 writer processes, next to plain inserts of the same rows by the same processes.

Each writer appends small batches (3 events and a checkpoint, fenced by the session's lease: what a live recorder
writes) to its own sessions for a fixed time. The baseline is the same rows INSERTed into a plain copy of the
events table (same columns and indexes, positions from a sequence) by the same number of processes, one
transaction per batch. While each run goes, the server's backends are sampled (``pg_stat_activity``) to show
what the writers wait on (a lock, or nothing: the CPU), and ``/proc/stat`` tells how idle the machine was.

    [BENCH_WRITERS_SECONDS=S] python -m tests.benchmarks writers
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from typing import Any

from recorder.events import raw_event
from recorder.store import Checkpoint, EventStore, Lease, Leases, migrate
from tests.benchmarks.common import load_average, realistic_events, report
from tests.conftest import create_pg_database, drop_pg_database

WRITERS = (1, 2, 4, 8)
BATCH = 3
SESSIONS_PER_WRITER = 10
SECONDS = 6.0


def _events(writer: int, count: int) -> list[list[Any]]:
    """``count`` batches for one writer, round-robin over its sessions."""
    batches = []
    objs = list(realistic_events(count * BATCH, seed=writer, session=f"w{writer}"))
    for n in range(count):
        session = f"sesn_w{writer}_{n % SESSIONS_PER_WRITER}"
        batches.append([raw_event(obj, session) for obj in objs[n * BATCH : (n + 1) * BATCH]])
    return batches


def _store_writer(url: str, writer: int, start: Any, stop: Any, out: Any) -> None:
    store = EventStore(url)
    leases = Leases(store, owner=f"bench-writer-{writer}", ttl=600)
    fences: dict[str, Lease] = {}
    for n in range(SESSIONS_PER_WRITER):
        lease = leases.acquire(f"sesn_w{writer}_{n}")
        assert isinstance(lease, Lease)
        fences[lease.session_id] = lease
    batches = _events(writer, 4000)
    out.put(None)  # ready
    start.wait()
    done = events = 0
    while not stop.is_set() and done < len(batches):
        batch = batches[done]
        last = batch[-1]
        checkpoint = Checkpoint(last.session_id, None, last.processed_at, last.event_id, None, False)
        result = store.append(batch, checkpoints=[checkpoint], fence=fences[last.session_id])
        events += result.added
        done += 1
    out.put((done, events))
    store.close()


def _plain_writer(url: str, writer: int, start: Any, stop: Any, out: Any) -> None:
    import psycopg

    from recorder.store import chain

    batches = _events(writer, 4000)
    out.put(None)  # ready
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    sql = ("INSERT INTO plain_events (stream_id, seq, session_id, thread_id, event_id, event_key, type, "
           "processed_at, recorded_at, payload, payload_hash, chain_hash, run_id) "
           "VALUES (%s, %s, %s, NULL, %s, %s, %s, %s, now(), %s, %s, %s, NULL)")
    start.wait()
    done = events = 0
    seq = 0
    while not stop.is_set() and done < len(batches):
        with conn.transaction(), conn.cursor() as cursor:
            rows = []
            for event in batches[done]:
                seq += 1
                digest = chain.payload_hash(event.payload)
                rows.append((writer, seq, event.session_id, event.event_id, event.event_key, event.type,
                             event.processed_at, event.payload, digest, digest))
            cursor.executemany(sql, rows)
        events += len(rows)
        done += 1
    out.put((done, events))
    conn.close()


def _cpu_idle() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)


def _sample_waits(url: str, stop: threading.Event, waits: Counter[str]) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        name = conn.info.dbname
        while not stop.is_set():
            for state, kind, event in conn.execute(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'", (name,)
            ):
                if state == "idle":
                    waits["idle (client side)"] += 1
                elif kind is None:
                    waits["running (CPU)"] += 1
                else:
                    waits[f"{kind}:{event}"] += 1
            stop.wait(0.02)


def _run(url: str, target: Any, writers: int, seconds: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    start, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, w, start, stop, out)) for w in range(writers)]
    for proc in procs:
        proc.start()
    for _ in procs:  # each process has imported and prepared its batches
        assert out.get(timeout=120) is None
    waits: Counter[str] = Counter()
    sampler_stop = threading.Event()
    sampler = threading.Thread(target=_sample_waits, args=(url, sampler_stop, waits))
    sampler.start()
    idle0, total0 = _cpu_idle()
    start.set()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    results = [out.get(timeout=60) for _ in procs]
    elapsed = time.perf_counter() - began
    idle1, total1 = _cpu_idle()
    sampler_stop.set()
    sampler.join()
    for proc in procs:
        proc.join(30)
    samples = sum(waits.values()) or 1
    return {
        "writers": writers,
        "transactions_per_s": round(sum(d for d, _ in results) / elapsed),
        "events_per_s": round(sum(e for _, e in results) / elapsed),
        "machine_idle_pct": round(100 * (idle1 - idle0) / max(1, total1 - total0), 1),
        "waits_pct": {k: round(100 * v / samples, 1) for k, v in waits.most_common(6)},
    }


def _prepare(url: str) -> None:
    migrate.upgrade(url)
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE plain_positions")
        conn.execute("CREATE TABLE plain_events (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.execute("ALTER TABLE plain_events ALTER COLUMN position SET DEFAULT nextval('plain_positions')")


def main() -> None:
    seconds = float(os.environ.get("BENCH_WRITERS_SECONDS", SECONDS))
    rows: list[dict[str, Any]] = []
    print(f"PostgreSQL writers: {BATCH} events + checkpoint per fenced append, {seconds:.0f} s per run")
    print(f"{'K':>2} {'store tx/s':>10} {'events/s':>9} {'vs K=1':>7} {'plain tx/s':>10} {'store/plain':>11} "
          f"{'idle %':>6}  store backends' waits")
    for writers in WRITERS:
        url = create_pg_database("recorder_bench_writers")
        try:
            _prepare(url)
            store = _run(url, _store_writer, writers, seconds)
            plain = _run(url, _plain_writer, writers, seconds)
            with EventStore(url) as check:
                assert check.head_position() > 0
        finally:
            drop_pg_database(url)
        base = rows[0]["store"]["transactions_per_s"] if rows else store["transactions_per_s"]
        row = {"writers": writers, "store": store, "plain": plain,
               "scaling_vs_one_writer": round(store["transactions_per_s"] / base, 2),
               "store_vs_plain": round(store["transactions_per_s"] / plain["transactions_per_s"], 2),
               "load_average": load_average()}
        rows.append(row)
        waits = ", ".join(f"{k} {v}%" for k, v in store["waits_pct"].items())
        print(f"{writers:>2} {store['transactions_per_s']:>10,} {store['events_per_s']:>9,} "
              f"{row['scaling_vs_one_writer']:>6.2f}x {plain['transactions_per_s']:>10,} "
              f"{row['store_vs_plain']:>10.2f}x {store['machine_idle_pct']:>6}  {waits}  ({load_average()})",
              flush=True)
    report("writers", {"batch_events": BATCH, "seconds": seconds, "runs": rows})


if __name__ == "__main__":
    main()
