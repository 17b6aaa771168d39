"""`recorder db roles` on the real PostgreSQL server: the writer can only append (everything the recorder does
works, nothing is deleted or rewritten), the reader can only read (verify and export work)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recorder.compliance.export import export
from recorder.compliance.retention import hold, prune
from recorder.compliance.verify import verify
from recorder.errors import ConfigError, StoreError
from recorder.store import Checkpoint, EventStore, FileArchive, Leases, grant_roles, migrate, role_statements, utcnow
from tests.compliance.support import build_log
from tests.helpers import message, raws

pytestmark = pytest.mark.postgres


def test_role_names_are_checked() -> None:
    with pytest.raises(ConfigError, match="bad role name"):
        role_statements("Robert'); DROP TABLE events;--", "reader")
    with pytest.raises(ConfigError, match="must differ"):
        role_statements("same", "same")
    statements = role_statements("w", "r")
    assert "GRANT SELECT, INSERT ON events TO w" in statements
    assert not any("DELETE" in s and "TO r" in s for s in statements)


def test_roles_are_for_postgresql_only(sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match="PostgreSQL only"):
        grant_roles(sqlite_url, "w", "r")


@pytest.fixture
def roles(fresh_pg_url: str) -> Iterator[tuple[str, str, str]]:
    """A migrated database with the two roles granted, and a login user in each: (admin url, writer, reader)."""
    migrate.upgrade(fresh_pg_url)
    tag = uuid.uuid4().hex[:8]
    writer, reader = f"rw_{tag}", f"ro_{tag}"
    grant_roles(fresh_pg_url, writer, reader)
    grant_roles(fresh_pg_url, writer, reader)  # again (after an upgrade): idempotent
    admin = create_engine(fresh_pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {writer}_login LOGIN IN ROLE {writer}"))
        conn.execute(text(f"CREATE ROLE {reader}_login LOGIN IN ROLE {reader}"))
    try:
        yield fresh_pg_url, writer, reader
    finally:
        with admin.connect() as conn:
            for role in (f"{writer}_login", f"{reader}_login", writer, reader):
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def _as(url: str, user: str) -> str:
    return make_url(url).set(username=user).render_as_string(hide_password=False)


def test_the_writer_appends_and_cannot_delete_or_rewrite(roles: tuple[str, str, str]) -> None:
    url, writer, _ = roles
    with EventStore(_as(url, f"{writer}_login")) as store:
        build_log(store)  # events, threads, a snapshot, a file
        run = store.start_run(mode="poll", command="record", user="u", host="h", pid=1, version="0")
        store.append(raws([message(30)], session="sesn_b"), run_id=run,
                     checkpoints=[Checkpoint("sesn_b", None, last_event_id="sevt_00000030")])
        store.finish_run(run, outcome="ok", sessions_count=1, events_added=1)
        lease = Leases(store, owner="w").acquire("sesn_b")
        Leases(store, owner="w").release(lease)
        FileArchive(store).archive("sesn_b", {"id": "file_9", "filename": "x"}, b"x")
        for statement in ("DELETE FROM events", "UPDATE events SET type = 'x'", "TRUNCATE events",
                          "DELETE FROM streams", "INSERT INTO retention_guard VALUES ('sesn_a', 1)",
                          "DELETE FROM compliance_audit", "DROP TRIGGER recorder_events_no_update ON events"):
            with pytest.raises(StoreError, match=r"permission denied|must be owner"), store.write() as conn:
                conn.execute(text(statement))
        with pytest.raises(StoreError, match="permission denied"):
            hold(store, "sesn_a", reason="x", actor="w")
        with pytest.raises(StoreError, match="permission denied"):
            prune(store, "1d", now=utcnow() + timedelta(days=2))
    with EventStore(url) as owner:
        report = verify(owner)
        assert report.ok and report.events == 16


def test_the_reader_reads_and_cannot_write(roles: tuple[str, str, str], tmp_path: Path) -> None:
    url, _, reader = roles
    with EventStore(url) as owner:
        build_log(owner)
    with EventStore(_as(url, f"{reader}_login")) as store:
        report = verify(store)
        assert report.ok and report.events == 15
        assert export(store, None, tmp_path / "bundle").events == 15
        with pytest.raises(StoreError, match="permission denied"):
            store.append(raws([message(99)]))
        with pytest.raises(StoreError, match="permission denied"), store.write() as conn:
            conn.execute(text("UPDATE sessions SET title = 'x'"))
