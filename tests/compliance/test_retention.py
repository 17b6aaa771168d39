"""Retention and legal hold: prune removes whole sessions past retention unless held; every hold, release and prune
is audited (who, when, why, what); verify stays green after a prune and still catches what a prune does not
explain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from recorder.compliance.retention import default_actor, hold, parse_duration, prune, release
from recorder.compliance.verify import verify
from recorder.errors import ConfigError, NotFound
from recorder.store import ComplianceStore, EventStore, Leases, entry_is_intact, utcnow
from tests.compliance.support import build_log, tamper
from tests.helpers import message, raws

LATER = timedelta(days=400)


def _count(store: EventStore, table: str, where: str = "1 = 1") -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())


def test_parse_duration() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("1y30d") == timedelta(days=395)
    assert parse_duration(" 12h ") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("30m") == timedelta(minutes=30)
    for bad in ("", "90", "d", "10x", "-5d", "0d", "5d garbage"):
        with pytest.raises(ConfigError, match="duration"):
            parse_duration(bad)


def test_default_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORDER_ACTOR", "alice (legal)")
    assert default_actor() == "alice (legal)"
    monkeypatch.delenv("RECORDER_ACTOR")
    assert "@" in default_actor()


def test_a_held_session_survives_prune_and_everything_is_audited(store: EventStore) -> None:
    build_log(store)
    before = {(s.session_id, s.thread_id): s for s in store.streams()}
    held, new = hold(store, "sesn_a", reason="case 7 (litigation)", actor="alice")
    assert new and held.held_by == "alice"
    assert hold(store, "sesn_a", reason="again", actor="bob") == (held, False)  # no change, no audit entry

    report = prune(store, "90d", actor="ops", now=utcnow() + LATER)
    assert [p.session_id for p in report.pruned] == ["sesn_b"] and report.held == ["sesn_a"]
    assert store.has_session("sesn_a") and not store.has_session("sesn_b")
    assert _count(store, "events", "session_id = 'sesn_b'") == 0
    assert _count(store, "events") == 11

    release(store, "sesn_a", reason="case 7 closed", actor="alice")
    report = prune(store, "90d", actor="ops", reason="policy RET-7", now=utcnow() + LATER)
    assert [p.session_id for p in report.pruned] == ["sesn_a"]
    assert _count(store, "events") == 0 and _count(store, "file_blobs") == 0 and _count(store, "sessions") == 0

    entries = ComplianceStore(store).audit_entries()
    assert [(e.action, e.session_id, e.actor) for e in entries] == [
        ("hold", "sesn_a", "alice"), ("prune", "sesn_b", "ops"), ("release", "sesn_a", "alice"),
        ("prune", "sesn_a", "ops")]
    assert all(entry_is_intact(e) for e in entries)
    assert entries[2].reason == "case 7 closed" and entries[2].data["hold_reason"] == "case 7 (litigation)"
    pruned_a = entries[3].data
    assert entries[3].reason == "policy RET-7" and pruned_a["older_than"] == "90d"
    assert pruned_a["events"] == 11 and pruned_a["snapshots"] == 1
    assert pruned_a["files"] == [{"file_id": "file_1", "sha256": pruned_a["files"][0]["sha256"], "size_bytes": 20}]
    assert {(s["thread_id"], s["events"], s["head_hash"]) for s in pruned_a["streams"]} == {
        (key[1], info.last_seq, info.head_hash) for key, info in before.items() if key[0] == "sesn_a"}
    assert entries[1].data["positions"] == {"ranges": 3, "first": 3, "last": 12}  # sesn_b: 3, 8-9, 12
    assert verify(store).ok


def test_verify_stays_green_after_prune_and_recording_goes_on(store: EventStore) -> None:
    build_log(store)
    prune(store, "1d", actor="ops", now=utcnow() + LATER)
    store.append(raws([message(1)], session="sesn_b"))  # the pruned session recorded again from scratch
    store.append(raws([message(90)], session="sesn_new"))
    report = verify(store)
    assert report.ok, report.summary()
    assert (report.events, report.pruned_positions, report.log_head) == (2, 15, 17)
    assert store.stream_info("sesn_b").last_seq == 1


def test_dry_run_changes_nothing(store: EventStore) -> None:
    build_log(store)
    report = prune(store, "30d", dry_run=True, now=utcnow() + LATER)
    assert sorted(p.session_id for p in report.pruned) == ["sesn_a", "sesn_b"]
    assert report.events == 15
    assert _count(store, "events") == 15 and _count(store, "compliance_audit") == 0


def test_recent_and_leased_sessions_are_kept(store: EventStore) -> None:
    build_log(store)
    assert prune(store, "1d").pruned == []  # everything is younger than a day
    Leases(store, owner="recorder-1").acquire("sesn_b")
    report = prune(store, "1s", now=utcnow() + LATER)
    assert report.recording == ["sesn_b"] and [p.session_id for p in report.pruned] == ["sesn_a"]


def test_last_activity_counts_the_latest_processed_at(store: EventStore) -> None:
    """An event the API processed after it was recorded (clock skew) keeps its session as long as that time."""
    store.append(raws([message(1, processed_at="2999-01-01T00:00:00.000000Z")], session="sesn_future"))
    store.append(raws([message(1)], session="sesn_now"))
    report = prune(store, "1d", dry_run=True, now=utcnow() + LATER)
    assert [p.session_id for p in report.pruned] == ["sesn_now"]


def test_holds_need_a_recorded_session_and_a_reason(store: EventStore) -> None:
    build_log(store)
    with pytest.raises(NotFound, match="sesn_nope is not in the log"):
        hold(store, "sesn_nope", reason="x")
    with pytest.raises(ConfigError, match="reason"):
        hold(store, "sesn_a", reason="  ")
    with pytest.raises(NotFound, match="not under legal hold"):
        release(store, "sesn_a", reason="x")
    prune(store, "1d", actor="ops", now=utcnow() + LATER)
    with pytest.raises(NotFound, match=r"sesn_b was pruned on .* by ops"):
        hold(store, "sesn_b", reason="too late")
    with pytest.raises(NotFound, match="sesn_b was pruned"):
        verify(store, ["sesn_b"])


def test_verify_catches_what_a_prune_does_not_explain(store: EventStore) -> None:
    """A gap covered by a forged pruned range, or an edited prune entry, is still reported."""
    build_log(store)
    prune(store, "1d", actor="ops", now=utcnow() + LATER)  # both sessions: positions 1..15 pruned
    store.append(raws([message(i) for i in range(1, 6)], session="sesn_c"))  # positions 16..20
    tamper(store, "DELETE FROM events WHERE position = 20",
           "UPDATE streams SET last_seq = 4, head_hash = (SELECT chain_hash FROM events WHERE position = 19)",
           "UPDATE log_head SET last_position = 19",
           "INSERT INTO pruned_ranges (first_position, last_position, audit_id) VALUES (20, 20, 1)")
    problems = [p.line() for p in verify(store).problems]
    assert problems == ["session sesn_a: pruned_ranges of audit entry 1 cover 12 positions in 5 ranges; the prune "
                        "removed 11 events (pruned ranges edited)"]
    tamper(store, "DELETE FROM pruned_ranges WHERE first_position = 20",
           "UPDATE compliance_audit SET reason = 'nothing to see' WHERE audit_id = 2")
    problems = [p.line() for p in verify(store).problems]
    assert problems == ["session sesn_b: audit entry 2 (prune) was altered"]


def test_the_database_refuses_deletes_outside_prune(store: EventStore) -> None:
    build_log(store)
    hold(store, "sesn_a", reason="case 9", actor="alice")
    with store.engine.begin() as conn:  # a session with no rows pointing at it, so no foreign key objects
        conn.execute(text("INSERT INTO sessions (session_id, first_recorded_at, last_recorded_at) "
                          "VALUES ('sesn_bare', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
    for statement in ("DELETE FROM events WHERE session_id = 'sesn_b'", "DELETE FROM streams",
                      "DELETE FROM sessions WHERE session_id = 'sesn_bare'", "DELETE FROM session_files",
                      "DELETE FROM session_snapshots", "DELETE FROM threads", "DELETE FROM file_blobs",
                      "DELETE FROM compliance_audit", "UPDATE compliance_audit SET reason = 'x'",
                      "DELETE FROM log_head"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    # Even a hand-written guard row does not let a held session go.
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("INSERT INTO retention_guard (session_id, audit_id) VALUES ('sesn_a', 1)"))
        conn.execute(text("DELETE FROM events WHERE session_id = 'sesn_a'"))
    assert _count(store, "events") == 15 and verify(store).ok
