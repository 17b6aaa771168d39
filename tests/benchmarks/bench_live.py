"""Live capture: N emulated sessions played in real time (each about 5 events/s on its session stream, as many
again on its thread streams), recorded by `recorder record --all --follow` processes.

Each case starts the emulator in a process of its own, then the recorder process(es); the sessions play for
``PLAY`` seconds and then go idle. When every session is idle, the bench lists every stream of every
session from the emulator (the expected events) and waits until the log holds them, then stops the recorders with
SIGTERM. It reports:

- capture latency ``recorded_at - processed_at`` per event, from the log, for events processed from
  ``SETTLED_MARGIN`` seconds after every session's first events were recorded on (before that, while the recorder
  starts, discovers the sessions and opens their streams, it is catching up, not capturing live);
- recorder CPU in percent of one core (user + system time of the recorder processes, their workers included,
  over their wall-clock time) and peak RSS (the largest single process); the emulator's CPU too, since it shares
  the cores and its lag counts in the latency (it serves each connection on a thread of its own: at 500 sessions
  that is some 1,500 threads and more than a core, so on a 2-core machine the emulator, not the recorder, is
  then the limit);
- the exactness check: every expected event is in the log once per stream, nothing else is. (If the sessions are
  not all idle within ``PLAY`` + 90 s, the emulator is overloaded — it plays them late — and the listing is a
  snapshot of sessions still running: the case then says NOT JUDGED, with its counts, rather than NOT EXACT.)

Cases: SQLite with one process at N = 100, 300, 500 (and 500 with ``--workers 2``), 150 sessions with a busy-loop
process competing for the CPU, and 4 follower processes sharing 80 sessions on PostgreSQL. ``--quick``: 100
sessions on SQLite and the PostgreSQL case only. ``--case NAME``: one case (names as printed).

Run: `python -m tests.benchmarks live` or `python -m tests.benchmarks.bench_live [--quick] [--case NAME]`.
Note: ``recorded_at`` is taken when the commit's transaction begins, so the latency leaves out the commit itself
(about a millisecond on SQLite).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic

from recorder.store import EventStore, migrate
from tests.benchmarks.common import report, server_process

INTERVAL = 0.32  # seconds per live step; a step is 1.6 session events on average: about 5 events/s
PLAY = 60.0  # seconds each session plays
SETTLED_MARGIN = 3.0  # the measurement starts this long after every session's first events were recorded
EMISSIONS_PER_STEP = 1.6


@dataclass(frozen=True)
class Case:
    name: str
    sessions: int
    backend: str = "sqlite"
    workers: int = 1  # --workers of one recorder process
    followers: int = 1  # separate recorder processes
    busy: int = 0  # busy-loop processes running meanwhile
    target_p99: float | None = None


CASES = [
    Case("sqlite-100", 100),
    Case("sqlite-300", 300),
    Case("sqlite-500", 500, target_p99=0.25),
    Case("sqlite-500-workers-2", 500, workers=2, target_p99=0.25),
    Case("sqlite-150-busy", 150, busy=1, target_p99=0.5),
    Case("postgresql-80-4-followers", 80, backend="postgresql", followers=4, target_p99=0.5),
]
QUICK = ["sqlite-100", "postgresql-80-4-followers"]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def emulator(sessions: int, events: int) -> Iterator[str]:
    command = ["-m", "tests.benchmarks.live_emulator", str(sessions), str(INTERVAL), str(events)]
    with server_process(command, stop_wait=20) as url:
        yield url


def emulator_cpu_seconds() -> float | None:
    """User + system CPU seconds of this process's emulator child so far (it shares the cores with the recorder,
    and its lag counts in the latency); None if it cannot be found (not Linux)."""
    me = str(os.getpid())
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                if fields[1] != me or b"live_emulator" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                    continue
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _pages(fetch: Any) -> Iterator[dict[str, Any]]:
    page: str | None = None
    while True:
        body = json.loads(fetch(page).http_response.content)
        yield from body["data"]
        page = body.get("next_page")
        if not page:
            return


def expected_events(client: anthropic.Anthropic) -> set[tuple[str, str | None, str]]:
    """Every (session, thread, event id) the emulator lists, processed events only (what the log must hold)."""
    raw = client.beta.sessions.with_raw_response
    events_raw = client.beta.sessions.events.with_raw_response
    threads_raw = client.beta.sessions.threads.with_raw_response
    thread_events_raw = client.beta.sessions.threads.events.with_raw_response
    out: set[tuple[str, str | None, str]] = set()
    for session in _pages(lambda page: raw.list(limit=100, include_archived=True, **({"page": page} if page else {}))):
        sid = session["id"]
        for event in _pages(lambda page, sid=sid: events_raw.list(sid, limit=1000, **({"page": page} if page else {}))):
            if event.get("processed_at") is not None:
                out.add((sid, None, event["id"]))
        threads = _pages(lambda page, sid=sid: threads_raw.list(sid, limit=100, **({"page": page} if page else {})))
        for thread in threads:
            tid = thread["id"]
            for event in _pages(lambda page, sid=sid, tid=tid: thread_events_raw.list(
                    tid, session_id=sid, limit=1000, **({"page": page} if page else {}))):
                if event.get("processed_at") is not None:
                    out.add((sid, tid, event["id"]))
    return out


def all_idle(client: anthropic.Anthropic) -> bool:
    raw = client.beta.sessions.with_raw_response
    sessions = list(_pages(lambda page: raw.list(limit=100, **({"page": page} if page else {}))))
    return bool(sessions) and all(s.get("status") == "idle" for s in sessions)


def log_rows(url: str) -> list[tuple[Any, ...]]:
    """(session, thread, event id, processed_at, recorded_at) of every event in the log."""
    rows: list[tuple[Any, ...]] = []
    with EventStore(url) as store:
        after = 0
        while page := store.read_log(after, limit=5000):
            rows.extend((e.session_id, e.thread_id, e.event_id, e.processed_at, e.recorded_at) for e in page)
            after = page[-1].position
    return rows


def log_count(url: str) -> int:
    with EventStore(url) as store:
        return store.head_position()


def _as_naive(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_case(case: Case, folder: Path) -> dict[str, Any]:
    pg_url = None
    if case.backend == "postgresql":
        from tests.conftest import create_pg_database

        pg_url = url = create_pg_database("recorder_bench_live")
    else:
        url = f"sqlite:///{folder / (case.name + '.db')}"
    migrate.upgrade(url)
    events = int(PLAY / INTERVAL * EMISSIONS_PER_STEP)
    try:
        with emulator(case.sessions, events) as base_url, busy_loops(case.busy):
            env = {**os.environ, "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "bench-key"}
            command = [sys.executable, "-m", "recorder", "record", "--all", "--follow", "--db", url, "--json",
                       "--max-rpm", "0", "--concurrency", str(min(4096, case.sessions + 16)), "--settle", "2",
                       "--sweep-interval", "10"]
            if case.workers > 1:
                command += ["--workers", str(case.workers)]
            started = _utcnow()
            began = time.monotonic()
            recorders = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True) for _ in range(case.followers)]
            client = anthropic.Anthropic(api_key="bench-key", base_url=base_url, max_retries=2)
            time.sleep(PLAY / 2)
            limit = time.monotonic() + PLAY + 90
            idle = all_idle(client)
            while time.monotonic() < limit and not idle:
                time.sleep(1)
                idle = all_idle(client)
            expected = expected_events(client)  # (still playing at the limit: a snapshot, later events come on)
            client.close()
            while time.monotonic() < limit + 60 and log_count(url) < len(expected):
                time.sleep(1)
            for recorder in recorders:
                recorder.send_signal(signal.SIGTERM)
            cpu = 0.0
            peak_kb = 0
            statuses = []
            for recorder in recorders:
                _, status, usage = os.wait4(recorder.pid, 0)
                recorder.returncode = os.waitstatus_to_exitcode(status)
                statuses.append(recorder.returncode)
                cpu += usage.ru_utime + usage.ru_stime
                peak_kb = max(peak_kb, usage.ru_maxrss)
            wall = time.monotonic() - began
            emulator_cpu = emulator_cpu_seconds()
            errors = [r.stderr.read()[-500:] for r in recorders if r.stderr is not None]
        rows = log_rows(url)
    finally:
        if pg_url is not None:
            from tests.conftest import drop_pg_database

            drop_pg_database(pg_url)
    got = [(sid, tid, eid) for sid, tid, eid, _, _ in rows]
    duplicates = len(got) - len(set(got))
    missing = len(expected - set(got))
    extra = len(set(got) - expected)
    first_recorded: dict[str, datetime] = {}
    for sid, _, _, _, rec in rows:
        at = _as_naive(rec)
        if sid not in first_recorded or at < first_recorded[sid]:
            first_recorded[sid] = at
    warm = max(first_recorded.values(), default=started)  # every session caught up once: now it is live capture
    measured_from = warm.replace(tzinfo=UTC).timestamp() + SETTLED_MARGIN
    latencies = [
        (_as_naive(rec) - _as_naive(proc)).total_seconds()
        for _, _, _, proc, rec in rows
        if proc is not None and _as_naive(proc).replace(tzinfo=UTC).timestamp() >= measured_from
    ]
    result = {
        "case": case.name, "sessions": case.sessions, "backend": case.backend, "workers": case.workers,
        "followers": case.followers, "busy_loops": case.busy,
        "events_expected": len(expected), "events_in_log": len(rows), "missing": missing, "extra": extra,
        "duplicates": duplicates, "exact": missing == extra == duplicates == 0, "all_idle_before_listing": idle,
        "live_events_measured": len(latencies),
        "measured_from_s_after_start": round(measured_from - started.replace(tzinfo=UTC).timestamp(), 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1), "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
        "recorder_cpu_pct_of_one_core": round(100 * cpu / wall, 1), "recorder_wall_s": round(wall, 1),
        "emulator_cpu_pct_of_one_core": None if emulator_cpu is None else round(100 * emulator_cpu / wall, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1), "exit_statuses": statuses, "loadavg_after": loadavg(),
        "target_p99_ms": None if case.target_p99 is None else case.target_p99 * 1000,
    }
    if any(s not in (0, 130, 143) for s in statuses):
        result["stderr_tail"] = errors
    return result


def group_commit_ratio(folder: Path, sessions: int = 200, rounds: int = 10) -> dict[str, Any]:
    """The append path alone: ``sessions`` concurrent streams each appending one event per round, ``rounds`` times,
    through the group committer and through one transaction per append (the recorder before it), on SQLite."""
    import asyncio

    from recorder.ingest.group import GroupCommitter
    from recorder.ingest.writer import finish_even_if_cancelled
    from recorder.store import AppendRequest
    from tests.helpers import message, raws

    def batch(sid: str, i: int) -> AppendRequest:
        return AppendRequest(raws([message(i)], session=sid))

    async def drive(append: Any) -> None:
        async def stream(sid: str) -> None:
            for i in range(rounds):
                await append(batch(sid, i))
        await asyncio.gather(*(stream(f"sesn_{n:04d}") for n in range(sessions)))

    timings: dict[str, float] = {}
    transactions = 0
    for name in ("one_transaction_per_append", "group_commit"):
        url = f"sqlite:///{folder / (name + '.db')}"
        migrate.upgrade(url)
        with EventStore(url) as store:
            started = time.perf_counter()
            if name == "group_commit":
                committer = GroupCommitter(store)
                asyncio.run(drive(committer.append))
                committer.close()
                transactions = committer.transactions
            else:
                asyncio.run(drive(lambda request, store=store: finish_even_if_cancelled(
                    store.append, request.events)))
            timings[name] = time.perf_counter() - started
            assert store.head_position() == sessions * rounds
    return {"appends": sessions * rounds, "concurrent_streams": sessions,
            **{f"{k}_s": round(v, 3) for k, v in timings.items()}, "group_commit_transactions": transactions,
            "speedup": round(timings["one_transaction_per_append"] / timings["group_commit"], 2)}


def _inexact(result: dict[str, Any]) -> str:
    if not result["all_idle_before_listing"] and not result["duplicates"]:
        # The emulator could not play the sessions to their end in time (overloaded): what it listed is a
        # snapshot of sessions still running, so events after it are in the log and not in the list.
        return (f" NOT JUDGED (sessions still playing at the bench's limit: {result['extra']:,} events after the"
                f" listing, {result['missing']:,} not yet recorded when stopped; none doubled)")
    if result["extra"] or result["duplicates"]:
        return f" NOT EXACT ({result['extra']} unexpected, {result['duplicates']} duplicates)"
    return f" BEHIND ({result['missing']:,} not yet recorded when stopped; none doubled)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_live")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES])
    parser.add_argument("--group-only", action="store_true", help="only the append-path comparison")
    args = parser.parse_args(argv if argv is not None else [])
    chosen = [c for c in CASES if (args.case and c.name in args.case)
              or (not args.case and (not args.quick or c.name in QUICK))]
    print(f"live capture: sessions at ~{EMISSIONS_PER_STEP / INTERVAL:.1f} events/s each (session stream) for "
          f"{PLAY:.0f} s, measured once every session was caught up; load average before: {loadavg()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        group = group_commit_ratio(Path(tmp))
        rounds = group["appends"] // group["concurrent_streams"]
        print(f"  append path, {group['concurrent_streams']} streams x 1 event x {rounds}: one transaction per "
              f"append {group['one_transaction_per_append_s']:.2f} s, group commit "
              f"{group['group_commit_s']:.2f} s in {group['group_commit_transactions']} transactions "
              f"({group['speedup']:.1f}x)  load {loadavg()}", flush=True)
        if args.group_only:
            chosen = []
        for case in chosen:
            result = run_case(case, Path(tmp))
            results.append(result)
            target = f" (target p99 <= {result['target_p99_ms']:.0f} ms)" if result["target_p99_ms"] else ""
            print(f"  {case.name:<27} p50 {result['p50_ms']:>8.1f} ms  p99 {result['p99_ms']:>8.1f} ms{target}  "
                  f"CPU {result['recorder_cpu_pct_of_one_core']:>5.1f}% "
                  f"(emulator {result['emulator_cpu_pct_of_one_core']}%)  RSS {result['peak_rss_mb']:>6.1f} MB  "
                  f"{result['events_in_log']:,}/{result['events_expected']:,} events"
                  f"{'' if result['exact'] else _inexact(result)}  (measured {result['live_events_measured']:,} from "
                  f"+{result['measured_from_s_after_start']} s)  load {result['loadavg_after']}", flush=True)
            if "stderr_tail" in result:
                print(f"    exit {result['exit_statuses']}: {result['stderr_tail']}", flush=True)
    report("live", {"interval_s": INTERVAL, "play_s": PLAY, "append_path": group, "cases": results})


if __name__ == "__main__":
    main(sys.argv[1:])
