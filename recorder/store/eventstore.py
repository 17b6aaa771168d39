"""``EventStore``: the log behind a database URL, as most callers use it.

A facade: it *is* the :class:`~recorder.store.database.Database` (engine, transactions, log lock) and hands each
call to the module that owns it: :class:`~recorder.store.log.EventLog` (append, checkpoints),
:class:`~recorder.store.catalog.Catalog` (sessions, snapshots, runs), :class:`~recorder.store.tail.SqlLogTail`
(reads by position) and :class:`~recorder.store.streams.SqlStreamReads` (reads by stream). It satisfies the
consumers' protocols (:class:`~recorder.store.tail.LogTail`, :class:`~recorder.store.streams.StreamReads`), so
code typed against a protocol takes an ``EventStore``. The stores of other concerns (compliance, leases, files)
take it as their ``Database``. Its methods hold no SQL: add new queries to the module that owns the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from recorder.errors import LeaseLost
from recorder.events import RawEvent
from recorder.store.catalog import Catalog
from recorder.store.database import Database
from recorder.store.files import archived_ids_in
from recorder.store.log import EventLog, Fence
from recorder.store.rows import (
    AppendRequest,
    AppendResult,
    Checkpoint,
    EventRow,
    LatestSnapshot,
    LogTuple,
    PrunedRange,
    RunRow,
    SessionProgress,
    SessionSummary,
    StoredEvent,
    StreamRow,
)
from recorder.store.sql import make_engine
from recorder.store.streams import SqlStreamReads
from recorder.store.tail import SqlLogTail


class EventStore(Database):
    """The event log behind a database URL. Thread-safe: each call uses its own connection from the engine."""

    def __init__(self, url: str, *, engine: Engine | None = None, check_schema: bool = True) -> None:
        super().__init__(url, engine=engine, check_schema=check_schema)
        self.log = EventLog(self)
        self.catalog = Catalog(self)
        self.tail = SqlLogTail(self)
        self.stream_reads = SqlStreamReads(self)

    # ---- append and checkpoints (EventLog)

    def append(
        self,
        batch: Iterable[RawEvent],
        *,
        run_id: int | None = None,
        checkpoints: Iterable[Checkpoint] = (),
        fence: Fence | None = None,
        before_commit: Callable[[Connection], None] | None = None,
    ) -> AppendResult:
        """See :meth:`EventLog.append`."""
        return self.log.append(batch, run_id=run_id, checkpoints=checkpoints, fence=fence,
                               before_commit=before_commit)

    def append_many(
        self, requests: Sequence[AppendRequest], *, before_commit: Callable[[Connection], None] | None = None
    ) -> list[AppendResult | LeaseLost]:
        """See :meth:`EventLog.append_many` (group commit)."""
        return self.log.append_many(requests, before_commit=before_commit)

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.log.save_checkpoint(checkpoint)

    def checkpoint(self, session_id: str, thread_id: str | None = None) -> Checkpoint | None:
        return self.log.checkpoint(session_id, thread_id)

    def progress(self, session_id: str) -> SessionProgress:
        """The session's checkpoints (every stream's) and archived file ids, in one read transaction: what a
        recorder that just took the session's lease needs before it reads any stream."""
        with self.read() as conn:
            return SessionProgress(self.log.checkpoints(conn, session_id), frozenset(archived_ids_in(conn, session_id)))

    # ---- sessions, snapshots, runs (Catalog)

    def session_ids(self) -> list[str]:
        return self.catalog.session_ids()

    def has_session(self, session_id: str) -> bool:
        return self.catalog.has_session(session_id)

    def require_session(self, session_id: str) -> None:
        self.catalog.require_session(session_id)

    def thread_ids(self, session_id: str) -> list[str]:
        return self.catalog.thread_ids(session_id)

    def sessions(self) -> list[SessionSummary]:
        return self.catalog.sessions()

    def record_snapshot(
        self, session_id: str, snapshot: dict[str, Any], *, thread_id: str | None = None, run_id: int | None = None
    ) -> bool:
        return self.catalog.record_snapshot(session_id, snapshot, thread_id=thread_id, run_id=run_id)

    def record_snapshots(
        self, session_id: str, snapshots: Sequence[tuple[str | None, dict[str, Any]]], *, run_id: int | None = None
    ) -> list[bool]:
        return self.catalog.record_snapshots(session_id, snapshots, run_id=run_id)

    def latest_snapshot(self, session_id: str, thread_id: str | None = None) -> dict[str, Any] | None:
        return self.catalog.latest_snapshot(session_id, thread_id)

    def latest_snapshots(self) -> list[LatestSnapshot]:
        return self.catalog.latest_snapshots()

    def start_run(self, *, mode: str, command: str, user: str, host: str, pid: int, version: str) -> int:
        return self.catalog.start_run(mode=mode, command=command, user=user, host=host, pid=pid, version=version)

    def finish_run(
        self, run_id: int, *, outcome: str, sessions_count: int, events_added: int, error: str | None = None
    ) -> None:
        self.catalog.finish_run(run_id, outcome=outcome, sessions_count=sessions_count, events_added=events_added,
                                error=error)

    def runs(self, limit: int = 50) -> list[RunRow]:
        return self.catalog.runs(limit)

    # ---- reads by position (SqlLogTail)

    def head_position(self) -> int:
        return self.tail.head_position()

    def read_log(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return self.tail.read_log(after_position, limit)

    def read_log_rows(
        self, after_position: int = 0, limit: int = 10_000, until_position: int | None = None
    ) -> list[LogTuple]:
        return self.tail.read_log_rows(after_position, limit, until_position)

    def pruned_ranges(self) -> list[PrunedRange]:
        return self.tail.pruned_ranges()

    # ---- reads by stream (SqlStreamReads)

    def stream_info(self, session_id: str, thread_id: str | None = None) -> StreamRow | None:
        return self.stream_reads.stream_info(session_id, thread_id)

    def streams(self, session_id: str | None = None) -> list[StreamRow]:
        return self.stream_reads.streams(session_id)

    def stream_events(
        self,
        session_id: str,
        thread_id: str | None = None,
        *,
        after_seq: int = 0,
        types: Sequence[str] | None = None,
        batch_size: int = 2000,
    ) -> Iterator[StoredEvent]:
        return self.stream_reads.stream_events(session_id, thread_id, after_seq=after_seq, types=types,
                                               batch_size=batch_size)

    def session_events(self, session_id: str, batch_size: int = 2000) -> Iterator[StoredEvent]:
        return self.stream_reads.session_events(session_id, batch_size)

    def read_stream(
        self,
        session_id: str,
        thread_id: str | None = None,
        *,
        after_seq: int | None = None,
        descending: bool = False,
        types: Sequence[str] | None = None,
        processed_gt: datetime | None = None,
        processed_gte: datetime | None = None,
        processed_lt: datetime | None = None,
        processed_lte: datetime | None = None,
        batch_size: int = 5000,
    ) -> Iterator[EventRow]:
        return self.stream_reads.read_stream(
            session_id, thread_id, after_seq=after_seq, descending=descending, types=types,
            processed_gt=processed_gt, processed_gte=processed_gte, processed_lt=processed_lt,
            processed_lte=processed_lte, batch_size=batch_size,
        )

    def read_stream_extras(
        self, session_id: str, thread_id: str, *, batch_size: int = 5000
    ) -> Iterator[tuple[str | None, EventRow]]:
        return self.stream_reads.read_stream_extras(session_id, thread_id, batch_size=batch_size)

    def find_event(self, session_id: str, event_id: str) -> list[tuple[str | None, EventRow]]:
        return self.stream_reads.find_event(session_id, event_id)


def open_read_only(url: str, *, check_schema: bool = True) -> EventStore:
    """The event log at ``url`` opened for reading only: SQLite ``mode=ro`` (``immutable`` on read-only media),
    PostgreSQL ``default_transaction_read_only`` (see :mod:`recorder.store.readonly`)."""
    return EventStore(url, engine=make_engine(url, read_only=True), check_schema=check_schema)
