"""Engines for the event log, and the one place driver errors become :mod:`recorder.errors`.

SQLite is configured for several writers: WAL journal, a generous busy timeout, and ``BEGIN IMMEDIATE`` for
write transactions (pysqlite's own transaction handling is switched off so the BEGIN is ours). Read-only work
uses a plain deferred ``BEGIN``, so readers never wait for writers. PostgreSQL runs at READ COMMITTED; append
transactions serialize on the ``log_head`` row instead (see :mod:`recorder.store.schema`), and plans are always
made for the actual parameters (see ``_postgres_engine``).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from recorder.errors import (
    ConfigError,
    SchemaError,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
)

SQLITE_BUSY_TIMEOUT_MS = 60_000
MAX_URL_CHARS = 4096  # recorder.options.MAX_URL_CHARS: the CLI refuses longer ones before they get here
WRITE = {"recorder_write": True}


def parse_url(url: str) -> URL:
    """Parse and normalize a database URL; plain ``postgresql://`` means psycopg 3."""
    if len(url) > MAX_URL_CHARS:
        raise ConfigError(f"database URL is {len(url):,} characters long (at most {MAX_URL_CHARS:,}): {url[:40]}...")
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        raise ConfigError(
            f"bad database URL {url!r}: expected e.g. sqlite:///recorder.db or postgresql+psycopg://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r} in {redact(url)}: use sqlite or postgresql")
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def redact(url: str | URL) -> str:
    """A URL safe to print: the password hidden."""
    try:
        return (url if isinstance(url, URL) else make_url(url)).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", str(url))


