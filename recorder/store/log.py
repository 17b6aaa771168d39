"""The event log: idempotent, atomic, ordered appends and the reads everything else is rebuilt from.

Append protocol (one database transaction per batch, all or nothing):

1. Take the log's write lock: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of the ``log_head`` row
   on PostgreSQL. Appends are therefore serialized, global positions are handed out gaplessly and become visible
   in order, so a reader tailing by position can never skip an event whose transaction commits late.
2. Per stream in the batch: create the stream if new, drop events whose key the stream already holds (and
   repeats inside the batch), give the rest the next sequence numbers and extend the hash chain.
3. Insert the rows, move the stream heads and ``log_head``, write checkpoints, commit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, Engine, Row, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from recorder.errors import NotFound, StoreError
from recorder.events import RawEvent, display_text, dump_json, parse_time
from recorder.store import chain, migrate
from recorder.store import schema as t
from recorder.store.sql import WRITE, make_engine, translated

KEY_LOOKUP_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stream_key(session_id: str, thread_id: str | None) -> str:
    return f"{session_id}/{thread_id or ''}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far recording of one stream got: written atomically with the events it covers."""

    session_id: str
    thread_id: str | None
    last_processed_at: datetime | None = None
    last_event_id: str | None = None
    cursor: str | None = None
    complete: bool = False


class Fence(Protocol):
    """Something checked inside an append's transaction, under the log's write lock (see recorder.store.leases)."""

    def check(self, conn: Connection) -> None: ...


@dataclass(frozen=True, slots=True)
class AppendResult:
    added: int
    skipped: int
    first_position: int | None = None
    last_position: int | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    position: int
    stream_id: int
    seq: int
    session_id: str
    thread_id: str | None
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | None
    recorded_at: datetime
    payload: str
    payload_hash: str
    chain_hash: str
    run_id: int | None

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)


@dataclass(frozen=True, slots=True)
class StreamInfo:
    stream_id: int
    session_id: str
    thread_id: str | None
    last_seq: int
    head_hash: str


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    status: str | None
    title: str | None
    agent_name: str | None
    model: str | None
    created_at: datetime | None
    events: int
    threads: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    last_recorded_at: datetime


_EVENT_COLUMNS = [
    t.events.c.position,
    t.events.c.stream_id,
    t.events.c.seq,
    t.events.c.session_id,
    t.events.c.thread_id,
    t.events.c.event_id,
    t.events.c.event_key,
    t.events.c.type,
    t.events.c.processed_at,
    t.events.c.recorded_at,
    t.events.c.payload,
    t.events.c.payload_hash,
    t.events.c.chain_hash,
    t.events.c.run_id,
]


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


def _stored(row: Row[Any]) -> StoredEvent:
    return StoredEvent(*row)


