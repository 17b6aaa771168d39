"""The event log's write side: idempotent, atomic, ordered appends, and the checkpoints written with them.

Append protocol (one database transaction per group of batches, all or nothing; ``append`` is a group of one):

1. **Plan** each batch: read the heads of the streams it extends, drop events whose key the stream already holds
   (and repeats inside the group), give the rest their sequence numbers and extend the hash chains.
2. **Lock**: take the log's write lock (:meth:`Database.lock_log`: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ...
   FOR UPDATE`` of the ``log_head`` row on PostgreSQL), check each batch's fence (its session lease) and, on
   PostgreSQL, that no stream the plan extends has moved since it was read; if one has, plan again under the lock.
3. **Write**: hand out the next global positions, insert the rows, move the stream heads and ``log_head``, write
   the checkpoints, commit.

Why one lock, and why it is held so briefly. Global positions are handed out gaplessly and become visible in
commit order, so a reader tailing by position (the analytics projection, the UI's index, anchors, ``verify``,
pruned ranges) can never skip an event whose transaction commits late, with one integer cursor. The alternatives
were weighed: sharding the position by session makes every reader track a high-water mark per shard, and
positions from a sequence read below ``pg_snapshot_xmin`` make every reader's cursor a (transaction, position)
pair and the order of the log differ from its positions. Both would change every reader and the meaning of
anchors for a ceiling that is not the lock's once the lock covers only step 3. On PostgreSQL step 1 runs before
the lock (its reads are one pipelined round trip), and steps 2 and 3 are ONE statement (``_PG_APPLY``), sent
with the lock and the COMMIT in one pipeline (its parameters in binary, its plan made once per connection): the
lock is held while the server runs that statement and commits, never across a round trip to a client that the
scheduler may have put aside (on a busy machine that convoy, not the work, was the ceiling). When a fence fails, a
stream is new or has moved, the statement writes nothing and the append takes the lock again and looks closer
(``_pg_lock``; planned again under the lock). Group commit (:meth:`EventLog.append_many`) takes the lock once for
the batches of many sessions. ``make bench`` (``writers``) shows what K writer processes wait on.
SQLite serializes writers anyway (one writer at a time per database file); it plans under its lock.

A recorder that lost a session's lease can never write it: fences are checked under the lock, and a lease is
only taken over under the same lock.

Reads live beside it: :mod:`recorder.store.tail` (by position) and :mod:`recorder.store.streams` (by stream).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Select, insert, select

from recorder.errors import LeaseLost, StoreError
from recorder.events import RawEvent
from recorder.store import chain
from recorder.store import schema as t
from recorder.store.catalog import ensure_session, ensure_thread
from recorder.store.database import Database, inserted_id, utcnow
from recorder.store.leases import Lease, judge_leases
from recorder.store.rows import AppendRequest, AppendResult, Checkpoint, StreamRow, stream_key
from recorder.store.sql import translated

KEY_LOOKUP_CHUNK = 500

_stream_of = operator.attrgetter("session_id", "thread_id")  # an event's stream, as (session, thread)


class Fence(Protocol):
    """Something checked inside an append's transaction, under the log's write lock (see recorder.store.leases)."""

    def check(self, conn: Connection) -> None: ...


EVENT_COLUMNS = [column.name for column in t.events.columns]
assert EVENT_COLUMNS[8:10] == ["processed_at", "recorded_at"], "append builds rows in this column order"
_INSERT_EVENTS = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
_INSERT_NEW_EVENTS = _INSERT_EVENTS + " ON CONFLICT (event_key, stream_id) DO NOTHING"
_COPY_EVENTS = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


PIPELINED_ROWS = 64  # more rows than this go to PostgreSQL by COPY, fewer as pipelined INSERTs
_PG_INSERT_EVENTS = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})"
_PG_LOCK = "SELECT last_position FROM log_head WHERE id = 1 FOR UPDATE"
_PG_HOLDERS = "SELECT session_id, owner, token FROM leases WHERE session_id = ANY(%(s)s)"
_PG_STREAMS = "SELECT stream_key, stream_id, last_seq, head_hash FROM streams WHERE stream_key = ANY(%(keys)s)"
_PG_HELD_KEYS = "SELECT event_key, stream_id FROM events WHERE event_key = ANY(%(keys)s)"
_PG_HEADS = "SELECT stream_id, last_seq FROM streams WHERE stream_id = ANY(%(ids)s)"
_PG_MOVE_STREAM = "UPDATE streams SET last_seq = %s, head_hash = %s WHERE stream_id = %s"
_PG_MOVE_LOG = (
    "WITH moved AS (UPDATE log_head SET last_position = %s WHERE id = 1) "
    "UPDATE sessions SET last_recorded_at = %s WHERE session_id = ANY(%s)"
)
_CHECKPOINT = (
    'INSERT INTO checkpoints (stream_id, last_processed_at, last_event_id, "cursor", complete, updated_at) '
    "VALUES ({0}, {0}, {0}, {0}, {0}, {0}) ON CONFLICT (stream_id) DO UPDATE SET "
    "last_processed_at = excluded.last_processed_at, last_event_id = excluded.last_event_id, "
    '"cursor" = excluded."cursor", complete = excluded.complete, updated_at = excluded.updated_at'
)
_PG_CHECKPOINT = _CHECKPOINT.format("%s")
_SQLITE_CHECKPOINT = _CHECKPOINT.format("?")
_SQLITE_MOVE_STREAM = "UPDATE streams SET last_seq = ?, head_hash = ? WHERE stream_id = ?"
_SQLITE_HEAD = "SELECT last_position FROM log_head WHERE id = 1"
_SQLITE_MOVE_LOG = "UPDATE log_head SET last_position = ? WHERE id = 1"

# PostgreSQL's whole locked section in one statement, sent with the lock and the COMMIT in one pipeline: the lock is
# held while the server runs it, never across a round trip to a client that may be descheduled. It writes only if
# every fence holds and every stream head is where the plan read it; otherwise it writes nothing and returns NULL.
# Its parameters go in binary (``%(name)b``): the server reads the arrays without parsing them, under the lock,
# and the client sends the payloads as they are instead of quoting and escaping each one into an array literal.
# Planned once per connection, not at each append: planning _PG_APPLY costs the server about three times what running
# it does, and it runs under the lock. The connection's plan_cache_mode (force_custom_plan, see recorder.store.sql)
# is set aside for it, in this transaction only; so that a plan made once, while the tables were small, stays good
# as they grow, it may use only index lookups (every join is from a short list of keys to a primary key).
_PG_PLAN_ONCE = (
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true), "
    "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
)
_PG_PLAN_AS_USUAL = (
    "SELECT set_config(name, reset_val, true) FROM pg_settings "
    "WHERE name IN ('plan_cache_mode', 'enable_seqscan', 'enable_hashjoin', 'enable_mergejoin')"
)
_PG_APPLY = """
WITH head AS (SELECT last_position AS base FROM log_head WHERE id = 1),
fences AS (
    SELECT count(*) AS bad FROM unnest(%(f_session)b::text[], %(f_owner)b::text[], %(f_token)b::bigint[])
        AS f(session_id, owner, token)
    LEFT JOIN leases l ON l.session_id = f.session_id
    WHERE l.owner IS DISTINCT FROM f.owner OR l.token IS DISTINCT FROM f.token
),
heads AS (
    SELECT count(*) AS bad FROM unnest(%(h_id)b::int[], %(h_seq)b::bigint[]) AS h(stream_id, last_seq)
    LEFT JOIN streams s ON s.stream_id = h.stream_id
    WHERE s.last_seq IS DISTINCT FROM h.last_seq
),
ok AS (SELECT head.base FROM head, fences, heads WHERE fences.bad = 0 AND heads.bad = 0),
ins AS (
    INSERT INTO events (position, stream_id, seq, session_id, thread_id, event_id, event_key, type, processed_at,
                        recorded_at, payload, payload_hash, chain_hash, run_id, scrubbed)
    SELECT ok.base + r.n, r.stream_id, r.seq, r.session_id, r.thread_id, r.event_id, r.event_key, r.type,
           r.processed_at, %(now)b, r.payload, r.payload_hash, r.chain_hash, r.run_id, r.scrubbed
    FROM ok, unnest(%(e_stream)b::int[], %(e_seq)b::bigint[], %(e_session)b::text[], %(e_thread)b::text[],
                    %(e_id)b::text[], %(e_key)b::text[], %(e_type)b::text[], %(e_at)b::timestamp[],
                    %(e_payload)b::text[], %(e_phash)b::text[], %(e_chash)b::text[], %(e_run)b::int[],
                    %(e_scrubbed)b::text[])
         WITH ORDINALITY AS r(stream_id, seq, session_id, thread_id, event_id, event_key, type, processed_at,
                              payload, payload_hash, chain_hash, run_id, scrubbed, n)
    RETURNING 1
),
moved AS (
    UPDATE streams s SET last_seq = m.last_seq, head_hash = m.head_hash
    FROM ok, unnest(%(m_id)b::int[], %(m_seq)b::bigint[], %(m_head)b::text[]) AS m(stream_id, last_seq, head_hash)
    WHERE s.stream_id = m.stream_id
    RETURNING 1
),
logged AS (
    UPDATE log_head SET last_position = ok.base + %(added)b FROM ok WHERE id = 1 AND %(added)b > 0 RETURNING 1
),
touched AS (
    UPDATE sessions SET last_recorded_at = %(now)b FROM ok WHERE session_id = ANY(%(sessions)b::text[]) RETURNING 1
),
checked AS (
    INSERT INTO checkpoints (stream_id, last_processed_at, last_event_id, "cursor", complete, updated_at)
    SELECT c.stream_id, c.at, c.event_id, c.cursor, c.complete, %(now)b
    FROM ok, unnest(%(c_stream)b::int[], %(c_at)b::timestamp[], %(c_event)b::text[], %(c_cursor)b::text[],
                    %(c_complete)b::boolean[]) WITH ORDINALITY AS c(stream_id, at, event_id, cursor, complete, n)
    ORDER BY c.n
    ON CONFLICT (stream_id) DO UPDATE SET last_processed_at = excluded.last_processed_at,
        last_event_id = excluded.last_event_id, "cursor" = excluded."cursor", complete = excluded.complete,
        updated_at = excluded.updated_at
    RETURNING 1
)
SELECT (SELECT base FROM ok), (SELECT count(*) FROM ins)
"""


def _marks(count: int) -> str:
    return ", ".join("?" * count)


@functools.cache
def _sqlite_key_lookup(count: int) -> str:
    return f"SELECT event_key, stream_id FROM events WHERE event_key IN ({_marks(count)})"


@functools.cache
def _sqlite_streams(count: int) -> str:
    return f"SELECT stream_key, stream_id, last_seq, head_hash FROM streams WHERE stream_key IN ({_marks(count)})"


@functools.cache
def _sqlite_holders(count: int) -> str:
    return f"SELECT session_id, owner, token FROM leases WHERE session_id IN ({_marks(count)})"


@functools.cache
def _sqlite_touch_sessions(count: int) -> str:
    return f"UPDATE sessions SET last_recorded_at = ? WHERE session_id IN ({_marks(count)})"


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a group adds: the streams it touches (as read), their heads after it, and per request its new rows
    (``EVENT_COLUMNS`` order without the position, which is handed out under the lock)."""

    streams: dict[tuple[str, str | None], StreamRow]
    heads: dict[tuple[str, str | None], tuple[int, str]]
    requests: list[list[tuple[Any, ...]]]


