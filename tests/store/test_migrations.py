"""alembic owns the schema: upgrade from empty, downgrade-then-upgrade, and no drift, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from recorder.errors import SchemaError
from recorder.store import EventStore, migrate
from tests.helpers import message, raws

EXPECTED_TABLES = {
    "alembic_version",
    "checkpoints",
    "compliance_audit",
    "events",
    "file_blobs",
    "leases",
    "legal_holds",
    "log_head",
    "pruned_ranges",
    "recording_runs",
    "retention_guard",
    "session_files",
    "session_lifecycle",
    "session_snapshots",
    "sessions",
    "streams",
    "threads",
    "webhook_deliveries",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'new.db'}"
    return request.getfixturevalue("fresh_pg_url")


def test_upgrade_from_empty_creates_the_schema_without_drift(empty_url: str) -> None:
    before, after = migrate.upgrade(empty_url)
    assert (before, after) == (None, migrate.head())
    assert set(migrate.tables(empty_url)) >= EXPECTED_TABLES
    migrate.check(empty_url)  # alembic check: the models agree with the migrations
    with EventStore(empty_url) as store:
        assert store.append(raws([message(1)])).added == 1


def test_downgrade_then_upgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    assert migrate.current(empty_url) is None
    assert set(migrate.tables(empty_url)) <= {"alembic_version"}
    migrate.upgrade(empty_url)
    migrate.check(empty_url)
    with EventStore(empty_url) as store:
        assert store.head_position() == 0


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert migrate.upgrade(empty_url) == (migrate.head(), migrate.head())


def test_check_reports_drift(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_unexpected ON events (recorded_at)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="drifted"):
        migrate.check(empty_url)


def test_the_store_refuses_an_unmigrated_database(empty_url: str) -> None:
    with pytest.raises(SchemaError, match="recorder db upgrade"):
        EventStore(empty_url)


def test_the_application_never_calls_create_all() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in ("recorder", "analytics", "migrations")
        for path in (root / folder).rglob("*.py")
        if "create_all(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_db_commands_on_a_new_database(empty_url: str) -> None:
    from click.testing import CliRunner

    from recorder.cli import cli

    runner = CliRunner()
    upgraded = runner.invoke(cli, ["db", "upgrade", "--db", empty_url])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"database at {migrate.head()} (was empty)" in upgraded.stdout
    assert set(migrate.tables(empty_url)) >= EXPECTED_TABLES
    checked = runner.invoke(cli, ["db", "check", "--db", empty_url])
    assert checked.exit_code == 0 and "matches the models" in checked.stdout
    current = runner.invoke(cli, ["db", "current", "--db", empty_url])
    assert current.exit_code == 0 and "up to date" in current.stdout
