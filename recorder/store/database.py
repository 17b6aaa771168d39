"""The database behind the log: its engine, its transactions and the log's write lock.

Every module of the store works through a :class:`Database`, openly: ``read()`` and ``write()`` open one
transaction each (driver errors translated into :mod:`recorder.errors`), ``lock_log(conn)`` takes the log's write
lock inside a write transaction, ``upsert(table)`` is the dialect's INSERT with ``ON CONFLICT``.

The write lock: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of the ``log_head`` row on PostgreSQL.
Appends, leases, holds and prunes take it, so global positions are handed out gaplessly and become visible in
order, and compliance writes (the audit chain) are serialized with the appends they must not race.

A new store module takes a ``Database`` in its constructor and adds its tables' SQL; it needs nothing else.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy import Connection, CursorResult, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from recorder.store import revisions
from recorder.store import schema as t
from recorder.store.sql import WRITE, make_engine, translated


def utcnow() -> datetime:
    """Now, as the log stores times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer primary key an INSERT of one row generated."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only for statements that are not single-row INSERTs
        raise TypeError("not a single-row INSERT")
    return int(key[0])


class Database:
    """An engine for the log at ``url``, with its transactions. Thread-safe: each transaction has its own
    connection from the engine's pool.

    ``check_schema`` refuses a database that is not at this version's migration head (it says to upgrade).
    """

    def __init__(self, url: str, *, engine: Engine | None = None, check_schema: bool = True) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.dialect = self.engine.dialect.name
        # SQLite: writers of this process queue on a lock, handed over at once; SQLite's own busy handler (for
        # other processes) waits by sleeping with backoff, far too slow for threads of one recorder.
        self._local_write_lock = threading.Lock() if self.dialect == "sqlite" else None
        if check_schema:
            with self.read() as conn:
                revisions.require_head(conn, url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self) -> AbstractContextManager[Connection]:
        """One read transaction (a deferred ``BEGIN`` on SQLite: readers never wait for writers)."""
        return self._transaction(write=False)

    def write(self) -> AbstractContextManager[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite); commits when the block succeeds."""
        return self._transaction(write=True)

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """Driver errors anywhere (connect, the block, commit) become StoreErrors; the connection goes back to the
        pool either way. SQLite writers of this process queue on ``_local_write_lock`` first."""
        with translated(self.url), self._local_lock(write):
            conn = self.engine.connect()
            try:
                if write:
                    conn = conn.execution_options(**WRITE)
                with conn.begin():
                    yield conn
            finally:
                conn.close()

    @contextlib.contextmanager
    def _local_lock(self, write: bool) -> Iterator[None]:
        if not write or self._local_write_lock is None:
            yield
            return
        with self._local_write_lock:
            yield

    def lock_log(self, conn: Connection) -> int:
        """Take the log's write lock (PostgreSQL; SQLite holds it since BEGIN IMMEDIATE); return the head."""
        query = select(t.log_head.c.last_position).where(t.log_head.c.id == 1)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return int(conn.execute(query).scalar_one())

    def upsert(self, table: Any) -> Any:
        """The dialect's INSERT for ``table``, which has ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)
