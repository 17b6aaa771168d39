"""Reading and flattening a long stretch of the log in worker processes, while the caller writes DuckDB.

Used by :meth:`recorder.analytics.projection.Projection.update` when it is far behind (a first projection, a rebuild).
The stretch is cut into fixed ranges of positions; each worker reads one range from the store (its own
connection) and flattens it; the caller gets the ranges back **in order** and writes each in its own DuckDB
transaction with the checkpoint, exactly as the sequential path does. Flattening is pure Python, so processes,
not threads, are what lets it run beside the writer.

Every position up to the log head read before starting is committed (appends are serialized and move the head in
their own transaction), so fixed ranges never skip a late-committing event.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from recorder.store import EventStore

from .extract import Batch, Flattener

RANGE_ROWS = 20_000
MIN_ROWS = 100_000  # below this, worker start-up costs more than it saves
MIN_BATCH_ROWS = 100
BATCH_PAYLOAD_CHARS = 48_000_000  # shrink batches of big payloads so memory stays bounded

_store: EventStore | None = None


def default_workers() -> int:
    """One process per core, at most four: reading and flattening costs more than the caller's writing."""
    return max(1, min(4, os.cpu_count() or 2))


def _start(url: str) -> None:
    global _store
    _store = EventStore(url)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: flattening allocates millions of tuples and makes no cycles, and the
    collector's passes over them cost several percent of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _flatten_range(after: int, until: int, batch_rows: int) -> tuple[Batch, int | None, str | None, int]:
    """Read and flatten the log rows in (after, until]: (facts, last position, its chain hash, rows)."""
    with paused_gc():
        return _flatten(after, until, batch_rows)


def _flatten(after: int, until: int, batch_rows: int) -> tuple[Batch, int | None, str | None, int]:
    assert _store is not None
    flattener = Flattener()
    merged: Batch | None = None
    last, count = None, 0
    position, limit = after, min(batch_rows, 2_000)
    while position < until:
        rows = _store.read_log_rows(position, limit, until)
        if not rows:
            break
        batch = flattener.flatten(rows)
        limit = next_limit(limit, batch_rows, len(rows), batch.payload_chars)
        merged = batch if merged is None else _merge(merged, batch)
        position = last = rows[-1][0]
        count += len(rows)
    chain_hash = None
    if last is not None:
        found = _store.read_log(last - 1, 1)
        chain_hash = found[0].chain_hash if found and found[0].position == last else None
    return merged or Batch(), last, chain_hash, count


def next_limit(limit: int, ceiling: int, got: int, payload_chars: int) -> int:
    """Adapt the batch size so a batch's payloads stay around BATCH_PAYLOAD_CHARS (big tool results)."""
    if got == 0:
        return limit
    per_row = max(payload_chars / got, 1.0)
    target = int(BATCH_PAYLOAD_CHARS / per_row)
    return max(min(MIN_BATCH_ROWS, ceiling), min(ceiling, target))


def _merge(into: Batch, more: Batch) -> Batch:
    for name, rows in more.tables().items():
        into.tables()[name].extend(rows)
    for stream_id, stream in more.streams.items():
        into.streams.setdefault(stream_id, stream)
    into.payload_chars += more.payload_chars
    into.unparseable += more.unparseable
    return into


def flattened(url: str, after: int, until: int, *, workers: int, batch_rows: int,
              range_rows: int = RANGE_ROWS) -> Iterator[tuple[Batch, int | None, str | None, int]]:
    """The ranges of (after, until], flattened by ``workers`` processes, yielded in position order."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(url,))
    pending: deque[Future[tuple[Batch, int | None, str | None, int]]] = deque()
    start = after
    try:
        while pending or start < until:
            while start < until and len(pending) < workers * 2:
                stop = min(start + range_rows, until)
                pending.append(pool.submit(_flatten_range, start, stop, min(batch_rows, range_rows)))
                start = stop
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
