"""The log is append-only in the database itself (migration 0002), on SQLite and PostgreSQL, while everything the
recorder does still works."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from recorder.compliance.retention import prune
from recorder.compliance.verify import verify
from recorder.errors import StoreError
from recorder.store import Checkpoint, EventStore, FileArchive, Leases, migrate, utcnow
from tests.compliance.support import build_log
from tests.helpers import message, raws


def _refused(store: EventStore, statement: str, **params: object) -> str:
    with pytest.raises(DBAPIError) as caught, store.engine.begin() as conn:
        conn.execute(text(statement), params)
    return str(caught.value.orig)


@pytest.mark.parametrize("statement", [
    "UPDATE events SET payload = '{}' WHERE position = 1",
    "UPDATE events SET recorded_at = processed_at",
    "UPDATE events SET run_id = 7",
    "DELETE FROM events WHERE position = 15",
    "UPDATE session_snapshots SET status = 'x'",
    "UPDATE session_files SET filename = 'x'",
    "UPDATE file_blobs SET size_bytes = 1",
    "UPDATE streams SET last_seq = 2 WHERE stream_key = 'sesn_b/'",
    "UPDATE streams SET head_hash = 'x' WHERE stream_key = 'sesn_b/'",
    "UPDATE streams SET session_id = 'sesn_a' WHERE stream_key = 'sesn_b/'",
    "UPDATE streams SET last_seq = 9 WHERE stream_key = 'sesn_b/'",
    "UPDATE log_head SET last_position = 3",
])
def test_changes_to_the_log_are_refused(store: EventStore, statement: str) -> None:
    build_log(store)
    assert "append-only" in _refused(store, statement)
    assert verify(store).ok


def test_the_audit_trail_and_pruned_ranges_are_append_only(store: EventStore) -> None:
    build_log(store)
    prune(store, "1d", actor="ops", now=utcnow() + timedelta(days=2))
    for statement in ("DELETE FROM pruned_ranges", "UPDATE pruned_ranges SET last_position = last_position + 1",
                      "DELETE FROM compliance_audit", "UPDATE compliance_audit SET actor = 'someone else'"):
        assert "append-only" in _refused(store, statement)
    assert verify(store).ok


def test_the_refusal_is_one_clear_line_through_the_store(store: EventStore) -> None:
    build_log(store)
    with pytest.raises(StoreError) as caught, store.write() as conn:
        conn.execute(text("DELETE FROM events"))
    message_ = str(caught.value)
    assert "\n" not in message_
    assert "DELETE from events refused: the event log is append-only; only `recorder prune` deletes" in message_


def test_everything_the_recorder_does_still_works(store: EventStore) -> None:
    build_log(store)
    run = store.start_run(mode="poll", command="record", user="u", host="h", pid=1, version="0")
    store.append(raws([message(40), message(41)], session="sesn_b"), run_id=run,
                 checkpoints=[Checkpoint("sesn_b", None, last_event_id="sevt_00000041", complete=True)])
    store.save_checkpoint(Checkpoint("sesn_b", None, last_event_id="sevt_00000041", cursor="c2"))
    store.record_snapshot("sesn_b", {"id": "sesn_b", "status": "terminated"})
    FileArchive(store).archive("sesn_b", {"id": "file_2", "filename": "out.txt"}, b"out")
    leases = Leases(store, owner="me")
    lease = leases.acquire("sesn_b")
    leases.renew(lease)
    leases.release(lease)
    store.finish_run(run, outcome="ok", sessions_count=1, events_added=2)
    report = verify(store)
    assert report.ok and report.events == 17 and report.files == 2


def test_an_empty_log_head_may_be_reset(store: EventStore) -> None:
    """What the test fixtures do between tests (TRUNCATE, then reset the head): no events, nothing lost."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE log_head SET last_position = 5"))
        conn.execute(text("UPDATE log_head SET last_position = 0"))
    store.append(raws([message(1)]))
    assert "append-only" in _refused(store, "UPDATE log_head SET last_position = 0")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'new.db'}"
    return request.getfixturevalue("fresh_pg_url")


def test_migration_0002_adds_and_removes_the_triggers(empty_url: str) -> None:
    def edit_allowed() -> bool:
        engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE events SET type = 'x'"))
        except DBAPIError:
            return False
        finally:
            engine.dispose()
        return True

    migrate.upgrade(empty_url)
    with EventStore(empty_url) as store:  # written by this version (its columns), then taken back to 0002
        store.append(raws([message(1)]))
    migrate.downgrade(empty_url, "0002")  # what 0003 and later add goes; 0002's triggers stay
    assert not edit_allowed()
    migrate.downgrade(empty_url, "0001")
    assert "legal_holds" not in migrate.tables(empty_url)
    assert edit_allowed()
    migrate.upgrade(empty_url)
    assert not edit_allowed()
