"""Backfill against a remote API: 200 finished sessions behind an 80 ms per-request latency (the emulator in its own
process with ``--faults slow_first_byte=0.08``), recorded with ``record --all`` at concurrency 8, 32 and 128.

Each run stands next to two ideals measured in the same run:

- *formula*: the requests the recorder made × 80 ms / concurrency (every request in flight all the time);
- *bare client*: a bare async ``httpx2`` client making the same requests (sessions list, one retrieve, the event
  pages, the threads and their pages, the file list and downloads) with the same dependencies and concurrency,
  parsing nothing and storing nothing.

Target (issue 15): the recorder within 1.3x of the ideal up to concurrency 32. ``BENCH_BACKFILL_SESSIONS`` (default
200) and ``BENCH_BACKFILL_CONCURRENCY`` (default ``8,32,128``) make it smaller or larger.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2

from recorder import heap
from recorder.record import RecordOptions, make_client, run_recording
from recorder.store import EventStore, migrate
from tests.benchmarks.common import report, server_process

LATENCY = 0.08
SESSIONS = int(os.environ.get("BENCH_BACKFILL_SESSIONS", "200"))
CONCURRENCY = tuple(int(c) for c in os.environ.get("BENCH_BACKFILL_CONCURRENCY", "8,32,128").split(","))
BETA = {"anthropic-beta": "managed-agents-2026-04-01", "x-api-key": "bench-key", "anthropic-version": "2023-06-01"}


EMULATOR = """
import sys, time
from recorder.emulator import Emulator
sessions, latency = int(sys.argv[1]), sys.argv[2]
emu = Emulator(seed=15, faults=f"slow_first_byte={latency}")
many = sessions - sessions // 4
for _ in range(many):
    emu.add_session("tool_use")
for _ in range(sessions - many):
    emu.add_session("multi_agent")
server = emu.server()
server.max_connections = 1024  # (default 64: concurrency 128 would meet 503s, a limit of the emulator, not the API)
server.start()
print(server.base_url, flush=True)
while True:
    time.sleep(3600)
