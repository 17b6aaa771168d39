"""Event streams as the emulator keeps them: an indexable sequence of records plus subscriptions to new ones.

:class:`IndexedStream` answers list queries for any stream whose i-th event can be had by index: it seeks time
bounds by binary search over ``time_at`` (``processed_at`` is non-decreasing in list order) and tests types with
``type_at`` before building a record, so a lazily generated stream is read without computing what a query skips.
Position = index.

:class:`StreamLog` is the in-memory, append-only stream of a generated or live session. It also holds *queued*
events (``processed_at`` null: a user event the agent has not picked up yet), listed after every processed
event; when the processed version of a queued event arrives (same id) it replaces the queued one.
"""

from __future__ import annotations

import queue
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any, Protocol

from recorder.apiserver.source import EventQuery, EventRecord


class IndexedStream:
    """A stream addressable by index. Subclasses provide ``__len__``, ``record``, ``time_at`` and ``type_at``."""

    ended = True

    def __len__(self) -> int:
        raise NotImplementedError

    def record(self, index: int) -> EventRecord:
        raise NotImplementedError

    def time_at(self, index: int) -> str:
        raise NotImplementedError

    def type_at(self, index: int) -> str:
        raise NotImplementedError

    def queued(self) -> list[EventRecord]:
        return []

    def records(self, query: EventQuery) -> Iterator[EventRecord]:
        """The records matching ``query``, lazily, in its order."""
        n = len(self)
        queued = self.queued() if not query.has_time_bounds() else []
        if query.types is not None:
            queued = [r for r in queued if r.type in query.types]
        lo, hi = self._time_window(n, query)
        if query.order == "asc":
            start = lo if query.after is None else max(lo, query.after + 1)
            yield from self._scan(range(start, hi), query)
            for j, rec in enumerate(queued):
                if query.after is None or n + j > query.after:
                    yield _at(rec, n + j)
        else:
            if query.after is None or query.after >= n:
                for j in range(len(queued) - 1, -1, -1):
                    if query.after is None or n + j < query.after:
                        yield _at(queued[j], n + j)
            stop = hi if query.after is None else min(hi, query.after)
            yield from self._scan(range(stop - 1, lo - 1, -1), query)

    def _scan(self, indexes: range, query: EventQuery) -> Iterator[EventRecord]:
        types = query.types
        for i in indexes:
            if types is not None and self.type_at(i) not in types:
                continue
            yield self.record(i)

    def _time_window(self, n: int, query: EventQuery) -> tuple[int, int]:
        """The index range [lo, hi) whose ``processed_at`` satisfies the time bounds."""
        lo, hi = 0, n
        key = self.time_at
        if query.gte is not None:
            lo = max(lo, bisect_left(range(n), query.gte, key=key))
        if query.gt is not None:
            lo = max(lo, bisect_right(range(n), query.gt, key=key))
        if query.lte is not None:
            hi = min(hi, bisect_right(range(n), query.lte, key=key))
        if query.lt is not None:
            hi = min(hi, bisect_left(range(n), query.lt, key=key))
        return lo, max(lo, hi)


def _at(record: EventRecord, position: int) -> EventRecord:
    return record if record.position == position else EventRecord(position, record.type, None, record.json)


_END = object()


class _Owner(Protocol):
    def unsubscribe(self, sub: Subscriber) -> None: ...


class Subscriber:
    """A subscription to a :class:`StreamLog` or another owner (see :class:`recorder.apiserver.source.Subscription`).
    Without an owner it is finished from the start (a stream that can emit nothing more)."""

    def __init__(self, log: _Owner | None) -> None:
        self._log = log
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._finished = log is None

    def push(self, record: EventRecord) -> None:
        self._queue.put(record)

    def end(self) -> None:
        self._queue.put(_END)

    def get(self, timeout: float) -> EventRecord | None:
        if self._finished:
            return None
        try:
            item = self._queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if item is _END:
            self._finished = True
            self.close()
            return None
        return item

    @property
    def finished(self) -> bool:
        return self._finished

    def close(self) -> None:
        if self._log is not None:
            self._log.unsubscribe(self)
            self._log = None


class StreamLog(IndexedStream):
    """An in-memory stream that grows while a live session runs. Appends happen under the session's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._records: list[EventRecord] = []
        self._queued: dict[str, EventRecord] = {}
        self._subscribers: list[Subscriber] = []
        self.ended = False

    def __len__(self) -> int:
        return len(self._records)

    def record(self, index: int) -> EventRecord:
        return self._records[index]

    def time_at(self, index: int) -> str:
        return self._records[index].processed_at or ""

    def type_at(self, index: int) -> str:
        return self._records[index].type

    def queued(self) -> list[EventRecord]:
        with self._lock:
            return list(self._queued.values())

    def append(self, event_id: str, event_type: str, processed_at: str | None, text: str) -> None:
        """Add one event (``processed_at`` None: queued) and hand it to the subscribers."""
        with self._lock:
            if processed_at is None:
                record = EventRecord(len(self._records) + len(self._queued), event_type, None, text)
                self._queued[event_id] = record
            else:
                self._queued.pop(event_id, None)
                record = EventRecord(len(self._records), event_type, processed_at, text)
                self._records.append(record)
            for sub in self._subscribers:
                sub.push(record)

    def end(self) -> None:
        """The stream is over (its session or thread terminated): subscriptions finish after what they hold."""
        with self._lock:
            self.ended = True
            for sub in self._subscribers:
                sub.end()
            self._subscribers.clear()

    def finish_with(self, record: EventRecord) -> None:
        """Hand ``record`` to the open subscriptions only (it is not part of the stream's history), then end:
        how an open stream learns that its session was deleted."""
        with self._lock:
            for sub in self._subscribers:
                sub.push(record)
        self.end()

    def subscribe(self) -> Subscriber:
        with self._lock:
            if self.ended:
                return Subscriber(None)
            sub = Subscriber(self)
            self._subscribers.append(sub)
            return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def texts(self) -> list[str]:
        """Every event's JSON text in list order (queued ones last): what paging the whole stream delivers."""
        with self._lock:
            return [r.json for r in self._records] + [r.json for r in self._queued.values()]
