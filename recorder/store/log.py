"""The event log's write side: idempotent, atomic, ordered appends, and the checkpoints written with them.

Append protocol (one database transaction per batch, all or nothing):

1. Take the log's write lock (:meth:`Database.lock_log`): ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE``
   of the ``log_head`` row on PostgreSQL. Appends are therefore serialized, global positions are handed out
   gaplessly and become visible in order, so a reader tailing by position can never skip an event whose
   transaction commits late.
2. Per stream in the batch: create the stream if new, drop events whose key the stream already holds (and
   repeats inside the batch), give the rest the next sequence numbers and extend the hash chain.
3. Insert the rows, move the stream heads and ``log_head``, write checkpoints, commit.

Reads live beside it: :mod:`recorder.store.tail` (by position) and :mod:`recorder.store.streams` (by stream).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select, update

from recorder.errors import StoreError
from recorder.events import RawEvent
from recorder.store import chain
from recorder.store import schema as t
from recorder.store.catalog import ensure_session, ensure_thread
from recorder.store.database import Database, inserted_id, utcnow
from recorder.store.rows import AppendResult, Checkpoint, StreamRow, stream_key
from recorder.store.sql import translated

KEY_LOOKUP_CHUNK = 500


class Fence(Protocol):
    """Something checked inside an append's transaction, under the log's write lock (see recorder.store.leases)."""

    def check(self, conn: Connection) -> None: ...


EVENT_COLUMNS = [column.name for column in t.events.columns]
assert EVENT_COLUMNS[8:10] == ["processed_at", "recorded_at"], "append builds rows in this column order"
_PROCESSED_AT_INDEX = 8
_INSERT_EVENTS = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
_COPY_EVENTS = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


@functools.cache
def _sqlite_key_lookup(count: int) -> str:
    return f"SELECT event_key, stream_id FROM events WHERE event_key IN ({', '.join('?' * count)})"


def sqlite_datetime(value: datetime | None) -> str | None:
    """A naive UTC datetime as SQLAlchemy's SQLite DATETIME stores it ("YYYY-MM-DD HH:MM:SS.ffffff"), for rows
    inserted through the driver; a test holds it to SQLAlchemy's own conversion."""
    return None if value is None else value.isoformat(" ", "microseconds")


