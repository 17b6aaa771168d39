"""Shared fixtures: migrated event logs on SQLite and on the real PostgreSQL server.

PostgreSQL tests use a database of their own (created at the start of the run, dropped at the end) on the server
named by ``RECORDER_TEST_PG`` (default: the machine's server, user postgres, trust auth). If the server does not
answer, the PostgreSQL tests FAIL: they are never skipped silently. Set ``RECORDER_SKIP_PG=1`` to skip them on
purpose (a developer machine without PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recorder.store import EventStore, migrate

PG_ADMIN_URL = os.environ.get("RECORDER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKIP_PG = os.environ.get("RECORDER_SKIP_PG") == "1"

# Tables the contract tests empty between tests (children first).
_DATA_TABLES = [
    "retention_guard",
    "pruned_ranges",
    "legal_holds",
    "compliance_audit",
    "events",
    "checkpoints",
    "streams",
    "session_snapshots",
    "session_files",
    "file_blobs",
    "threads",
    "leases",
    "sessions",
    "recording_runs",
    "session_lifecycle",
    "webhook_deliveries",
]


def pytest_configure(config: pytest.Config) -> None:
    """A run started in the background by a non-interactive shell (``pytest &`` in a script) ignores SIGINT, and
    every process it starts inherits that: the tests that stop ``recorder emulator`` and ``recorder serve`` with
    Ctrl-C's signal would then wait for them forever. Ctrl-C is given its usual meaning back, for this run and its
    children."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _admin_engine():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def create_pg_database(prefix: str = "recorder_test") -> str:
    """Create an empty PostgreSQL database; returns its URL. Fails the test run if the server is down."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # pragma: no cover - environment problem, made loud on purpose
        pytest.fail(
            f"PostgreSQL at {PG_ADMIN_URL} is not usable ({err.__class__.__name__}: {str(err).splitlines()[0]}); "
            "start it (`make postgres`) or set RECORDER_SKIP_PG=1 to skip PostgreSQL tests deliberately",
            pytrace=False,
        )
    finally:
        engine.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database shared by the run (tests empty it through ``backend_url``)."""
    if SKIP_PG:
        pytest.skip("RECORDER_SKIP_PG=1: PostgreSQL tests skipped on purpose")
    url = create_pg_database()
    migrate.upgrade(url)
    yield url
    drop_pg_database(url)


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty, unmigrated PostgreSQL database of this test's own."""
    if SKIP_PG:
        pytest.skip("RECORDER_SKIP_PG=1: PostgreSQL tests skipped on purpose")
    url = create_pg_database("recorder_fresh")
    yield url
    drop_pg_database(url)


def _empty_pg(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(_DATA_TABLES)} RESTART IDENTITY CASCADE"))
            conn.execute(text("UPDATE log_head SET last_position = 0 WHERE id = 1"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _sqlite_copy(template: Path, target: Path) -> str:
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated event log: one SQLite file of this test's own, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        return _sqlite_copy(sqlite_template, tmp_path / "log.db")
    url = request.getfixturevalue("pg_url")
    _empty_pg(url)
    return url


@pytest.fixture
def store(backend_url: str) -> Iterator[EventStore]:
    with EventStore(backend_url) as opened:
        yield opened


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return _sqlite_copy(sqlite_template, tmp_path / "log.db")


@pytest.fixture
def make_store() -> Iterator[Callable[[str], EventStore]]:
    opened: list[EventStore] = []

    def factory(url: str) -> EventStore:
        store = EventStore(url)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
