"""Shared pieces of the benchmarks: realistic events, timing, and where results go."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path("bench-out")

WORDS = [
    "the", "agent", "reads", "the", "repository", "and", "runs", "the", "tests", "then", "edits",
    "auth", "module", "config", "parser", "handler", "refactor", "review", "failing", "passed", "line",
    "error", "warning", "result", "output", "✓", "—", "café", "漢字", "😀",
]


def realistic_events(count: int, seed: int = 1, session: str = "sesn_bench") -> Iterator[dict[str, Any]]:
    """A mix shaped like real sessions: messages, tool calls with results of varied size, model request spans."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    for i in range(count):
        at = (start + timedelta(milliseconds=37 * i)).isoformat(timespec="microseconds").replace("+00:00", "Z")
        kind = i % 8
        base = {"id": f"sevt_{session}_{i:09d}", "processed_at": at}
        if kind == 0:
            yield {**base, "type": "span.model_request_start"}
        elif kind == 1:
            yield {**base, "type": "agent.message", "content": [{"type": "text", "text": text(rng.randint(5, 120))}]}
        elif kind == 2:
            yield {**base, "type": "agent.tool_use", "name": "bash", "input": {"command": text(8)},
                   "evaluated_permission": "allow"}
        elif kind == 3:
            yield {**base, "type": "agent.tool_result", "tool_use_id": f"sevt_{session}_{i - 1:09d}",
                   "content": [{"type": "text", "text": text(rng.choice((10, 40, 400, 1500)))}],
                   "is_error": rng.random() < 0.1}
        elif kind == 4:
            yield {**base, "type": "span.model_request_end", "model_request_start_id": f"sevt_{session}_{i - 4:09d}",
                   "is_error": False,
                   "model_usage": {"input_tokens": rng.randint(100, 9000), "output_tokens": rng.randint(10, 900),
                                   "cache_read_input_tokens": rng.randint(0, 50000),
                                   "cache_creation_input_tokens": rng.randint(0, 2000)}}
        elif kind == 5:
            yield {**base, "type": "agent.thinking"}
        elif kind == 6:
            yield {**base, "type": "session.status_running"}
        else:
            yield {**base, "type": "user.message", "content": [{"type": "text", "text": text(rng.randint(3, 60))}]}


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    elapsed: list[float] = []
    yield lambda: elapsed[0] if elapsed else time.perf_counter() - started
    elapsed.append(time.perf_counter() - started)


def report(name: str, results: dict[str, Any]) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {OUT / (name + '.json')}")


def load_average() -> str:
    """The machine's load, printed with every figure: a busy machine explains a bad number."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@contextmanager
def server_process(command: list[str], *, stop_wait: float = 10.0) -> Iterator[str]:
    """A server (the emulator) in a process of its own, so that it shares no interpreter (and GIL) with what is
    measured: started with ``command`` (argv after the Python executable), which prints its base URL first;
    yields that URL, and stops the process at the end."""
    process = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        assert match, f"the emulator did not start: {line}"
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(stop_wait)
