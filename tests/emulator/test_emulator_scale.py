"""Determinism by seed, and long sessions that are generated lazily: flat memory at any length."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import anthropic
import pytest

from recorder.apiserver.wire import format_micros, parse_micros
from recorder.emulator import Emulator, EventQuery

ROOT = Path(__file__).resolve().parents[2]


def test_same_seed_gives_byte_identical_sessions_and_another_seed_does_not():
    a, b, c = Emulator(seed=11), Emulator(seed=11), Emulator(seed=12)
    for emu in (a, b, c):
        emu.add_standard_sessions(long_events=500)
    assert a.session_ids() == b.session_ids()
    assert not set(a.session_ids()) & set(c.session_ids())
    for sa, sb, sc in zip(a.session_ids(), b.session_ids(), c.session_ids(), strict=True):
        assert a.thread_ids(sa) == b.thread_ids(sb)
        for ta, tb in zip([None, *a.thread_ids(sa)], [None, *b.thread_ids(sb)], strict=True):
            assert list(a.ground_truth_json(sa, ta)) == list(b.ground_truth_json(sb, tb))
        assert a.session(sa) == b.session(sb) and a.threads(sa) == b.threads(sb)
        assert [a.file_content(f["id"]) for f in a.files(sa)] == [b.file_content(f["id"]) for f in b.files(sb)]
        assert list(a.ground_truth_json(sa)) != list(c.ground_truth_json(sc))


def test_long_sessions_cost_nothing_until_read_and_seek_directly():
    tracemalloc.start()
    try:
        emu = Emulator(seed=1)
        started = time.perf_counter()
        sid = emu.add_session("long", events=50_000_000)
        snapshot = emu.session(sid)
        last = next(emu.events(sid, None, EventQuery(order="desc")))
        target = format_micros(parse_micros(last.processed_at) - 3_600_000_000)
        hour_before = list(islice(emu.events(sid, None, EventQuery(gte=target, types=frozenset({"agent.message"}))),
                                  5))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0 and peak < 5_000_000
    assert last.position == 50_000_000 - 1 and last.type == "session.status_idle"
    assert snapshot["status"] == "idle" and snapshot["usage"]["input_tokens"] > 10**9
    assert len(hour_before) == 5 and all(r.processed_at >= target for r in hour_before)
    assert all(r.type == "agent.message" for r in hour_before)


def test_long_session_snapshot_matches_its_events():
    emu = Emulator(seed=2)
    sid = emu.add_session("long", events=1_234)
    events = emu.ground_truth(sid)
    spans = [e["model_usage"] for e in events if e["type"] == "span.model_request_end"]
    usage = emu.session(sid)["usage"]
    assert usage["input_tokens"] == sum(s["input_tokens"] for s in spans)
    assert usage["cache_creation"]["ephemeral_5m_input_tokens"] == sum(s["cache_creation_input_tokens"] for s in spans)
    last_usage = [e for e in events if e["type"] == "session.usage"][-1]["usage"]
    assert last_usage["list_cost"]["amount"] <= usage["list_cost"]["amount"]
    assert emu.session(sid)["updated_at"] == events[-1]["processed_at"] and len(events) == 1_234
    starts = {e["id"] for e in events if e["type"] == "span.model_request_start"}
    assert all(e["model_request_start_id"] in starts for e in events if e["type"] == "span.model_request_end")
    uses = {e["id"] for e in events if e["type"] == "agent.tool_use"}
    assert all(e["tool_use_id"] in uses for e in events if e["type"] == "agent.tool_result")


def _serve_long(events: int) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "recorder", "emulator", "--port", "0", "--scenario", "long",
                             "--events", str(events), "--seed", "5"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = re.search(r"http://[\d.]+:\d+", proc.stdout.readline()).group(0)  # type: ignore[union-attr]
        session_id = proc.stdout.readline().split()[0]
        yield proc, url, session_id
    finally:
        proc.terminate()
        proc.wait(10)


def _rss_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    def grab(key: str) -> float:
        return int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
    return grab("VmRSS"), grab("VmHWM")


def test_paging_100k_events_keeps_the_emulator_flat():
    for proc, url, sid in _serve_long(100_000):
        start_rss, _ = _rss_mb(proc.pid)
        client = anthropic.Anthropic(api_key="k", base_url=url, max_retries=0)
        count, cursor, last = 0, None, None
        while True:
            raw = client.beta.sessions.events.with_raw_response.list(sid, limit=1000,
                                                                     **({"page": cursor} if cursor else {}))
            body = raw.http_response.json()
            count += len(body["data"])
            last = body["data"][-1]
            cursor = body["next_page"]
            if not cursor:
                break
        _, peak = _rss_mb(proc.pid)
        assert count == 100_000 and last["type"] == "session.status_idle"
        assert peak < 100 and peak - start_rss < 40, (start_rss, peak)


@pytest.mark.soak
def test_paging_a_million_events_with_the_sdk_stays_under_300_mb():
    for proc, url, sid in _serve_long(1_000_000):
        client = anthropic.Anthropic(api_key="k", base_url=url, max_retries=2, timeout=120)
        count = 0
        previous = None
        for event in client.beta.sessions.events.list(sid, limit=1000):
            assert previous is None or event.processed_at >= previous
            previous = event.processed_at
            count += 1
        _, peak = _rss_mb(proc.pid)
        assert count == 1_000_000 and peak < 300, peak
