"""Writer processes for the concurrency tests (importable by multiprocessing's spawn)."""

from __future__ import annotations

from typing import Any

from recorder.events import raw_event
from recorder.store import EventStore
from tests.helpers import message

STREAMS = [("sesn_shared", None), ("sesn_shared", "sthr_1"), ("sesn_other", None)]


def writer_batches(writer: int, batches: int, per_batch: int) -> list[list[Any]]:
    """Each batch holds events of every shared stream: some private to this writer, some shared by all."""
    out = []
    for b in range(batches):
        batch = []
        for session, thread in STREAMS:
            for k in range(per_batch):
                own = message(0, text=f"w{writer} b{b} k{k}")
                own["id"] = f"sevt_w{writer}_b{b}_k{k}"
                batch.append(raw_event(own, session, thread))
                shared = message(0, text=f"shared b{b} k{k}")
                shared["id"] = f"sevt_shared_b{b}_k{k}"
                batch.append(raw_event(shared, session, thread))
        out.append(batch)
    return out


def write(url: str, writer: int, batches: int, per_batch: int) -> list[tuple[int | None, int | None, int]]:
    """Append this writer's batches; return (first_position, last_position, added) per batch."""
    results = []
    with EventStore(url) as store:
        for batch in writer_batches(writer, batches, per_batch):
            result = store.append(batch)
            results.append((result.first_position, result.last_position, result.added))
    return results
