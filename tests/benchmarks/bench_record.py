"""Record a finished 50,000-event session from the emulator into SQLite, end to end through the SDK, next to a
bare loop that only iterates the same history with the SDK (``for e in client.beta.sessions.events.list(...)``)
in the same run. Both are timed as whole processes (``python -m recorder record ID`` against ``python -c`` running
the loop): interpreter start, imports and exit included, as a user pays them. The recorder runs with
``--max-rpm 0`` (the bare loop has no request budget either). Target (issue 15): the recorder takes at most 0.55x
the bare loop's time. ``BENCH_RECORD_ROUNDS`` (default 2) rounds, interleaved; the best of each is compared."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic

from recorder.store import EventStore, migrate
from tests.benchmarks.common import report, server_process

EVENTS = 50_000
ROUNDS = int(os.environ.get("BENCH_RECORD_ROUNDS", "2"))
BARE_LOOP = """
import sys, anthropic
client = anthropic.Anthropic(api_key="bench-key", base_url=sys.argv[1], max_retries=0)
print(sum(1 for _ in client.beta.sessions.events.list(sys.argv[2])))
client.close()
"""


def bare_loop(base_url: str, session_id: str) -> tuple[float, int]:
    """The bare SDK loop as a process of its own: seconds, events iterated."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BARE_LOOP, base_url, session_id], capture_output=True, text=True,
                          check=True)
    return time.perf_counter() - started, int(done.stdout.strip())


def recorder_run(base_url: str, session_id: str, folder: Path, round_no: int) -> tuple[float, int]:
    """``recorder record ID`` as a process of its own: seconds, events added."""
    url = f"sqlite:///{folder / f'record{round_no}.db'}"
    migrate.upgrade(url)
    env = {**os.environ, "ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": base_url}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "recorder", "record", session_id, "--db", url, "--max-rpm", "0"],
                          capture_output=True, text=True, env=env, check=True)
    elapsed = time.perf_counter() - started
    run = json.loads(done.stdout.strip().splitlines()[-1])
    with EventStore(url) as store:
        assert store.head_position() == run["events_added"]
    return elapsed, int(run["events_added"])


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator in a process of its own, as the API is a server elsewhere: neither contender shares its
    interpreter (and GIL) with the server."""
    command = ["-m", "recorder", "emulator", "--port", "0", "--seed", "99", "--scenario", "long",
               "--events", str(EVENTS)]
    with server_process(command) as url:
        yield url


def main() -> None:
    with emulator_process() as base_url, tempfile.TemporaryDirectory() as tmp:
        client = anthropic.Anthropic(api_key="bench-key", base_url=base_url, max_retries=0)
        [session] = client.beta.sessions.list().data
        session_id = session.id
        threads = client.beta.sessions.threads.list(session_id).data
        client.close()
        expected = EVENTS
        # The recorder also records each thread's own stream: here the primary thread, which repeats the
        # session's events. So it fetches and stores twice what the bare loop iterates.
        stored = expected * (1 + len(threads))
        bare, rec = [], []
        for round_no in range(ROUNDS):  # interleaved, so both see the same machine
            seconds, count = bare_loop(base_url, session_id)
            assert count == expected
            bare.append(seconds)
            seconds, count = recorder_run(base_url, session_id, Path(tmp), round_no)
            assert count == stored
            rec.append(seconds)
    best_bare, best_rec = min(bare), min(rec)
    results = {
        "events": expected,
        "events_stored_by_recorder": stored,
        "rounds": ROUNDS,
        "bare_sdk_loop_s": [round(x, 3) for x in bare],
        "recorder_s": [round(x, 3) for x in rec],
        "best_bare_sdk_loop_s": round(best_bare, 3),
        "best_recorder_s": round(best_rec, 3),
        "ratio_recorder_over_bare": round(best_rec / best_bare, 3),
        "target_ratio": 0.55,
        "timed_as": "whole processes (start, imports, exit included); recorder with --max-rpm 0",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"record a finished {expected:,}-event session (best of {ROUNDS})")
    print(f"  bare SDK loop (typed iteration, no storage) {best_bare:6.2f} s  {expected / best_bare:>9,.0f} events/s")
    print(f"  recorder into SQLite, end to end            {best_rec:6.2f} s  {stored / best_rec:>9,.0f} events/s"
          f"  ({stored:,} events: the session stream and its primary thread's)")
    print(f"  ratio {best_rec / best_bare:.2f}x (target <= 0.55x; whole processes; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    report("record", results)


if __name__ == "__main__":
    main()