class EventLog:
    """Appends to the log behind a :class:`Database`, and the checkpoints of recording."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- append

    def append(
        self,
        batch: Iterable[RawEvent],
        *,
        run_id: int | None = None,
        checkpoints: Iterable[Checkpoint] = (),
        fence: Fence | None = None,
        before_commit: Callable[[Connection], None] | None = None,
    ) -> AppendResult:
        """Append a batch atomically. Events already in their stream are skipped (idempotent).

        ``checkpoints`` are written in the same transaction. With a ``fence`` (a session lease), the batch is
        refused with LeaseLost unless that lease is still the session's current one, checked under the log's
        write lock: a recorder that lost its lease can never write. ``before_commit`` runs inside the
        transaction just before it commits (tests use it to hold a transaction open).
        """
        events = list(batch)
        checkpoints = list(checkpoints)
        if not events and not checkpoints:
            return AppendResult(0, 0)
        now = utcnow()
        with self.db.write() as conn:
            position = self.db.lock_log(conn)
            if fence is not None:
                fence.check(conn)
            first_position = position + 1
            streams: dict[tuple[str, str | None], StreamRow] = {}
            fresh: dict[tuple[str, str | None], set[str]] = {}
            for key in dict.fromkeys((e.session_id, e.thread_id) for e in events):
                info = self._stream_row(conn, key[0], key[1], now)
                streams[key] = info
                keys = [e.event_key for e in events if (e.session_id, e.thread_id) == key]
                known = self._known_keys(conn, info.stream_id, keys)
                fresh[key] = set(keys) - known

            rows: list[tuple[Any, ...]] = []
            heads = {key: (info.last_seq, info.head_hash) for key, info in streams.items()}
            for event in events:
                key = (event.session_id, event.thread_id)
                if event.event_key not in fresh[key]:
                    continue
                fresh[key].discard(event.event_key)  # a repeat later in this batch is skipped too
                seq, previous = heads[key]
                seq += 1
                position += 1
                digest = chain.payload_hash(event.payload)
                head = chain.chain_hash(previous, seq, digest)
                heads[key] = (seq, head)
                rows.append((  # EVENT_COLUMNS order
                    position, streams[key].stream_id, seq, event.session_id, event.thread_id, event.event_id,
                    event.event_key, event.type, event.processed_at, now, event.payload, digest, head, run_id,
                    event.scrubbed,
                ))
            if rows:
                self._insert_events(conn, rows)
                for key, info in streams.items():
                    seq, head = heads[key]
                    if seq != info.last_seq:
                        conn.execute(
                            update(t.streams)
                            .where(t.streams.c.stream_id == info.stream_id)
                            .values(last_seq=seq, head_hash=head)
                        )
                conn.execute(update(t.log_head).where(t.log_head.c.id == 1).values(last_position=position))
                touched = sorted({session for session, _ in streams})
                conn.execute(
                    update(t.sessions).where(t.sessions.c.session_id.in_(touched)).values(last_recorded_at=now)
                )
            for checkpoint in checkpoints:
                self._write_checkpoint(conn, checkpoint, now)
            if before_commit is not None:
                before_commit(conn)
        added = len(rows)
        if added and self.db.dialect == "postgresql" and _crossed_power_of_ten(first_position - 1, position):
            self._refresh_statistics()
        return AppendResult(
            added=added,
            skipped=len(events) - added,
            first_position=first_position if added else None,
            last_position=position if added else None,
        )

    def _stream_row(self, conn: Connection, session_id: str, thread_id: str | None, now: datetime) -> StreamRow:
        """The stream's row, created (with its session's and thread's) if new."""
        key = stream_key(session_id, thread_id)
        row = conn.execute(
            select(t.streams.c.stream_id, t.streams.c.last_seq, t.streams.c.head_hash).where(
                t.streams.c.stream_key == key
            )
        ).first()
        if row is None:
            ensure_session(self.db, conn, session_id, now)
            if thread_id is not None:
                ensure_thread(self.db, conn, session_id, thread_id, now)
            genesis = chain.genesis(session_id, thread_id)
            stream_id = inserted_id(conn.execute(
                insert(t.streams).values(
                    session_id=session_id,
                    thread_id=thread_id,
                    stream_key=key,
                    last_seq=0,
                    head_hash=genesis,
                    created_at=now,
                )
            ))
            return StreamRow(int(stream_id), session_id, thread_id, 0, genesis, key)
        return StreamRow(int(row.stream_id), session_id, thread_id, int(row.last_seq), row.head_hash, key)

    def _known_keys(self, conn: Connection, stream_id: int, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the stream already holds. Asks by key alone (see the events table's unique key), with
        SQL composed once per chunk size rather than compiled per call: this runs for every batch."""
        found: set[str] = set()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), KEY_LOOKUP_CHUNK):
            chunk = unique[start : start + KEY_LOOKUP_CHUNK]
            if self.db.dialect == "postgresql":
                rows = conn.exec_driver_sql(
                    "SELECT event_key, stream_id FROM events WHERE event_key = ANY(%(keys)s)", {"keys": chunk}
                )
            else:
                rows = conn.exec_driver_sql(_sqlite_key_lookup(len(chunk)), tuple(chunk))
            found.update(key for key, stream in rows if stream == stream_id)
        return found

    def _insert_events(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert event rows (tuples in ``EVENT_COLUMNS`` order) in the current transaction, the fastest way each
        driver offers: COPY on PostgreSQL (psycopg's executemany sends one INSERT per row), a plain driver
        executemany on SQLite with its datetimes written as SQLAlchemy stores them (see ``sqlite_datetime``)."""
        if self.db.dialect == "postgresql":
            driver: Any = conn.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        at = _PROCESSED_AT_INDEX
        conn.exec_driver_sql(
            _INSERT_EVENTS,
            [(*row[:at], sqlite_datetime(row[at]), sqlite_datetime(row[at + 1]), *row[at + 2 :]) for row in rows],
        )

    def _refresh_statistics(self) -> None:
        """ANALYZE the log's tables (PostgreSQL), so the planner keeps using the key index as the log grows.

        Autovacuum may be off or not have run yet on a log filled by one bulk recording; with no statistics the
        idempotency lookup turns into a full scan per batch. Run each time the log grows tenfold: rare, cheap.
        """
        with contextlib.suppress(StoreError), translated(self.db.url), self.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE events, streams")

    # ---- checkpoints

    def _write_checkpoint(self, conn: Connection, checkpoint: Checkpoint, now: datetime) -> None:
        info = self._stream_row(conn, checkpoint.session_id, checkpoint.thread_id, now)
        values = {
            "last_processed_at": checkpoint.last_processed_at,
            "last_event_id": checkpoint.last_event_id,
            "cursor": checkpoint.cursor,
            "complete": checkpoint.complete,
            "updated_at": now,
        }
        conn.execute(
            self.db.upsert(t.checkpoints)
            .values(stream_id=info.stream_id, **values)
            .on_conflict_do_update(index_elements=["stream_id"], set_=values)
        )

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self.db.write() as conn:
            self.db.lock_log(conn)
            self._write_checkpoint(conn, checkpoint, utcnow())

    def checkpoint(self, session_id: str, thread_id: str | None = None) -> Checkpoint | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(
                    t.checkpoints.c.last_processed_at,
                    t.checkpoints.c.last_event_id,
                    t.checkpoints.c.cursor,
                    t.checkpoints.c.complete,
                )
                .join(t.streams, t.streams.c.stream_id == t.checkpoints.c.stream_id)
                .where(t.streams.c.stream_key == stream_key(session_id, thread_id))
            ).first()
        if row is None:
            return None
        return Checkpoint(
            session_id, thread_id, row.last_processed_at, row.last_event_id, row.cursor, bool(row.complete)
        )


def _crossed_power_of_ten(before: int, after: int) -> bool:
    """True when a power of ten (1,000 or more) lies in (before, after]."""
    threshold = 1000
    while threshold <= after:
        if threshold > before:
            return True
        threshold *= 10
    return False