def make_engine(url: str, *, create: bool = False, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine for the event log at ``url``. Raises ConfigError for a URL we cannot use.

    A SQLite file is created only when ``create`` is true (``recorder db upgrade``); otherwise a missing file is
    reported instead of silently becoming an empty database. ``read_only``: see :mod:`recorder.store.readonly`.
    """
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            if read_only:
                from recorder.store.readonly import sqlite_read_only_url

                parsed = sqlite_read_only_url(parsed)
            return _sqlite_engine(parsed, create=create, **kwargs)
        if read_only:
            from recorder.store.readonly import postgres_read_only_args

            kwargs["connect_args"] = postgres_read_only_args(kwargs.get("connect_args", {}))
        return _postgres_engine(parsed, **kwargs)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError, ValueError) as err:
        raise ConfigError(f"cannot use database URL {redact(parsed)}: {first_line(err)}") from None
    except OSError as err:  # a path too long, a component not a directory
        raise ConfigError(f"cannot use database URL {redact(parsed)}: {err.strerror or err}") from None


def _sqlite_engine(url: URL, *, create: bool, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser().resolve()
        if not path.parent.is_dir():
            raise StoreUnavailable(f"cannot open SQLite database {database}: directory {path.parent} does not exist")
        if not create and not path.exists():
            raise SchemaError(f"there is no event log at {database}; create it with `recorder db upgrade`")
        if path.is_dir():
            raise ConfigError(f"{database} is a directory, not a SQLite database file")
    # Pooled: closing a SQLite connection checkpoints the WAL, too costly to do after every batch.
    kwargs.setdefault("pool_size", 8)
    kwargs.setdefault("max_overflow", 56)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal" and database not in ("", ":memory:"):
                with contextlib.suppress(Exception):  # a read-only file keeps its mode; reads still work
                    cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("recorder_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL, **kwargs: Any) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("connect_timeout", int(os.environ.get("RECORDER_CONNECT_TIMEOUT", "10")))
    connect_args.setdefault("application_name", "recorder")
    # psycopg prepares statements after a few runs, and PostgreSQL may then settle on a generic plan made while
    # the log was empty (a sequential scan), kept for the connection's life. Always plan with the real values.
    connect_args["options"] = (connect_args.get("options", "") + " -c plan_cache_mode=force_custom_plan").strip()
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not idle_connection_alive(dbapi_connection):
            raise sa_exc.DisconnectionError("the server closed this pooled connection")  # the pool replaces it

    return engine


def idle_connection_alive(connection: Any) -> bool:
    """Whether an idle pooled psycopg connection still looks usable, without a round trip to the server.

    The pool's pre-ping sent ``SELECT 1`` before every transaction: one round trip, and server work, per append.
    A server that ends a connection (a restart, ``pg_terminate_backend``, an idle timeout) says so on the socket:
    its last message and the end of the stream wait there to be read. An idle connection has nothing to read, so
    a readable socket (or one psycopg already knows is closed or broken) means: replace it before use."""
    if connection.closed or connection.broken:
        return False
    try:  # poll, not select: a process following a thousand streams holds descriptors past select's 1,024
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# SQLSTATE classes from the PostgreSQL manual, Appendix A.
_PG_FULL = {"53100", "53200", "53300"}
_PG_READONLY = {"25006"}
_PG_SCHEMA = {"42P01", "42703"}
_PG_NO_SUCH = {"3D000", "28000", "28P01"}  # invalid catalog (database) name, invalid authorization / password


def translate(err: BaseException, url: str | URL) -> StoreError:
    """The project's error for a driver or SQLAlchemy error: one line that says what to do."""
    where = redact(url)
    orig = getattr(err, "orig", None) or err
    message = first_line(orig)
    lowered = message.lower()
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)

    if sqlstate in _PG_FULL or "database or disk is full" in lowered or "no space left" in lowered:
        return StoreFull(f"the disk holding {where} is full ({message}); free space and run again")
    if sqlstate in _PG_READONLY or "readonly database" in lowered or "read-only" in lowered:
        return StoreReadOnly(f"{where} is read-only ({message}); use a writable database")
    if sqlstate in _PG_SCHEMA or "no such table" in lowered or "no such column" in lowered:
        return SchemaError(f"{where} has no event log schema ({message}); run `recorder db upgrade`")
    if "unable to open database" in lowered and _sqlite_dir_read_only(url):
        return StoreReadOnly(f"{where} is on a read-only medium or directory ({message}): commands that only read "
                             "work on it, this one writes")
    if "unable to open database" in lowered or "disk i/o error" in lowered:
        return StoreUnavailable(f"cannot open {where} ({message})")
    if "connection is bad: invalid" in lowered or "invalid dsn" in lowered or "invalid connection option" in lowered:
        return StoreUnavailable(f"{where}: {message}; check the database URL")
    if sqlstate in _PG_NO_SUCH or re.search(r'(role|database) "[^"]*" does not exist', message) \
            or "password authentication failed" in lowered:
        return StoreUnavailable(f"{where}: {message}; check the user name, password and database name in the URL "
                                "(`createdb NAME` creates a database)")
    operational = isinstance(err, sa_exc.OperationalError | sa_exc.InterfaceError) or type(orig).__name__ in (
        "OperationalError", "InterfaceError")
    if operational or "connection" in lowered:
        if "database is locked" in lowered:
            return StoreError(f"{where} stayed locked by another writer for too long ({message}); run again")
        return StoreUnavailable(f"cannot reach {where} ({message}); is the server running?")
    return StoreError(f"database error on {where}: {message}")


def _sqlite_dir_read_only(url: str | URL) -> bool:
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except sa_exc.ArgumentError:
        return False
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database.startswith(("file:", ":memory:")):
        return False
    directory = Path(database).expanduser().resolve().parent
    try:
        return not os.access(directory, os.W_OK) or bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextlib.contextmanager
def translated(url: str | URL) -> Iterator[None]:
    """Run a block, turning any driver/SQLAlchemy error into the project's StoreError family."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.OperationalError) as err:
        raise translate(err, url) from None
    except sa_exc.SQLAlchemyError as err:
        raise translate(err, url) from None
    except UnicodeError as err:  # a host name the IDNA codec refuses (a label over 63 characters)
        raise ConfigError(f"cannot use database URL {redact(url)[:200]}: bad host name ({err})") from None
    except OSError as err:
        if err.errno == 28:  # ENOSPC
            raise StoreFull(
                f"the disk holding {redact(url)} is full ({err.strerror}); free space and run again"
            ) from None
        raise StoreUnavailable(f"cannot use {redact(url)}: {err}") from None
    except Exception as err:
        if not _is_driver_error(err):
            raise
        raise translate(err, url) from None


def _is_driver_error(err: BaseException) -> bool:
    """An error raised by the database driver itself: the append path talks to sqlite3 and psycopg directly."""
    return isinstance(err, sqlite3.Error) or type(err).__module__.startswith("psycopg")