def _leased_sessions(requests: Sequence[AppendRequest]) -> list[str]:
    """The sessions whose leases fence ``requests``: their current holders are read in one query, under the lock."""
    return sorted({r.fence.session_id for r in requests if isinstance(r.fence, Lease)})


def _fence_failures(conn: Connection, requests: Sequence[AppendRequest], current: dict[str, tuple[str, int]]) -> list[
    LeaseLost | None
]:
    """Each request's fence failure (None where it holds), under the log's lock: session leases judged against
    ``current`` (the holders of :func:`_leased_sessions`, read together), other fences checked one by one."""
    lost: list[LeaseLost | None] = [None] * len(requests)
    leased = [(i, r.fence) for i, r in enumerate(requests) if isinstance(r.fence, Lease)]
    for (i, _lease), failure in zip(leased, judge_leases([f for _i, f in leased], current), strict=True):
        lost[i] = failure
    for i, request in enumerate(requests):
        if request.fence is not None and not isinstance(request.fence, Lease):
            try:
                request.fence.check(conn)
            except LeaseLost as failure:
                lost[i] = failure
    return lost


def _sqlite(conn: Connection) -> sqlite3.Connection:
    """The driver's connection under a SQLAlchemy one: the hot path's statements go to it directly (prepared once
    and cached by the driver), inside the transaction SQLAlchemy began."""
    return cast(sqlite3.Connection, conn.connection.driver_connection)


