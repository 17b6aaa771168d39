"""Record a finished 50,000-event session from the emulator into SQLite, end to end through the SDK, next to a
bare loop that only iterates the same history with the SDK (``for e in client.beta.sessions.events.list(...)``)
in the same run. Target: the recorder takes at most 1.2x the bare loop's time."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic

from recorder.record import RecordOptions, make_client, run_recording
from recorder.store import EventStore, migrate
from tests.benchmarks.common import report

EVENTS = 50_000
ROUNDS = 3


def bare_loop(base_url: str, session_id: str) -> tuple[float, int]:
    client = anthropic.Anthropic(api_key="bench-key", base_url=base_url, max_retries=0)
    started = time.perf_counter()
    count = sum(1 for _ in client.beta.sessions.events.list(session_id))
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, count


def recorder_run(base_url: str, session_id: str, folder: Path, round_no: int) -> tuple[float, int]:
    url = f"sqlite:///{folder / f'record{round_no}.db'}"
    migrate.upgrade(url)
    with EventStore(url) as store:
        started = time.perf_counter()
        result = run_recording(store, [session_id], RecordOptions(),
                               client_factory=lambda: make_client(api_key="bench-key", base_url=base_url))
        elapsed = time.perf_counter() - started
        assert store.head_position() == result.events_added
    return elapsed, result.events_added


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator in a process of its own, as the API is a server elsewhere: neither contender shares its
    interpreter (and GIL) with the server."""
    process = subprocess.Popen(
        [sys.executable, "-m", "recorder", "emulator", "--port", "0", "--seed", "99", "--scenario", "long",
         "--events", str(EVENTS)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        assert match, f"the emulator did not start: {line}"
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(10)


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
        "target_ratio": 1.2,
    }
    print(f"record a finished {expected:,}-event session (best of {ROUNDS})")
    print(f"  bare SDK loop (typed iteration, no storage) {best_bare:6.2f} s  {expected / best_bare:>9,.0f} events/s")
    print(f"  recorder into SQLite, end to end            {best_rec:6.2f} s  {stored / best_rec:>9,.0f} events/s"
          f"  ({stored:,} events: the session stream and its primary thread's)")
    print(f"  ratio {best_rec / best_bare:.2f}x (target <= 1.2x)")
    report("record", results)


if __name__ == "__main__":
    main()
