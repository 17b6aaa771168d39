"""Append 200,000 realistic events in batches of 1,000 through the store, on SQLite and PostgreSQL, next to a
baseline of raw ``sqlite3.executemany`` of the same rows into the same (migrated) table, and next to the
``eventsourcing`` library's application recorders (SQLite and PostgreSQL) appending the same events in the same
batches (originator = the session, version = the sequence number, topic = the type, state = the payload), in the
same run."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any

from recorder.events import raw_event
from recorder.store import EventStore, chain, migrate, parse_url
from tests.benchmarks.common import load_average, realistic_events, report, timer
from tests.conftest import create_pg_database, drop_pg_database

COUNT = 200_000
BATCH = 1_000
SESSION = "sesn_bench"


def _batches() -> list[list]:
    events = [raw_event(obj, SESSION) for obj in realistic_events(COUNT, session=SESSION)]
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)]


def _store_run(url: str, batches: list[list]) -> float:
    with EventStore(url) as store, timer() as elapsed:
        for batch in batches:
            store.append(batch)
    assert store.head_position() == COUNT
    return elapsed()


def _baseline_rows(batches: list[list]) -> list[list[tuple]]:
    """The rows exactly as the store writes them (hashes precomputed): the baseline only inserts."""
    previous = chain.genesis(SESSION, None)
    out, seq = [], 0
    for batch in batches:
        rows = []
        for event in batch:
            seq += 1
            digest = chain.payload_hash(event.payload)
            previous = chain.chain_hash(previous, seq, digest)
            rows.append((seq, 1, seq, SESSION, None, event.event_id, event.event_key, event.type,
                         event.processed_at.isoformat(sep=" "), "2026-11-23 00:00:00.000000",
                         event.payload, digest, previous, None))
        out.append(rows)
    return out


def _baseline_run(path: Path, rows: list[list[tuple]]) -> float:
    migrate.upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("INSERT INTO sessions (session_id, first_recorded_at, last_recorded_at) VALUES (?, ?, ?)",
                 (SESSION, "2026-11-23", "2026-11-23"))
    conn.execute("INSERT INTO streams (stream_id, session_id, thread_id, stream_key, last_seq, head_hash, "
                 "created_at) VALUES (1, ?, NULL, ?, 0, '', '2026-11-23')", (SESSION, SESSION + "/"))
    sql = ("INSERT INTO events (position, stream_id, seq, session_id, thread_id, event_id, event_key, type, "
           "processed_at, recorded_at, payload, payload_hash, chain_hash, run_id) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    with timer() as elapsed:
        for batch in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
    conn.close()
    return elapsed()


def _eventsourcing_stored(batches: list[list]) -> list[list[Any]]:
    from eventsourcing.persistence import StoredEvent

    originator = uuid.uuid5(uuid.NAMESPACE_URL, SESSION)
    out, seq = [], 0
    for batch in batches:
        rows = []
        for event in batch:
            seq += 1
            rows.append(StoredEvent(originator, seq, event.type, event.payload.encode()))
        out.append(rows)
    return out


def _time_inserts(datastore: Any, recorder: Any, batches: list[list[Any]]) -> float:
    """Create an eventsourcing recorder's table, time inserting ``batches`` through it, then close its datastore."""
    recorder.create_table()
    with timer() as elapsed:
        for batch in batches:
            recorder.insert_events(batch)
    datastore.close()
    return elapsed()


def _eventsourcing_sqlite(path: Path, batches: list[list[Any]]) -> float:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(str(path))
    recorder = SQLiteApplicationRecorder(datastore)
    return _time_inserts(datastore, recorder, batches)


def _eventsourcing_postgres(url: str, batches: list[list[Any]]) -> float:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = parse_url(url)
    datastore = PostgresDatastore(
        parts.database or "", parts.host or "127.0.0.1", parts.port or 5432, parts.username or "postgres",
        parts.password or "",
    )
    recorder = PostgresApplicationRecorder(datastore)
    return _time_inserts(datastore, recorder, batches)


def main() -> None:
    batches = _batches()
    rows = _baseline_rows(batches)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _baseline_run(Path(tmp) / "baseline.db", rows)
        sqlite_url = f"sqlite:///{Path(tmp) / 'store.db'}"
        migrate.upgrade(sqlite_url)
        sqlite_time = _store_run(sqlite_url, batches)
        stored = _eventsourcing_stored(batches)
        es_sqlite = _eventsourcing_sqlite(Path(tmp) / "eventsourcing.db", stored)
    pg_url = create_pg_database("recorder_bench")
    try:
        migrate.upgrade(pg_url)
        pg_time = _store_run(pg_url, batches)
    finally:
        drop_pg_database(pg_url)
    es_url = create_pg_database("recorder_bench_es")
    try:
        es_pg = _eventsourcing_postgres(es_url, stored)
    finally:
        drop_pg_database(es_url)

    results = {
        "events": COUNT,
        "batch": BATCH,
        "baseline_sqlite3_executemany_s": round(baseline, 3),
        "store_sqlite_s": round(sqlite_time, 3),
        "store_postgresql_s": round(pg_time, 3),
        "baseline_events_per_s": round(COUNT / baseline),
        "store_sqlite_events_per_s": round(COUNT / sqlite_time),
        "store_postgresql_events_per_s": round(COUNT / pg_time),
        "sqlite_ratio_vs_baseline": round(sqlite_time / baseline, 2),
        "postgresql_ratio_vs_baseline": round(pg_time / baseline, 2),
        "eventsourcing_sqlite_s": round(es_sqlite, 3),
        "eventsourcing_postgresql_s": round(es_pg, 3),
        "sqlite_ratio_vs_eventsourcing": round(sqlite_time / es_sqlite, 2),
        "postgresql_ratio_vs_eventsourcing": round(pg_time / es_pg, 2),
        "load_average": load_average(),
    }
    print(f"append {COUNT:,} realistic events in batches of {BATCH:,}")
    print(f"  raw sqlite3.executemany (baseline) {baseline:7.2f} s  {COUNT / baseline:>10,.0f} events/s")
    print(f"  store on SQLite                    {sqlite_time:7.2f} s  {COUNT / sqlite_time:>10,.0f} events/s"
          f"  ({sqlite_time / baseline:.2f}x baseline time)")
    print(f"  store on PostgreSQL                {pg_time:7.2f} s  {COUNT / pg_time:>10,.0f} events/s"
          f"  ({pg_time / baseline:.2f}x baseline time)")
    print(f"  eventsourcing on SQLite            {es_sqlite:7.2f} s  {COUNT / es_sqlite:>10,.0f} events/s"
          f"  (store: {sqlite_time / es_sqlite:.2f}x its time; target <= 1.5x)")
    print(f"  eventsourcing on PostgreSQL        {es_pg:7.2f} s  {COUNT / es_pg:>10,.0f} events/s"
          f"  (store: {pg_time / es_pg:.2f}x its time)")
    print(f"  ({load_average()})")
    report("store", results)


if __name__ == "__main__":
    main()