def _numbered(
    plan: _Plan, requests: Sequence[AppendRequest], lost: Sequence[LeaseLost | None], position: int
) -> tuple[list[tuple[Any, ...]], list[AppendResult | LeaseLost], int]:
    """The planned rows with their global positions, handed out from after ``position`` in request order; each
    request's result (its ``LeaseLost`` where its fence failed); the last position handed out."""
    results: list[AppendResult | LeaseLost] = []
    rows: list[tuple[Any, ...]] = []
    planned = iter(plan.requests)
    for request, failure in zip(requests, lost, strict=True):
        if failure is not None:
            results.append(failure)
            continue
        fresh = next(planned)
        start = position + 1
        for values in fresh:
            position += 1
            rows.append((position, *values))
        added = len(fresh)
        results.append(AppendResult(
            added=added,
            skipped=len(request.events) - added,
            first_position=start if added else None,
            last_position=position if added else None,
        ))
    return rows, results, position


def _moved(plan: _Plan) -> tuple[list[tuple[int, str, int]], list[str]]:
    """The streams a plan extends, as (last_seq, head_hash, stream_id) to write, and their sessions."""
    moved: list[tuple[int, str, int]] = []
    sessions: set[str] = set()
    for key, info in plan.streams.items():
        seq, head = plan.heads[key]
        if seq != info.last_seq:
            moved.append((seq, head, info.stream_id))
            sessions.add(info.session_id)
    return moved, sorted(sessions)


