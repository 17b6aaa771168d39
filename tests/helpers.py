"""Small builders shared by tests: realistic event objects and checks of a stream's invariants."""

from __future__ import annotations

import asyncio
import json
import threading
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from recorder.events import RawEvent, raw_event
from recorder.store import EventStore, chain

BASE_TIME = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def stamp(i: int) -> str:
    return (BASE_TIME + timedelta(milliseconds=i)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def message(i: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": f"sevt_{i:08d}",
        "type": "agent.message",
        "content": [{"type": "text", "text": text if text is not None else f"message number {i}"}],
        "processed_at": stamp(i),
    }
    obj.update(extra)
    return obj


def span_end(i: int, start_id: str, tokens: int = 100) -> dict[str, Any]:
    return {
        "id": f"sevt_{i:08d}",
        "type": "span.model_request_end",
        "model_request_start_id": start_id,
        "is_error": False,
        "model_usage": {
            "input_tokens": tokens,
            "output_tokens": tokens // 2,
            "cache_read_input_tokens": tokens // 4,
            "cache_creation_input_tokens": 7,
        },
        "processed_at": stamp(i),
    }


def interrupt(i: int) -> dict[str, Any]:
    """A user.interrupt as the API sends it: with an empty id."""
    return {"id": "", "type": "user.interrupt", "processed_at": stamp(i)}


def raws(objs: list[dict[str, Any]], session: str = "sesn_a", thread: str | None = None) -> list[RawEvent]:
    return [raw_event(obj, session, thread) for obj in objs]


def stream_payloads(store: EventStore, session: str, thread: str | None = None) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in store.stream_events(session, thread)]


def assert_stream_invariants(store: EventStore, session: str, thread: str | None = None) -> int:
    """Sequences are 1..n without gaps, keys unique, and the hash chain recomputes to the stored head."""
    info = store.stream_info(session, thread)
    assert info is not None
    previous = chain.genesis(session, thread)
    keys: set[str] = set()
    count = 0
    for count, event in enumerate(store.stream_events(session, thread), start=1):
        assert event.seq == count, f"sequence gap in {session}/{thread}: expected {count}, found {event.seq}"
        assert event.event_key not in keys, f"duplicate key {event.event_key}"
        keys.add(event.event_key)
        digest = chain.payload_hash(event.payload)
        assert event.payload_hash == digest
        previous = chain.chain_hash(previous, event.seq, digest)
        assert event.chain_hash == previous, f"chain broken at seq {event.seq}"
    assert info.last_seq == count
    assert info.head_hash == previous
    return count


def assert_log_gapless(store: EventStore) -> int:
    """Global positions are exactly 1..head."""
    positions: list[int] = []
    after = 0
    while batch := store.read_log(after, 5000):
        positions.extend(e.position for e in batch)
        after = batch[-1].position
    assert positions == list(range(1, len(positions) + 1))
    assert store.head_position() == len(positions)
    return len(positions)


def traced_peak(run: Callable[[], object]) -> int:
    """The peak of Python's heap (tracemalloc) while ``run()`` runs, in bytes."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def cancel_once_started(task: asyncio.Future[Any], started: threading.Event,
                              then: Callable[[], object] = lambda: None) -> bool:
    """Cancel ``task`` once ``started`` is set (by the thread doing the work it waits on), give the cancellation a
    moment to reach it, call ``then``, and wait for the task: whether it ended cancelled (the cancellation went
    on once its work was done, instead of being swallowed)."""
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    then()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False