"""


@contextlib.contextmanager
def slow_emulator() -> Iterator[str]:
    """The emulator in a process of its own: 3/4 tool_use sessions (three output files each), 1/4 multi_agent (three
    subagent threads), every request answered after ``LATENCY`` seconds (``slow_first_byte``)."""
    with server_process(["-c", EMULATOR, str(SESSIONS), str(LATENCY)]) as url:
        yield url


def recorder_run(base_url: str, folder: Path, concurrency: int) -> tuple[float, int, Counter[str]]:
    """``record --all`` in this process, with the recorder's own HTTP clients (pool limits, TLS context, one pool
    per few sessions); returns seconds, events added and the requests made, by kind."""
    url = f"sqlite:///{folder / f'backfill{concurrency}.db'}"
    migrate.upgrade(url)
    requests: Counter[str] = Counter()

    async def count(request: Any) -> None:
        requests[_kind(request.url.path)] += 1

    with EventStore(url) as store:
        started = time.perf_counter()
        with heap.tuned_for_recording():  # as the record command runs it
            result = run_recording(
                store, [], RecordOptions(max_rpm=None, concurrency=concurrency), discover=True,
                client_factory=lambda: make_client(api_key="bench-key", base_url=base_url,
                                                   event_hooks={"request": [count]}))
        elapsed = time.perf_counter() - started
        assert result.outcome == "ok" and not result.failed, [o.error for o in result.failed]
        assert len(result.sessions) == SESSIONS
    return elapsed, result.events_added, requests


def _kind(path: str) -> str:
    parts = path.strip("/").split("/")[1:]  # without "v1"
    if parts[0] == "files":
        return "file download" if parts[-1] == "content" else "files list"
    if len(parts) == 1:
        return "sessions list"
    if len(parts) == 2:
        return "session retrieve"
    if parts[2] == "events":
        return "session events page"
    return "thread events page" if parts[-1] == "events" else "threads list"


async def bare_client(base_url: str, concurrency: int) -> tuple[float, int]:
    """The same requests with a bare client, same dependencies and concurrency; returns seconds, requests."""
    made = 0
    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx2.AsyncClient(base_url=base_url, headers=BETA, limits=limits, timeout=60) as client:

        async def get(path: str, **params: Any) -> Any:
            nonlocal made
            made += 1
            for attempt in range(5):  # as any client would: a connection the server dropped is tried again
                try:
                    response = await client.get(path, params=params)
                    break
                except httpx2.TransportError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.1 * (attempt + 1))
            response.raise_for_status()
            return response.json() if "content" not in path else response.content

        async def pages(path: str, **params: Any) -> list[Any]:
            items: list[Any] = []
            while True:
                body = await get(path, **params)
                items += body["data"]
                if not body.get("next_page"):
                    return items
                params["page"] = body["next_page"]

        async def session(sid: str) -> None:
            await get(f"/v1/sessions/{sid}")

            async def threads() -> None:
                for thread in await pages(f"/v1/sessions/{sid}/threads"):
                    await pages(f"/v1/sessions/{sid}/threads/{thread['id']}/events", limit=1000)

            await asyncio.gather(pages(f"/v1/sessions/{sid}/events", limit=1000, order="asc"), threads())
            files = await pages("/v1/files", scope_id=sid)
            for file in files:
                await get(f"/v1/files/{file['id']}/content")

        limiter = asyncio.Semaphore(concurrency)

        async def one(sid: str) -> None:
            async with limiter:
                await session(sid)

        started = time.perf_counter()
        sessions = await pages("/v1/sessions", limit=100, include_archived="true", order="asc")
        await asyncio.gather(*(one(s["id"]) for s in sessions))
        return time.perf_counter() - started, made


def main() -> None:
    rows: list[dict[str, Any]] = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    with slow_emulator() as base_url, tempfile.TemporaryDirectory() as tmp:
        for concurrency in CONCURRENCY:
            bare_s, bare_requests = asyncio.run(bare_client(base_url, concurrency))
            rec_s, events, requests = recorder_run(base_url, Path(tmp), concurrency)
            made = sum(requests.values())
            formula = made * LATENCY / concurrency
            ideal = max(formula, bare_s)
            rows.append({
                "concurrency": concurrency, "recorder_s": round(rec_s, 3), "events_added": events,
                "events_per_s": round(events / rec_s), "requests": made, "requests_by_kind": dict(requests),
                "bare_client_s": round(bare_s, 3), "bare_client_requests": bare_requests,
                "formula_ideal_s": round(formula, 3), "ratio_over_bare": round(rec_s / bare_s, 3),
                "ratio_over_formula": round(rec_s / formula, 3), "ratio_over_ideal": round(rec_s / ideal, 3),
                "load_average_1m": round(os.getloadavg()[0], 2),
            })
            print(f"  concurrency {concurrency}: recorder {rec_s:.2f} s, bare client {bare_s:.2f} s, requests x latency"
                  f" / concurrency {formula:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"backfill of {SESSIONS} finished sessions, {LATENCY * 1000:.0f} ms per request "
          f"(load average before {load_before[0]:.1f}, {os.cpu_count()} CPUs)")
    print(f"  {'conc':>4} {'recorder':>9} {'events/s':>9} {'requests':>8} {'bare':>7} {'formula':>8}"
          f" {'/bare':>6} {'/formula':>8}  load")
    for row in rows:
        print(f"  {row['concurrency']:>4} {row['recorder_s']:>8.2f}s {row['events_per_s']:>9,} {row['requests']:>8}"
              f" {row['bare_client_s']:>6.2f}s {row['formula_ideal_s']:>7.2f}s {row['ratio_over_bare']:>5.2f}x"
              f" {row['ratio_over_formula']:>7.2f}x  {row['load_average_1m']:.1f}")
    kinds = sorted(rows[-1]["requests_by_kind"].items())
    print("  requests by kind (last run): " + ", ".join(f"{k} {v}" for k, v in kinds))
    print("  target: recorder within 1.3x of the ideal (the larger of bare and formula) up to concurrency 32")
    report("backfill", {"sessions": SESSIONS, "latency_s": LATENCY, "load_average_before": load_before,
                        "runs": rows, "target_ratio_up_to_32": 1.3})


if __name__ == "__main__":
    main()