class EventStore:
    """The event log behind a database URL. Thread-safe: each call uses its own connection from the engine."""

    def __init__(self, url: str, *, engine: Engine | None = None, check_schema: bool = True) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.dialect = self.engine.dialect.name
        # SQLAlchemy's own conversion of a datetime to SQLite's stored text, for rows inserted through the driver.
        # SQLite: writers of this process queue on a lock, handed over at once; SQLite's own busy handler (for
        # other processes) waits by sleeping with backoff, far too slow for threads of one recorder.
        self._local_write_lock = threading.Lock() if self.dialect == "sqlite" else None
        if check_schema:
            with self._read() as conn:
                migrate.require_head(conn, url)

    # ------------------------------------------------------------------------------------- plumbing

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    class _Tx:
        """A connection inside one transaction, with errors translated; commits on success."""

        def __init__(self, store: EventStore, write: bool) -> None:
            self.store, self.write = store, write

        def __enter__(self) -> Connection:
            self._translated = translated(self.store.url)
            self._translated.__enter__()
            self._locked = False
            if self.write and self.store._local_write_lock is not None:
                self.store._local_write_lock.acquire()
                self._locked = True
            try:
                conn = self.store.engine.connect()
                if self.write:
                    conn = conn.execution_options(**WRITE)
                self._conn = conn
                self._tx = conn.begin()
            except BaseException as err:
                self._release()
                self._translated.__exit__(type(err), err, err.__traceback__)
                raise
            return conn

        def _release(self) -> None:
            if self._locked:
                self._locked = False
                self.store._local_write_lock.release()  # type: ignore[union-attr]

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
            try:
                try:
                    if exc_type is None:
                        self._tx.commit()
                    else:
                        self._tx.rollback()
                finally:
                    self._conn.close()
                    self._release()
            except BaseException as err:
                if exc_type is None:
                    exc_type, exc, tb = type(err), err, err.__traceback__
            return self._translated.__exit__(exc_type, exc, tb)

    def _write(self) -> EventStore._Tx:
        return EventStore._Tx(self, write=True)

    def _read(self) -> EventStore._Tx:
        return EventStore._Tx(self, write=False)

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table))

    def _lock_log(self, conn: Connection) -> int:
        """Take the log's write lock (PostgreSQL; SQLite holds it since BEGIN IMMEDIATE); return the head."""
        query = select(t.log_head.c.last_position).where(t.log_head.c.id == 1)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return int(conn.execute(query).scalar_one())

    def _ensure_session(self, conn: Connection, session_id: str, now: datetime) -> None:
        conn.execute(
            self._insert(t.sessions)
            .values(session_id=session_id, first_recorded_at=now, last_recorded_at=now)
            .on_conflict_do_nothing(index_elements=["session_id"])
        )

    def _ensure_thread(self, conn: Connection, session_id: str, thread_id: str, now: datetime) -> None:
        conn.execute(
            self._insert(t.threads)
            .values(session_id=session_id, thread_id=thread_id, first_recorded_at=now)
            .on_conflict_do_nothing(index_elements=["session_id", "thread_id"])
        )

    def _stream_row(self, conn: Connection, session_id: str, thread_id: str | None, now: datetime) -> StreamInfo:
        key = stream_key(session_id, thread_id)
        row = conn.execute(
            select(t.streams.c.stream_id, t.streams.c.last_seq, t.streams.c.head_hash).where(
                t.streams.c.stream_key == key
            )
        ).first()
        if row is None:
            self._ensure_session(conn, session_id, now)
            if thread_id is not None:
                self._ensure_thread(conn, session_id, thread_id, now)
            genesis = chain.genesis(session_id, thread_id)
            stream_id = conn.execute(
                insert(t.streams).values(
                    session_id=session_id,
                    thread_id=thread_id,
                    stream_key=key,
                    last_seq=0,
                    head_hash=genesis,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            return StreamInfo(int(stream_id), session_id, thread_id, 0, genesis)
        return StreamInfo(int(row.stream_id), session_id, thread_id, int(row.last_seq), row.head_hash)

    def _known_keys(self, conn: Connection, stream_id: int, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the stream already holds. Asks by key alone (see the events table's unique key), with
        SQL composed once per chunk size rather than compiled per call: this runs for every batch."""
        found: set[str] = set()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), KEY_LOOKUP_CHUNK):
            chunk = unique[start : start + KEY_LOOKUP_CHUNK]
            if self.dialect == "postgresql":
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
        if self.dialect == "postgresql":
            driver = conn.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        at = _PROCESSED_AT_INDEX
        conn.exec_driver_sql(
            _INSERT_EVENTS,
            [(*row[:at], sqlite_datetime(row[at]), sqlite_datetime(row[at + 1]), *row[at + 2 :]) for row in rows],
        )

    # --------------------------------------------------------------------------------------- append

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
        with self._write() as conn:
            position = self._lock_log(conn)
            if fence is not None:
                fence.check(conn)
            first_position = position + 1
            streams: dict[tuple[str, str | None], StreamInfo] = {}
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
        if added and self.dialect == "postgresql" and _crossed_power_of_ten(first_position - 1, position):
            self._refresh_statistics()
        return AppendResult(
            added=added,
            skipped=len(events) - added,
            first_position=first_position if added else None,
            last_position=position if added else None,
        )

    def _refresh_statistics(self) -> None:
        """ANALYZE the log's tables (PostgreSQL), so the planner keeps using the key index as the log grows.

        Autovacuum may be off or not have run yet on a log filled by one bulk recording; with no statistics the
        idempotency lookup turns into a full scan per batch. Run each time the log grows tenfold: rare, cheap.
        """
        with contextlib.suppress(StoreError), translated(self.url), self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE events, streams")

    # ---------------------------------------------------------------------------------- checkpoints

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
            self._insert(t.checkpoints)
            .values(stream_id=info.stream_id, **values)
            .on_conflict_do_update(index_elements=["stream_id"], set_=values)
        )

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self._write() as conn:
            self._lock_log(conn)
            self._write_checkpoint(conn, checkpoint, utcnow())

    def checkpoint(self, session_id: str, thread_id: str | None = None) -> Checkpoint | None:
        with self._read() as conn:
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

    # ---------------------------------------------------------------------------------------- reads

    def head_position(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(t.log_head.c.last_position).where(t.log_head.c.id == 1)).scalar_one())

    def read_log(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to ``limit`` events with position > ``after_position``, in position order (for tailers)."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_EVENT_COLUMNS)
                .where(t.events.c.position > after_position)
                .order_by(t.events.c.position)
                .limit(limit)
            ).all()
        return [_stored(row) for row in rows]

    def stream_info(self, session_id: str, thread_id: str | None = None) -> StreamInfo | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.streams.c.stream_id, t.streams.c.last_seq, t.streams.c.head_hash).where(
                    t.streams.c.stream_key == stream_key(session_id, thread_id)
                )
            ).first()
        if row is None:
            return None
        return StreamInfo(int(row.stream_id), session_id, thread_id, int(row.last_seq), row.head_hash)

    def streams(self, session_id: str | None = None) -> list[StreamInfo]:
        query = select(
            t.streams.c.stream_id,
            t.streams.c.session_id,
            t.streams.c.thread_id,
            t.streams.c.last_seq,
            t.streams.c.head_hash,
        ).order_by(t.streams.c.session_id, t.streams.c.stream_id)
        if session_id is not None:
            query = query.where(t.streams.c.session_id == session_id)
        with self._read() as conn:
            return [StreamInfo(int(r[0]), r[1], r[2], int(r[3]), r[4]) for r in conn.execute(query)]

    def stream_events(
        self,
        session_id: str,
        thread_id: str | None = None,
        *,
        after_seq: int = 0,
        types: Sequence[str] | None = None,
        batch_size: int = 2000,
    ) -> Iterator[StoredEvent]:
        """A stream's events in order (the API's order, as recorded), read in batches of ``batch_size``."""
        info = self.stream_info(session_id, thread_id)
        if info is None:
            return
        while True:
            query = (
                select(*_EVENT_COLUMNS)
                .where(and_(t.events.c.stream_id == info.stream_id, t.events.c.seq > after_seq))
                .order_by(t.events.c.seq)
                .limit(batch_size)
            )
            if types:
                query = query.where(t.events.c.type.in_(list(types)))
            with self._read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            after_seq = rows[-1].seq

    def session_events(self, session_id: str, batch_size: int = 2000) -> Iterator[StoredEvent]:
        """Every event of a session, all its streams, in global position (recording) order."""
        after = 0
        while True:
            with self._read() as conn:
                rows = conn.execute(
                    select(*_EVENT_COLUMNS)
                    .where(and_(t.events.c.session_id == session_id, t.events.c.position > after))
                    .order_by(t.events.c.position)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            after = rows[-1].position

    def session_ids(self) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(select(t.sessions.c.session_id).order_by(t.sessions.c.session_id)).scalars())

    def has_session(self, session_id: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(t.sessions.c.session_id).where(t.sessions.c.session_id == session_id)).first() \
                is not None

    def require_session(self, session_id: str) -> None:
        if not self.has_session(session_id):
            raise NotFound(f"session {session_id} is not in the log; `recorder sessions` lists what is recorded")

    def thread_ids(self, session_id: str) -> list[str]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(t.threads.c.thread_id)
                    .where(t.threads.c.session_id == session_id)
                    .order_by(t.threads.c.created_at, t.threads.c.thread_id)
                ).scalars()
            )

    def sessions(self) -> list[SessionSummary]:
        """Every recorded session with its status, distinct event and thread counts and times."""
        counts = (
            select(
                t.events.c.session_id.label("session_id"),
                # distinct: the same event can sit in several streams of a session (a thread's and the session's)
                func.count(t.events.c.event_key.distinct()).label("events"),
                func.min(t.events.c.processed_at).label("first_event_at"),
                func.max(t.events.c.processed_at).label("last_event_at"),
            )
            .group_by(t.events.c.session_id)
            .subquery()
        )
        thread_counts = (
            select(t.threads.c.session_id.label("session_id"), func.count().label("threads"))
            .group_by(t.threads.c.session_id)
            .subquery()
        )
        query = (
            select(
                t.sessions.c.session_id,
                t.sessions.c.status,
                t.sessions.c.title,
                t.sessions.c.agent_name,
                t.sessions.c.model,
                t.sessions.c.created_at,
                func.coalesce(counts.c.events, 0),
                func.coalesce(thread_counts.c.threads, 0),
                counts.c.first_event_at,
                counts.c.last_event_at,
                t.sessions.c.last_recorded_at,
            )
            .outerjoin(counts, counts.c.session_id == t.sessions.c.session_id)
            .outerjoin(thread_counts, thread_counts.c.session_id == t.sessions.c.session_id)
            .order_by(t.sessions.c.created_at, t.sessions.c.session_id)
        )
        with self._read() as conn:
            return [SessionSummary(*row) for row in conn.execute(query)]

    # ------------------------------------------------------------------------------------ snapshots

    def record_snapshot(
        self, session_id: str, snapshot: dict[str, Any], *, thread_id: str | None = None, run_id: int | None = None
    ) -> bool:
        """Keep what the API said about a session (or one of its threads), if it changed. True when it did.

        The caller scrubs secrets first. Summary columns (status, title, agent, model) follow the snapshot.
        """
        payload = dump_json(snapshot)
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        now = utcnow()
        summary = _summary_columns(snapshot)
        with self._write() as conn:
            self._ensure_session(conn, session_id, now)
            if thread_id is not None:
                self._ensure_thread(conn, session_id, thread_id, now)
            last = conn.execute(
                select(t.session_snapshots.c.payload_hash)
                .where(
                    and_(
                        t.session_snapshots.c.session_id == session_id,
                        t.session_snapshots.c.thread_id.is_(None)
                        if thread_id is None
                        else t.session_snapshots.c.thread_id == thread_id,
                    )
                )
                .order_by(t.session_snapshots.c.snapshot_id.desc())
                .limit(1)
            ).scalar()
            if last == digest:
                return False
            conn.execute(
                insert(t.session_snapshots).values(
                    session_id=session_id,
                    thread_id=thread_id,
                    taken_at=now,
                    status=summary.get("status"),
                    payload=payload,
                    payload_hash=digest,
                    run_id=run_id,
                )
            )
            if thread_id is None:
                conn.execute(
                    update(t.sessions)
                    .where(t.sessions.c.session_id == session_id)
                    .values(snapshot=payload, **summary)
                )
            else:
                summary.pop("title", None)
                summary.pop("agent_id", None)
                conn.execute(
                    update(t.threads)
                    .where(and_(t.threads.c.session_id == session_id, t.threads.c.thread_id == thread_id))
                    .values(
                        snapshot=payload, parent_thread_id=display_text(snapshot.get("parent_thread_id")), **summary
                    )
                )
        return True

    def latest_snapshot(self, session_id: str, thread_id: str | None = None) -> dict[str, Any] | None:
        table = t.sessions if thread_id is None else t.threads
        condition = t.sessions.c.session_id == session_id
        if thread_id is not None:
            condition = and_(t.threads.c.session_id == session_id, t.threads.c.thread_id == thread_id)
        with self._read() as conn:
            payload = conn.execute(select(table.c.snapshot).where(condition)).scalar()
        return json.loads(payload) if payload else None

    # ------------------------------------------------------------------------------- recording runs

    def start_run(self, *, mode: str, command: str, user: str, host: str, pid: int, version: str) -> int:
        with self._write() as conn:
            return int(
                conn.execute(
                    insert(t.recording_runs).values(
                        started_at=utcnow(),
                        user_name=user,
                        host=host,
                        pid=pid,
                        version=version,
                        mode=mode,
                        command=command,
                        sessions_count=0,
                        events_added=0,
                        outcome="running",
                    )
                ).inserted_primary_key[0]
            )

    def finish_run(
        self, run_id: int, *, outcome: str, sessions_count: int, events_added: int, error: str | None = None
    ) -> None:
        with self._write() as conn:
            conn.execute(
                update(t.recording_runs)
                .where(t.recording_runs.c.run_id == run_id)
                .values(
                    finished_at=utcnow(),
                    outcome=outcome,
                    sessions_count=sessions_count,
                    events_added=events_added,
                    error=error,
                )
            )

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.recording_runs).order_by(t.recording_runs.c.run_id.desc()).limit(limit)
            ).mappings()
            return [dict(row) for row in rows]

    # ====================================================================================================
    # Reads for the analytics projection (analytics/). Owned by the analytics work; only reads.

    def read_log_rows(
        self, after_position: int = 0, limit: int = 10_000, until_position: int | None = None
    ) -> list[tuple[Any, ...]]:
        """Like :meth:`read_log`, with only the columns a tailing read model needs, as plain tuples.

        Up to ``limit`` events with position > ``after_position`` (and <= ``until_position`` if given), in
        position order, each a tuple
        ``(position, stream_id, session_id, thread_id, event_key, type, processed_at, payload)``. Several times
        faster than :meth:`read_log` (no hashes, no dataclass per row, the driver's rows as they come): the
        analytics projection reads the whole log with it.
        """
        c = t.events.c
        query = (
            select(c.position, c.stream_id, c.session_id, c.thread_id, c.event_key, c.type, c.processed_at, c.payload)
            .where(c.position > after_position)
            .order_by(c.position)
            .limit(limit)
        )
        if until_position is not None:
            query = query.where(c.position <= until_position)
        with self._read() as conn:
            rows = conn.execute(query).cursor.fetchall()
        if self.dialect != "sqlite":
            return rows
        # SQLite keeps times as ISO text; fromisoformat is several times faster than the generic processor.
        parse = datetime.fromisoformat
        return [(p, s, se, th, k, ty, parse(at) if at else None, pl) for p, s, se, th, k, ty, at, pl in rows]

    def latest_snapshots(self) -> list[tuple[str, str | None, str]]:
        """The latest snapshot of every session (thread None) and thread that has one: (session, thread, JSON)."""
        with self._read() as conn:
            sessions = conn.execute(
                select(t.sessions.c.session_id, t.sessions.c.snapshot).where(t.sessions.c.snapshot.is_not(None))
            ).all()
            threads = conn.execute(
                select(t.threads.c.session_id, t.threads.c.thread_id, t.threads.c.snapshot).where(
                    t.threads.c.snapshot.is_not(None)
                )
            ).all()
        return [(s, None, p) for s, p in sessions] + [(s, th, p) for s, th, p in threads]

    # ---- end of the analytics reads ------------------------------------------------------------------------

    # ====================================================================================================
    # Reads for replay, transcripts and `recorder serve` (recorder/replay, recorder/render, recorder/serve).
    # Owned by the replay work; only reads. ``EventRow`` (below the class) is what they return.

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
        """A stream's events with just the columns a reader of payloads needs, lazily, in batches.

        Stream order (``seq``) or its reverse (``descending``). ``after_seq`` resumes strictly after that
        sequence number in the chosen direction. Time bounds compare ``processed_at`` (naive UTC). Reading only
        these columns is several times faster than :meth:`stream_events` on long sessions.
        """
        info = self.stream_info(session_id, thread_id)
        if info is None:
            return
        c = t.events.c
        conditions = [c.stream_id == info.stream_id]
        if types is not None:
            conditions.append(c.type.in_(list(types)))
        for bound, op in ((processed_gt, "__gt__"), (processed_gte, "__ge__"), (processed_lt, "__lt__"),
                          (processed_lte, "__le__")):
            if bound is not None:
                conditions.append(getattr(c.processed_at, op)(bound))
        base = select(c.seq, c.event_id, c.event_key, c.type, c.processed_at, c.payload).where(and_(*conditions))
        cursor = after_seq
        while True:
            query = base
            if cursor is not None:
                query = query.where(c.seq < cursor if descending else c.seq > cursor)
            query = query.order_by(c.seq.desc() if descending else c.seq).limit(batch_size)
            with self._read() as conn:
                rows = conn.execute(query).all()
            make = EventRow._make
            for row in rows:
                yield make(row)
            if len(rows) < batch_size:
                return
            cursor = rows[-1].seq

    def read_stream_extras(self, session_id: str, thread_id: str, *, batch_size: int = 5000
                           ) -> Iterator[tuple[str | None, EventRow]]:
        """The events of a thread's stream that the session stream does not hold, in stream order, each with the
        key of the event before it in the thread's stream (None for the first): enough to merge the thread into
        the session stream without reading again what both hold (for the primary thread, nearly everything).
        """
        info = self.stream_info(session_id, thread_id)
        if info is None:
            return
        session = self.stream_info(session_id, None)
        e = t.events.alias("e")
        other = t.events.alias("other")
        before = t.events.alias("before")
        previous = (select(before.c.event_key)
                    .where(and_(before.c.stream_id == e.c.stream_id, before.c.seq == e.c.seq - 1))
                    .scalar_subquery())
        conditions = [e.c.stream_id == info.stream_id]
        if session is not None:
            shared = select(other.c.event_key).where(
                and_(other.c.event_key == e.c.event_key, other.c.stream_id == session.stream_id))
            conditions.append(~shared.exists())
        base = select(previous, e.c.seq, e.c.event_id, e.c.event_key, e.c.type, e.c.processed_at, e.c.payload
                      ).where(and_(*conditions))
        after = 0
        make = EventRow._make
        while True:
            with self._read() as conn:
                rows = conn.execute(base.where(e.c.seq > after).order_by(e.c.seq).limit(batch_size)).all()
            for row in rows:
                yield row[0], make(row[1:])
            if len(rows) < batch_size:
                return
            after = rows[-1][1]

    def find_event(self, session_id: str, event_id: str) -> list[tuple[str | None, EventRow]]:
        """Every copy of one event (by id) in a session's streams: (thread_id, row) pairs."""
        c = t.events.c
        with self._read() as conn:
            rows = conn.execute(
                select(c.thread_id, c.seq, c.event_id, c.event_key, c.type, c.processed_at, c.payload)
                # by key first: an event's key is its id (non-empty ids), and the key is indexed
                .where(and_(c.event_key == event_id, c.session_id == session_id, c.event_id == event_id))
                .order_by(c.position)
            ).all()
        return [(row[0], EventRow._make(row[1:])) for row in rows]


class EventRow(NamedTuple):
    """One event of one stream as :meth:`EventStore.read_stream` returns it (a tuple: cheap to make by the
    hundred thousand)."""

    seq: int
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | None
    payload: str


# ---- end of the replay reads ---------------------------------------------------------------------------


def _crossed_power_of_ten(before: int, after: int) -> bool:
    """True when a power of ten (1,000 or more) lies in (before, after]."""
    threshold = 1000
    while threshold <= after:
        if threshold > before:
            return True
        threshold *= 10
    return False


def _summary_columns(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The few columns of ``sessions``/``threads`` kept beside a snapshot, from the API's object."""
    agent = snapshot.get("agent") if isinstance(snapshot.get("agent"), dict) else {}
    model = agent.get("model")
    if isinstance(model, dict):
        model = model.get("id")
    return {
        "status": display_text(snapshot.get("status")),
        "title": display_text(snapshot.get("title")),
        "agent_id": display_text(agent.get("id")),
        "agent_name": display_text(agent.get("name")),
        "model": display_text(model) if isinstance(model, str) else None,
        "created_at": parse_time(snapshot.get("created_at")),
        "updated_at": parse_time(snapshot.get("updated_at")),
    }

