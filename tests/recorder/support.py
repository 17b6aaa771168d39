"""Helpers for the recorder tests: record through the real SDK against the emulator, compare with its truth."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from recorder.emulator import ApiServer, Emulator
from recorder.errors import DeadlineReached
from recorder.ingest.retry import RetryPolicy
from recorder.record import Observer, RecordOptions, RunReport, make_client, run_recording
from recorder.store import EventStore
from tests.helpers import assert_stream_invariants

API_KEY = "sk-ant-test-secret-key-0123456789"
FAST_RETRY = RetryPolicy(base=0.01, cap=0.1)


def record(store: EventStore, server: ApiServer, session_ids: Iterable[str] = (), *, discover: bool = False,
           observer: Observer | None = None, **options: Any) -> RunReport:
    """Run one recording in this process, through the SDK, against ``server`` (with quick retries)."""
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("max_rpm", None)  # the request budget has its own tests; elsewhere it only slows tests down
    return run_recording(
        store,
        list(session_ids),
        RecordOptions(**options),
        discover=discover,
        observer=observer,
        client_factory=lambda: make_client(api_key=API_KEY, base_url=server.base_url),
    )


def record_until(store: EventStore, server: ApiServer, done: Callable[[], bool], *, limit: float,
                 step: float = 0.05, **options: Any) -> None:
    """Run a following recording (``record(..., follow=True)``) until ``done()`` holds, then stop it as Ctrl-C
    would; a run that reaches ``limit`` seconds first fails the test. A fixed deadline instead makes a test wait
    for it when the machine is quick and cut the work short when it is busy."""
    started = threading.Event()
    finished = threading.Event()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = []

    class Watch(Observer):
        def run_started(self, run_id: int | None) -> None:
            task = asyncio.current_task()
            assert task is not None
            running.append((asyncio.get_running_loop(), task))
            started.set()

    def watch() -> None:
        if not started.wait(limit):
            return
        while not finished.is_set():
            if done():
                loop, task = running[0]
                loop.call_soon_threadsafe(task.cancel)
                return
            finished.wait(step)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        record(store, server, observer=Watch(), deadline=limit, **options)
    except asyncio.CancelledError:
        return  # stopped by the watcher: done() held
    except DeadlineReached:
        raise AssertionError(f"the condition did not hold within {limit} s") from None
    finally:
        finished.set()
        watcher.join()
    raise AssertionError(f"the recording ended before its condition held (limit {limit} s)")


def truth(emu: Emulator, session_id: str, thread_id: str | None) -> list[dict[str, Any]]:
    """What the log must hold for a stream: every event the API lists, in order, except queued ones."""
    return [e for e in emu.ground_truth(session_id, thread_id) if e.get("processed_at") is not None]


def recorded(store: EventStore, session_id: str, thread_id: str | None) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in store.stream_events(session_id, thread_id)]


def assert_exact(store: EventStore, emu: Emulator, session_ids: Iterable[str]) -> int:
    """Every stream of every session equals the emulator's truth, in order; chains intact. Returns events."""
    total = 0
    for session_id in session_ids:
        for thread_id in [None, *emu.thread_ids(session_id)]:
            want = truth(emu, session_id, thread_id)
            got = recorded(store, session_id, thread_id)
            where = f"{emu.scenario(session_id)} {session_id} thread {thread_id}"
            assert len(got) == len(want), f"{where}: {len(got)} events recorded, {len(want)} expected"
            for index, (a, b) in enumerate(zip(got, want, strict=True)):
                assert a == b, f"{where}: event {index} differs"
            if want:
                assert_stream_invariants(store, session_id, thread_id)
            total += len(got)
    return total


def is_exact(store: EventStore, emu: Emulator, session_ids: Iterable[str]) -> bool:
    """Whether :func:`assert_exact` holds now (for waiting until it does)."""
    try:
        assert_exact(store, emu, session_ids)
    except AssertionError:
        return False
    return True


def ndjson_lines(text: str) -> list[str]:
    """NDJSON lines: split on "\n" only (str.splitlines would also split inside strings at U+2028 and kin)."""
    return [line for line in text.split("\n") if line]


def cli_env(server: ApiServer, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "RECORDER_"))}
    env.update(ANTHROPIC_API_KEY=API_KEY, ANTHROPIC_BASE_URL=server.base_url, RECORDER_DB=db_url,
               RECORDER_MAX_RPM="0")
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recorder", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def spawn_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "recorder", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
