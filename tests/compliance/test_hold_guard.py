"""Legal holds are protected like the log: no UPDATE, no DELETE but through the audited release path, and
``verify`` fails when a hold the audit trail records has vanished (the triggers bypassed by the owner).

Before 0003 a plain ``DELETE FROM legal_holds`` followed by ``recorder prune`` destroyed a held session, and
``verify`` passed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from recorder.compliance.retention import hold, prune, release
from recorder.compliance.verify import verify
from recorder.errors import StoreError
from recorder.store import ComplianceStore, EventStore, utcnow
from tests.compliance.support import build_log, tamper


def _refused(store: EventStore, statement: str) -> str:
    with pytest.raises(StoreError) as caught, store.write() as conn:
        conn.execute(text(statement))
    return str(caught.value)


def test_a_hold_cannot_be_deleted_or_changed_behind_the_audit_trail(store: EventStore) -> None:
    build_log(store)
    hold(store, "sesn_a", reason="case 12", actor="alice")
    for statement in ("DELETE FROM legal_holds", "DELETE FROM legal_holds WHERE session_id = 'sesn_a'",
                      "UPDATE legal_holds SET reason = 'nothing'", "UPDATE legal_holds SET session_id = 'sesn_b'"):
        assert "legal_holds refused" in _refused(store, statement)
    assert [h.session_id for h in ComplianceStore(store).holds()] == ["sesn_a"]
    report = prune(store, "1d", actor="ops", now=utcnow() + timedelta(days=2))
    assert report.held == ["sesn_a"] and [p.session_id for p in report.pruned] == ["sesn_b"]
    assert verify(store).ok


def test_the_release_path_still_works_and_is_audited(store: EventStore) -> None:
    build_log(store)
    hold(store, "sesn_a", reason="case 12", actor="alice")
    release(store, "sesn_a", reason="closed", actor="bob")
    assert ComplianceStore(store).holds() == []
    actions = [(e.action, e.session_id) for e in ComplianceStore(store).audit_entries()]
    assert actions == [("hold", "sesn_a"), ("release", "sesn_a")]
    hold(store, "sesn_a", reason="case 13", actor="alice")  # held again after a release
    assert verify(store).ok


def test_verify_fails_when_an_audited_hold_has_vanished(store: EventStore) -> None:
    build_log(store)
    hold(store, "sesn_a", reason="case 12", actor="alice")
    tamper(store, "DELETE FROM legal_holds WHERE session_id = 'sesn_a'")
    report = verify(store)
    assert not report.ok
    assert "legal hold of audit entry 1 has vanished" in report.problems[0].line()
    assert not verify(store, ["sesn_a"]).ok
    assert verify(store, ["sesn_b"]).ok


def test_verify_fails_on_a_hold_the_audit_trail_does_not_record(store: EventStore) -> None:
    build_log(store)
    tamper(store, "INSERT INTO legal_holds (session_id, reason, held_by, held_at) "
                  "VALUES ('sesn_b', 'x', 'mallory', '2026-11-01 00:00:00')")
    report = verify(store)
    assert not report.ok and "does not record" in report.problems[0].line()