def _checkpoint_row(stream_id: int, c: Checkpoint, now: datetime) -> tuple[Any, ...]:
    """A checkpoint as a row of the ``checkpoints`` table (``_CHECKPOINT``'s column order)."""
    return (stream_id, c.last_processed_at, c.last_event_id, c.cursor, c.complete, now)


def _checkpoint_rows(plan: _Plan, checkpoints: Sequence[Checkpoint], now: datetime) -> list[tuple[Any, ...]]:
    """Checkpoints as rows of the ``checkpoints`` table (the plan knows their streams)."""
    return [_checkpoint_row(plan.streams[(c.session_id, c.thread_id)].stream_id, c, now) for c in checkpoints]


def _upsert_checkpoints(conn: Connection, dialect: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write checkpoint rows (``_CHECKPOINT``, the one spelling of the upsert) in the connection's transaction,
    through the driver: inside a pipeline on PostgreSQL, the append's write sends them in its one round trip.
    (``_PG_APPLY`` writes the checkpoints of its fast path itself, in the statement that holds the lock.)"""
    if not rows:
        return
    if dialect == "sqlite":
        _sqlite(conn).executemany(_SQLITE_CHECKPOINT, [
            (stream_id, sqlite_datetime(at), event_id, cursor, int(complete), sqlite_datetime(updated))
            for stream_id, at, event_id, cursor, complete, updated in rows
        ])
        return
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.executemany(_PG_CHECKPOINT, rows)


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
        request = AppendRequest(list(batch), list(checkpoints), fence, run_id)
        if not request.events and not request.checkpoints:
            return AppendResult(0, 0)
        (result,) = self.append_many([request], before_commit=before_commit)
        if isinstance(result, LeaseLost):
            raise result
        return result

    def append_many(
        self,
        requests: Sequence[AppendRequest],
        *,
        before_commit: Callable[[Connection], None] | None = None,
    ) -> list[AppendResult | LeaseLost]:
        """Group commit: append several batches (of any sessions) in ONE transaction, in order.

        Each request is what :meth:`append` takes. A request whose fence fails gets its ``LeaseLost`` as its
        result and writes nothing; the others commit together, each with its checkpoints. If the transaction
        fails, the error is raised and nothing of any request is written.

        On PostgreSQL the batch is planned (stream heads read, repeats looked up, hashes chained) *before* the
        log's write lock is taken, and checked again under it: the lock is held only to hand out positions,
        insert and commit (see the module docstring).
        """
        if not requests:
            return []
        now = utcnow()
        postgres = self.db.dialect == "postgresql"
        with self.db.write() as conn:
            if postgres:  # plan first; then lock, check and write in one trip with the commit (see _PG_APPLY)
                plan = self._plan(conn, requests, now, locked=False)
                base = self._pg_apply(conn, requests, plan, now, commit=before_commit is None)
                if base is not None:
                    assert plan is not None
                    rows, results, position = _numbered(plan, requests, [None] * len(requests), base)
                    if before_commit is not None:
                        before_commit(conn)
                    first_position = base + 1
                    return self._done(rows, first_position, position, results)
                # A fence failed, a stream is new or moved, or a fence is not a lease: lock, then look closer.
                position, lost, unchanged = self._pg_lock(conn, requests, plan)
            else:  # SQLite holds the write lock since BEGIN IMMEDIATE
                plan, unchanged = None, False
                position, lost = self._sqlite_lock(conn, requests)
            live = [request for request, failure in zip(requests, lost, strict=True) if failure is None]
            checkpoints = [c for request in live for c in request.checkpoints]
            first_position = position + 1
            if postgres:
                if plan is None or len(live) != len(requests) or not unchanged:
                    plan = self._plan(conn, live, now, locked=True)
                assert plan is not None  # planned under the lock: new streams are created
                rows, results, position = _numbered(plan, requests, lost, position)
                self._pg_write(conn, plan, rows, checkpoints, position, now)
            else:
                # Optimistic: insert without looking the keys up first; the (event_key, stream_id) key skips any
                # event already held, and if one was, the batch is undone and planned again with the lookup.
                head = position
                plan = self._plan(conn, live, now, locked=True, lookup=False)
                assert plan is not None
                rows, results, position = _numbered(plan, requests, lost, head)
                if not self._sqlite_write(conn, plan, rows, checkpoints, position, now, optimistic=True):
                    plan = self._plan(conn, live, now, locked=True)
                    assert plan is not None
                    rows, results, position = _numbered(plan, requests, lost, head)
                    self._sqlite_write(conn, plan, rows, checkpoints, position, now, optimistic=False)
            if before_commit is not None:
                before_commit(conn)
        return self._done(rows, first_position, position, results)

    def _done(self, rows: list[tuple[Any, ...]], first_position: int, position: int,
              results: list[AppendResult | LeaseLost]) -> list[AppendResult | LeaseLost]:
        """After a commit: refresh PostgreSQL's statistics when the log grew past a power of ten."""
        if rows and self.db.dialect == "postgresql" and _crossed_power_of_ten(first_position - 1, position):
            self._refresh_statistics()
        return results

    def _pg_apply(self, conn: Connection, requests: Sequence[AppendRequest], plan: _Plan | None, now: datetime,
                  *, commit: bool) -> int | None:
        """PostgreSQL: the lock, the whole planned write (:data:`_PG_APPLY`) and, with ``commit``, the COMMIT, in
        one pipeline: one round trip, and the log's lock is never held across a trip to this process. Returns
        the head position the rows were numbered after, or None when nothing was written (no plan, a fence that
        is not a lease, a lease lost, a stream moved since it was read); after a None with ``commit``, the
        connection's transaction has ended and the next statement begins a new one."""
        if plan is None or any(r.fence is not None and not isinstance(r.fence, Lease) for r in requests):
            return None
        fences = [r.fence for r in requests if isinstance(r.fence, Lease)]
        rows = [values for fresh in plan.requests for values in fresh]
        columns: list[Any] = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(14)]
        moved, sessions = _moved(plan)
        latest = {(c.session_id, c.thread_id): c for request in requests for c in request.checkpoints}
        checkpoints = _checkpoint_rows(plan, list(latest.values()), now)
        params = {
            "f_session": [f.session_id for f in fences], "f_owner": [f.owner for f in fences],
            "f_token": [f.token for f in fences],
            "h_id": [info.stream_id for info in plan.streams.values()],
            "h_seq": [info.last_seq for info in plan.streams.values()],
            "now": now, "added": len(rows), "sessions": sessions,
            "e_stream": columns[0], "e_seq": columns[1], "e_session": columns[2], "e_thread": columns[3],
            "e_id": columns[4], "e_key": columns[5], "e_type": columns[6], "e_at": columns[7],
            "e_payload": columns[9], "e_phash": columns[10], "e_chash": columns[11], "e_run": columns[12],
            "e_scrubbed": columns[13],
            "m_id": [m[2] for m in moved], "m_seq": [m[0] for m in moved], "m_head": [m[1] for m in moved],
            "c_stream": [c[0] for c in checkpoints], "c_at": [c[1] for c in checkpoints],
            "c_event": [c[2] for c in checkpoints], "c_cursor": [c[3] for c in checkpoints],
            "c_complete": [c[4] for c in checkpoints],
        }
        driver: Any = conn.connection.driver_connection
        with driver.pipeline():
            driver.execute(_PG_PLAN_ONCE)
            driver.execute(_PG_LOCK)
            applied = driver.execute(_PG_APPLY, params, prepare=True)
            if commit:
                driver.commit()
            else:
                driver.execute(_PG_PLAN_AS_USUAL)
        base, inserted = applied.fetchone()
        if base is None:
            return None
        if inserted != len(rows):  # pragma: no cover - the statement inserts every row or none
            raise StoreError(f"append wrote {inserted} of {len(rows)} events; run again")
        return int(base)

    # ---- planning: what each request adds, before positions are handed out

    def _plan(
        self, conn: Connection, requests: Sequence[AppendRequest], now: datetime, *, locked: bool,
        lookup: bool = True,
    ) -> _Plan | None:
        """Which events of ``requests`` are new, with their sequence numbers and chain hashes (rows in
        ``EVENT_COLUMNS`` order without the position). Unlocked (PostgreSQL), None when a stream is new: streams
        are created only under the log's lock."""
        keys = list(dict.fromkeys(itertools.chain(
            itertools.chain.from_iterable(map(_stream_of, request.events) for request in requests),
            ((c.session_id, c.thread_id) for request in requests for c in request.checkpoints),
        )))
        if self.db.dialect == "postgresql":
            event_keys = list(dict.fromkeys(e.event_key for request in requests for e in request.events))
            streams, held = self._pg_lookups(conn, keys, event_keys)
        else:
            streams = self._stream_rows(conn, keys)
            held = self._held_keys(conn, list(dict.fromkeys(
                e.event_key for request in requests for e in request.events
                if (info := streams.get((e.session_id, e.thread_id))) is not None and info.last_seq > 0
            ))) if lookup else set()
        for key in keys:
            if key not in streams:
                if not locked:
                    return None
                streams[key] = self._stream_row(conn, key[0], key[1], now)
        heads = {key: (info.last_seq, info.head_hash) for key, info in streams.items()}
        # SQLite keeps times as text: the rows get them as SQLAlchemy would store them (see ``sqlite_datetime``).
        as_text = self.db.dialect == "sqlite"
        recorded: Any = sqlite_datetime(now) if as_text else now
        planned: list[list[tuple[Any, ...]]] = []
        for request in requests:
            fresh: list[tuple[Any, ...]] = []
            run_id = request.run_id
            # Runs of consecutive events of one stream (a batch is usually one run) are chained in one call.
            for key, run in itertools.groupby(request.events, key=_stream_of):
                stream_id = streams[key].stream_id
                new: list[RawEvent] = []
                for event in run:
                    ident = (event.event_key, stream_id)
                    if ident not in held:
                        held.add(ident)  # a repeat later in this group is skipped too
                        new.append(event)
                if not new:
                    continue
                seq, previous = heads[key]
                hashes = chain.extend(previous, seq, [event.payload for event in new])
                heads[key] = (seq + len(new), hashes[-1][1])
                for event, (digest, head) in zip(new, hashes, strict=True):
                    seq += 1
                    at = event.processed_at
                    fresh.append((  # EVENT_COLUMNS order, after the position
                        stream_id, seq, event.session_id, event.thread_id, event.event_id, event.event_key,
                        event.type, at.isoformat(" ", "microseconds") if as_text and at is not None else at,
                        recorded, event.payload, digest, head, run_id, event.scrubbed,
                    ))
            planned.append(fresh)
        return _Plan(streams, heads, planned)

    def _stream_rows(self, conn: Connection, keys: Sequence[tuple[str, str | None]]) -> dict[
        tuple[str, str | None], StreamRow
    ]:
        """SQLite: the existing streams among ``keys`` (one query per chunk)."""
        by_text = {stream_key(session, thread): (session, thread) for session, thread in keys}
        found: dict[tuple[str, str | None], StreamRow] = {}
        texts = list(by_text)
        for start in range(0, len(texts), KEY_LOOKUP_CHUNK):
            chunk = texts[start : start + KEY_LOOKUP_CHUNK]
            for text, stream_id, last_seq, head_hash in _sqlite(conn).execute(_sqlite_streams(len(chunk)), chunk):
                session, thread = by_text[text]
                found[(session, thread)] = StreamRow(int(stream_id), session, thread, int(last_seq), head_hash, text)
        return found

    def _held_keys(self, conn: Connection, keys: Sequence[str]) -> set[tuple[str, int]]:
        """SQLite: which (event key, stream id) pairs the log holds among ``keys``. Asks by key alone (see the
        events table's unique key), with SQL composed once per chunk size: this runs for every batch."""
        found: set[tuple[str, int]] = set()
        for start in range(0, len(keys), KEY_LOOKUP_CHUNK):
            chunk = keys[start : start + KEY_LOOKUP_CHUNK]
            rows = _sqlite(conn).execute(_sqlite_key_lookup(len(chunk)), chunk)
            found.update((key, int(stream)) for key, stream in rows)
        return found

    def _sqlite_lock(
        self, conn: Connection, requests: Sequence[AppendRequest]
    ) -> tuple[int, list[LeaseLost | None]]:
        """SQLite (the write lock is held since BEGIN IMMEDIATE): the head position, and each request's fence
        failure (None where it holds); session leases in one query."""
        driver = _sqlite(conn)
        position = int(driver.execute(_SQLITE_HEAD).fetchone()[0])
        sessions = _leased_sessions(requests)
        current = {
            session: (owner, int(token))
            for session, owner, token in driver.execute(_sqlite_holders(len(sessions)), sessions)
        } if sessions else {}
        return position, _fence_failures(conn, requests, current)

    def _pg_lookups(
        self, conn: Connection, keys: Sequence[tuple[str, str | None]], event_keys: list[str]
    ) -> tuple[dict[tuple[str, str | None], StreamRow], set[tuple[str, int]]]:
        """PostgreSQL: the existing streams among ``keys`` and the (event key, stream id) pairs the log holds
        among ``event_keys``, in one round trip (a pipeline)."""
        by_text = {stream_key(session, thread): (session, thread) for session, thread in keys}
        driver: Any = conn.connection.driver_connection
        with driver.pipeline():
            stream_rows = driver.execute(_PG_STREAMS, {"keys": list(by_text)})
            key_rows = driver.execute(_PG_HELD_KEYS, {"keys": event_keys}) if event_keys else None
        found: dict[tuple[str, str | None], StreamRow] = {}
        for text, stream_id, last_seq, head_hash in stream_rows.fetchall():
            session, thread = by_text[text]
            found[(session, thread)] = StreamRow(int(stream_id), session, thread, int(last_seq), head_hash, text)
        held = {(key, int(stream)) for key, stream in key_rows.fetchall()} if key_rows is not None else set()
        return found, held

    def _pg_lock(
        self, conn: Connection, requests: Sequence[AppendRequest], plan: _Plan | None
    ) -> tuple[int, list[LeaseLost | None], bool]:
        """PostgreSQL, in one round trip: take the log's write lock (the head position), read the current holders
        of the requests' session leases, and the plan's stream heads. Returns the head, each request's fence
        failure (None where it holds), and whether no other writer moved a stream the plan extends since it was
        read (a recorder that lost a session's lease, say); if one did, the caller plans again, under the lock."""
        sessions = _leased_sessions(requests)
        ids = [info.stream_id for info in plan.streams.values()] if plan is not None else []
        driver: Any = conn.connection.driver_connection
        with driver.pipeline():
            head = driver.execute(_PG_LOCK)
            holders = driver.execute(_PG_HOLDERS, {"s": sessions}) if sessions else None
            seqs = driver.execute(_PG_HEADS, {"ids": ids}) if ids else None
        position = int(head.fetchone()[0])
        current = {session: (owner, token) for session, owner, token in holders.fetchall()} if holders else {}
        lost = _fence_failures(conn, requests, current)
        unchanged = plan is not None
        if plan is not None and seqs is not None:
            now = {int(stream_id): int(last_seq) for stream_id, last_seq in seqs.fetchall()}
            unchanged = all(now.get(info.stream_id) == info.last_seq for info in plan.streams.values())
        return position, lost, unchanged

    # ---- writing

    def _sqlite_write(self, conn: Connection, plan: _Plan, rows: list[tuple[Any, ...]],
                      checkpoints: Sequence[Checkpoint], position: int, now: datetime, *, optimistic: bool) -> bool:
        """SQLite: insert the rows; move the stream heads, ``log_head`` and the sessions' ``last_recorded_at``;
        write the checkpoints. ``optimistic``: the rows were planned without looking their keys up; if the log
        held any of them already, nothing is written and False is returned (plan again, with the lookup)."""
        driver = _sqlite(conn)
        if rows:  # planned with their times as text already
            if optimistic:
                before = driver.total_changes
                driver.execute("SAVEPOINT recorder_append")
                driver.executemany(_INSERT_NEW_EVENTS, rows)
                inserted = driver.total_changes - before
                if inserted != len(rows):
                    driver.execute("ROLLBACK TO SAVEPOINT recorder_append")
                    driver.execute("RELEASE SAVEPOINT recorder_append")
                    return False
                driver.execute("RELEASE SAVEPOINT recorder_append")
            else:
                driver.executemany(_INSERT_EVENTS, rows)
            moved, sessions = _moved(plan)
            driver.executemany(_SQLITE_MOVE_STREAM, moved)
            driver.execute(_SQLITE_MOVE_LOG, (position,))
            driver.execute(_sqlite_touch_sessions(len(sessions)), (sqlite_datetime(now), *sessions))
        _upsert_checkpoints(conn, "sqlite", _checkpoint_rows(plan, checkpoints, now))
        return True

    def _pg_write(self, conn: Connection, plan: _Plan, rows: list[tuple[Any, ...]],
                  checkpoints: Sequence[Checkpoint], position: int, now: datetime) -> None:
        """PostgreSQL: the same writes in one round trip (a pipeline); many rows go first by COPY (psycopg's
        executemany sends one INSERT per row, cheap only when pipelined and few)."""
        driver: Any = conn.connection.driver_connection
        if len(rows) > PIPELINED_ROWS:
            self._insert_events(conn, rows)
        with driver.pipeline(), driver.cursor() as cursor:
            if rows:
                if len(rows) <= PIPELINED_ROWS:
                    cursor.executemany(_PG_INSERT_EVENTS, rows)
                moved, sessions = _moved(plan)
                cursor.executemany(_PG_MOVE_STREAM, moved)
                cursor.execute(_PG_MOVE_LOG, (position, now, sessions))
            _upsert_checkpoints(conn, "postgresql", _checkpoint_rows(plan, checkpoints, now))

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

    def _insert_events(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL: insert many event rows (tuples in ``EVENT_COLUMNS`` order) by COPY."""
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
            for row in rows:
                copy.write_row(row)

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
        _upsert_checkpoints(conn, self.db.dialect, [_checkpoint_row(info.stream_id, checkpoint, now)])

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self.db.write() as conn:
            self.db.lock_log(conn)
            self._write_checkpoint(conn, checkpoint, utcnow())

    def checkpoints(self, conn: Connection, session_id: str) -> dict[str | None, Checkpoint]:
        """Every checkpoint of the session's streams, by thread id (None: the session stream), in one query."""
        rows = conn.execute(_checkpoint_query().where(t.streams.c.session_id == session_id))
        return {row.thread_id: _checkpoint(session_id, row) for row in rows}

    def checkpoint(self, session_id: str, thread_id: str | None = None) -> Checkpoint | None:
        with self.db.read() as conn:
            row = conn.execute(
                _checkpoint_query().where(t.streams.c.stream_key == stream_key(session_id, thread_id))
            ).first()
        return None if row is None else _checkpoint(session_id, row)


def _checkpoint_query() -> Select[Any]:
    """The checkpoints of streams, with their thread ids (filter by stream)."""
    c = t.checkpoints.c
    return (select(t.streams.c.thread_id, c.last_processed_at, c.last_event_id, c.cursor, c.complete)
            .join(t.streams, t.streams.c.stream_id == c.stream_id))


def _checkpoint(session_id: str, row: Any) -> Checkpoint:
    return Checkpoint(session_id, row.thread_id, row.last_processed_at, row.last_event_id, row.cursor,
                      bool(row.complete))


def _crossed_power_of_ten(before: int, after: int) -> bool:
    """True when a power of ten (1,000 or more) lies in (before, after]."""
    threshold = 1000
    while threshold <= after:
        if threshold > before:
            return True
        threshold *= 10
    return False
