"""Verify a log of 1,000,000 realistic events on SQLite (target: at least 200,000 events/s), next to a baseline
measured in the same run: a raw ``sqlite3`` scan of the same file that only reads every payload and hashes it once
— the least any verifier must do.

The log: 200 sessions, each a session stream and two threads, recorded interleaved (as concurrent recording
would), with a snapshot and an archived file per session. It is written directly with ``sqlite3`` (hashes computed
exactly as the store does) into a migrated file: building it through ``EventStore.append`` would take minutes and
is what the ``store`` benchmark measures.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from recorder.compliance.verify import verify
from recorder.events import raw_event
from recorder.store import EventStore, chain, migrate
from tests.benchmarks.common import realistic_events, report, timer

COUNT = 1_000_000
SESSIONS = 200
THREADS = 2
TEMPLATES = 20_000
RUNS = 3
TARGET = 200_000
NOW = "2026-11-24 00:00:00.000000"


def build_log(path: Path, count: int = COUNT) -> None:
    """A migrated SQLite log of ``count`` events, written with plain sqlite3 (hashes as the store computes them)."""
    migrate.upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB: the indexes stay in memory while the log is written
    templates = [raw_event(obj, "sesn_template") for obj in realistic_events(TEMPLATES, session="template")]
    streams: list[list] = []  # [stream_id, session, thread, seq, head]
    conn.execute("BEGIN")
    for s in range(SESSIONS):
        session = f"sesn_{s:05d}"
        conn.execute("INSERT INTO sessions (session_id, first_recorded_at, last_recorded_at) VALUES (?, ?, ?)",
                     (session, NOW, NOW))
        for thread in [None] + [f"sthr_{s:05d}_{k}" for k in range(THREADS)]:
            if thread is not None:
                conn.execute("INSERT INTO threads (session_id, thread_id, first_recorded_at) VALUES (?, ?, ?)",
                             (session, thread, NOW))
            streams.append([len(streams) + 1, session, thread, 0, chain.genesis(session, thread)])
        snapshot = f'{{"id":"{session}","type":"session","status":"terminated"}}'
        conn.execute("INSERT INTO session_snapshots (session_id, thread_id, taken_at, status, payload, payload_hash) "
                     "VALUES (?, NULL, ?, 'terminated', ?, ?)",
                     (session, NOW, snapshot, hashlib.sha256(snapshot.encode()).hexdigest()))
        content = (f"report of {session}\n" * 500).encode()
        digest = hashlib.sha256(content).hexdigest()
        conn.execute("INSERT OR IGNORE INTO file_blobs (sha256, size_bytes, content) VALUES (?, ?, ?)",
                     (digest, len(content), content))
        conn.execute("INSERT INTO session_files (session_id, file_id, filename, mime_type, size_bytes, sha256, "
                     "metadata, archived_at) VALUES (?, ?, 'report.txt', 'text/plain', ?, ?, '{}', ?)",
                     (session, f"file_{s:05d}", len(content), digest, NOW))
    conn.execute("COMMIT")
    sql = ("INSERT INTO events (position, stream_id, seq, session_id, thread_id, event_id, event_key, type, "
           "processed_at, recorded_at, payload, payload_hash, chain_hash, run_id) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)")
    rows = []
    for position in range(1, count + 1):
        stream = streams[position % len(streams)]
        template = templates[position % TEMPLATES]
        event_id = f"sevt_{position:012d}"
        payload = template.payload.replace(template.event_id, event_id, 1)
        stream[3] += 1
        digest = hashlib.sha256(payload.encode()).hexdigest()
        stream[4] = chain.chain_hash(stream[4], stream[3], digest)
        processed = template.processed_at.isoformat(sep=" ", timespec="microseconds")
        rows.append((position, stream[0], stream[3], stream[1], stream[2], event_id, event_id, template.type,
                     processed, NOW, payload, digest, stream[4]))
        if len(rows) == 100_000 or position == count:
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            rows.clear()
    conn.execute("BEGIN")
    for stream_id, session, thread, seq, head in streams:
        conn.execute("INSERT INTO streams (stream_id, session_id, thread_id, stream_key, last_seq, head_hash, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (stream_id, session, thread, f"{session}/{thread or ''}", seq, head, NOW))
    conn.execute("UPDATE log_head SET last_position = ?", (count,))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def baseline(path: Path) -> float:
    """Read every payload with plain sqlite3 (memory-mapped, like verify) and hash it once."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA mmap_size = 1099511627776")
    sha256 = hashlib.sha256
    with timer() as elapsed:
        cursor = conn.execute("SELECT CAST(payload AS BLOB) FROM events ORDER BY position")
        while rows := cursor.fetchmany(5000):
            for (payload,) in rows:
                sha256(payload).digest()
    conn.close()
    return elapsed()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.db"
        started = time.perf_counter()
        build_log(path)
        built = time.perf_counter() - started
        size = path.stat().st_size
        base = min(baseline(path) for _ in range(2))
        times = []
        with EventStore(f"sqlite:///{path}") as store:
            for _ in range(RUNS):
                result = verify(store)
                assert result.ok, result.summary()
                assert result.events == COUNT
                times.append(result.elapsed_s)
    best, median = min(times), statistics.median(times)
    results = {
        "events": COUNT,
        "sessions": SESSIONS,
        "streams": SESSIONS * (1 + THREADS),
        "database_bytes": size,
        "build_s": round(built, 1),
        "baseline_read_and_hash_s": round(base, 3),
        "verify_runs_s": [round(t, 3) for t in times],
        "verify_best_s": round(best, 3),
        "verify_median_s": round(median, 3),
        "baseline_events_per_s": round(COUNT / base),
        "verify_events_per_s": round(COUNT / median),
        "verify_best_events_per_s": round(COUNT / best),
        "verify_ratio_vs_baseline": round(median / base, 2),
        "target_events_per_s": TARGET,
        "meets_target": COUNT / median >= TARGET,
        "cpus": os.cpu_count(),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    print(f"verify {COUNT:,} events ({SESSIONS * (1 + THREADS)} streams, {size / 1e9:.2f} GB SQLite file; built "
          f"in {built:.0f} s)")
    print(f"  baseline: read + sha256 each payload    {base:6.2f} s  {COUNT / base:>10,.0f} events/s")
    print(f"  recorder verify (median of {RUNS})        {median:6.2f} s  {COUNT / median:>10,.0f} events/s"
          f"  ({median / base:.2f}x baseline time; best {COUNT / best:,.0f}/s)")
    print(f"  target {TARGET:,} events/s: {'met' if results['meets_target'] else 'NOT met'} "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}: other work on the machine slows this)")
    report("verify", results)


if __name__ == "__main__":
    main()
