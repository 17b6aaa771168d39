"""The lifecycle rules, from status events, snapshots and list entries, without any API."""

from __future__ import annotations

from datetime import datetime

from recorder.ingest.lifecycle import Watch, is_closed, state_of, unchanged
from recorder.store import SessionState

T = "2026-11-01T12:00:00Z"


def idle(reason: str) -> dict[str, object]:
    return {"type": "session.status_idle", "id": "sevt_1", "processed_at": T, "stop_reason": {"type": reason}}


def test_requires_action_keeps_a_session_active_other_idles_rest() -> None:
    watch = Watch()
    watch.start({"status": "running"})
    assert not watch.resting
    watch.see(idle("requires_action"))
    assert watch.status == "idle" and watch.requires_action and not watch.resting
    assert state_of({"status": "idle"}, watch) == "active"
    watch.see({"type": "session.status_running"})
    assert not watch.resting
    for reason in ("end_turn", "retries_exhausted", "budget_reached", "refusal"):
        watch.see(idle(reason))
        assert watch.resting and state_of({"status": "idle"}, watch) == "settled"
    assert watch.idle_at == datetime(2026, 11, 1, 12, 0, 0)


def test_terminated_archived_and_deleted_end_a_session() -> None:
    assert is_closed({"status": "terminated"}) and is_closed({"status": "idle", "archived_at": T})
    assert not is_closed({"status": "idle", "archived_at": None})
    assert state_of({"status": "idle", "archived_at": T}, Watch()) == "closed"
    watch = Watch()
    watch.see({"type": "session.deleted"})
    assert watch.ended and watch.deleted
    fresh = Watch()
    fresh.start({"status": "idle"})  # sessions start idle: with no idle event yet, nothing waits for the client
    assert fresh.resting


def test_a_list_entry_is_unchanged_only_when_everything_matches_a_resting_state() -> None:
    at = datetime(2026, 11, 1, 12, 0, 0)
    known = SessionState("s", "settled", "idle", at, None, None, at)
    entry = {"id": "s", "status": "idle", "updated_at": T, "archived_at": None}
    assert unchanged(entry, known)
    assert not unchanged({**entry, "updated_at": "2026-11-01T12:00:01Z"}, known)
    assert not unchanged({**entry, "status": "running"}, known)
    assert not unchanged({**entry, "archived_at": T}, known)
    assert not unchanged(entry, None)
    running = SessionState("s", "active", "running", at, None, None, at)
    assert not unchanged({**entry, "status": "running"}, running), "a running session is always looked at"
