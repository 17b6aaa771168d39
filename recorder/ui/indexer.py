"""Keeping the UI's read models caught up with the log while the server runs.

One background thread: from the start, and then every ``interval`` seconds, it brings the search index and
totals (:class:`recorder.store.SearchIndex`) up to the log's head, 20,000 events per step, so the server answers
at once even while the first indexing of a large log is under way (the pages say how far behind it is).

The analytics read model (DuckDB) is brought up to date when ``/usage`` asks for it (see
:meth:`Indexer.analytics`), under one lock: DuckDB allows one writer. An error is kept (and shown on the pages)
rather than ending the thread: the log may be briefly unreachable.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recorder.errors import RecorderError
from recorder.store import EventStore, SearchIndex


class Indexer:
    def __init__(self, store: EventStore, db_url: str, analytics_db: str | Path | None = None, *,
                 interval: float = 2.0) -> None:
        self.store = store
        self.index = SearchIndex(store)
        self.db_url = db_url
        self.analytics_db = analytics_db
        self.interval = interval
        self.error: str | None = None
        self._lock = threading.Lock()
        self._analytics_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self, *, wait: float = 2.0, max_rows: int | None = 20_000) -> int:
        """Index up to ``max_rows`` new log events now (pages that show the latest call this too). Waits at most
        ``wait`` seconds for another catch-up to finish, then leaves it to that one: a page never waits for the
        first indexing of a large log, which the background thread does a step at a time."""
        if not self._lock.acquire(timeout=wait):
            return 0
        try:
            done = self.index.catch_up(max_rows=max_rows)
        except RecorderError as err:
            self.error = str(err)
            return 0
        finally:
            self._lock.release()
        self.error = None
        return done

    def reset(self) -> None:
        """Empty the read model; the thread rebuilds it from the log."""
        with self._lock:
            self.index.reset()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recorder-ui-indexer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.catch_up(wait=self.interval):  # nothing new (or busy): rest; else go on at once
                self._stop.wait(self.interval)

    @contextlib.contextmanager
    def analytics(self) -> Iterator[Any]:
        """The analytics read model, updated from the log first."""
        from recorder.analytics.service import opened

        with self._analytics_lock, opened(self.db_url, self.analytics_db) as projection:
            yield projection
