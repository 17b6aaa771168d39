"""Destructive commands never act unasked: at a terminal they show what goes and ask; elsewhere they need --yes.

``recorder prune`` removes sessions and ``recorder db downgrade`` drops tables (``base``: the whole log). Both once
acted at once. --dry-run still shows what would go, with nothing to confirm.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from recorder import cli as cli_module
from recorder.cli import cli
from recorder.store import EventStore, migrate
from tests.compliance.support import build_log


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def session_ids(url: str) -> list[str]:
    with EventStore(url) as store:
        return sorted(store.session_ids())


@pytest.fixture
def aged_log(backend_url: str) -> str:
    """Two sessions whose last activity is more than a second ago."""
    with EventStore(backend_url) as store:
        build_log(store)
    time.sleep(1.1)
    return backend_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own (downgrading a shared one would break other tests)."""
    own = f"sqlite:///{tmp_path}/own.db"
    url = own if request.param == "sqlite" else request.getfixturevalue("fresh_pg_url")
    migrate.upgrade(url)
    with EventStore(url) as store:
        build_log(store)
    yield url


@pytest.fixture
def at_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)


def one_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_prune_without_a_terminal_needs_yes(aged_log: str) -> None:
    result = run("prune", "--db", aged_log, "--older-than", "1s")
    assert result.exit_code == 2
    assert "--yes" in one_line(result)
    assert session_ids(aged_log) == ["sesn_a", "sesn_b"]
    dry = run("prune", "--db", aged_log, "--older-than", "1s", "--dry-run")
    assert dry.exit_code == 0 and "would remove sesn_a" in dry.output
    assert session_ids(aged_log) == ["sesn_a", "sesn_b"]
    done = run("prune", "--db", aged_log, "--older-than", "1s", "--yes")
    assert done.exit_code == 0, done.stderr
    assert "removed 2 sessions" in done.output
    assert session_ids(aged_log) == []


def test_prune_at_a_terminal_shows_and_asks(aged_log: str, at_terminal: None) -> None:
    refused = run("prune", "--db", aged_log, "--older-than", "1s", input="n\n")
    assert refused.exit_code == 1
    assert "sesn_a: 11 events" in refused.stderr and "sesn_b: 4 events" in refused.stderr
    assert "Remove these 2 sessions from the log?" in refused.stderr
    assert refused.stderr.rstrip().endswith("recorder: nothing changed")
    assert session_ids(aged_log) == ["sesn_a", "sesn_b"]
    accepted = run("prune", "--db", aged_log, "--older-than", "1s", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert session_ids(aged_log) == []


def test_prune_with_nothing_to_remove_asks_nothing(backend_url: str) -> None:
    with EventStore(backend_url) as store:
        build_log(store)
    result = run("prune", "--db", backend_url, "--older-than", "1y")
    assert result.exit_code == 0 and "removed 0 sessions" in result.output


def test_downgrade_without_a_terminal_needs_yes(migrated_url: str) -> None:
    head = migrate.head()
    result = run("db", "downgrade", "--db", migrated_url, "base")
    assert result.exit_code == 2
    assert "--yes" in one_line(result)
    assert migrate.current(migrated_url) == head
    dry = run("db", "downgrade", "--db", migrated_url, "base", "--dry-run")
    assert dry.exit_code == 0
    assert "would drop tables: " in dry.output and "events (15 rows)" in dry.output
    assert f"would revert {head}" in dry.output
    assert migrate.current(migrated_url) == head
    done = run("db", "downgrade", "--db", migrated_url, "base", "--yes")
    assert done.exit_code == 0, done.stderr
    assert migrate.current(migrated_url) is None


def test_downgrade_at_a_terminal_shows_and_asks(migrated_url: str, at_terminal: None) -> None:
    refused = run("db", "downgrade", "--db", migrated_url, "base", input="n\n")
    assert refused.exit_code == 1
    assert "events (15 rows)" in refused.stderr and "This cannot be undone" in refused.stderr
    assert migrate.current(migrated_url) == migrate.head()
    assert session_ids(migrated_url) == ["sesn_a", "sesn_b"]
    accepted = run("db", "downgrade", "--db", migrated_url, "base", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert migrate.current(migrated_url) is None


# ------------------------------------------------------------------------------------------ wrong advice


def test_a_newer_database_is_not_told_to_upgrade(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    current = run("db", "current", "--db", migrated_url)
    assert current.exit_code == 1
    line = one_line(current)
    assert "9999_future" in line and "NEWER than this recorder knows" in line
    assert "run `recorder db upgrade`" not in line
    upgrade = run("db", "upgrade", "--db", migrated_url)
    assert upgrade.exit_code == 1
    assert "newer than this recorder knows" in one_line(upgrade)
    assert "upgrade the recorder" in one_line(upgrade)
    downgrade = run("db", "downgrade", "--db", migrated_url, "base", "--yes")
    assert downgrade.exit_code == 1 and "newer than this recorder knows" in one_line(downgrade)


def test_db_current_reports_behind_and_up_to_date(migrated_url: str) -> None:
    result = run("db", "current", "--db", migrated_url)
    assert result.exit_code == 0 and "up to date" in result.output


@pytest.mark.postgres
@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:5432/recorder_no_such_database",
    "postgresql+psycopg://recorder_no_such_role@127.0.0.1:5432/postgres",
], ids=["database", "role"])
def test_postgres_missing_role_or_database_says_so(url: str) -> None:
    result = run("sessions", "--db", url)
    assert result.exit_code == 1
    line = one_line(result)
    assert "does not exist" in line
    assert "is the server running" not in line
