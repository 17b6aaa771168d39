"""Lifecycle states and webhook deliveries in the log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from recorder.store import DELETED_ACTION, ComplianceStore, EventStore, Lifecycle

T0 = datetime(2026, 11, 1, 12, 0, 0)


def test_states_follow_the_session_until_it_is_deleted(store: EventStore) -> None:
    life = Lifecycle(store)
    assert life.state("sesn_a") is None
    assert life.set_state("sesn_a", "active", upstream_status="running", upstream_updated_at=T0, archived_at=None)
    assert life.set_state("sesn_a", "settled", upstream_status="idle", upstream_updated_at=T0 + timedelta(seconds=5),
                          archived_at=None)
    state = life.state("sesn_a")
    assert state is not None and state.state == "settled" and state.upstream_status == "idle"
    assert state.upstream_updated_at == T0 + timedelta(seconds=5) and state.deleted_at is None

    assert life.mark_deleted("sesn_a", actor="tester", reason="gone", details={"events": 3})
    assert not life.mark_deleted("sesn_a", actor="tester", reason="gone again", details={})
    assert not life.set_state("sesn_a", "active", upstream_status="running", upstream_updated_at=T0,
                              archived_at=None), "a deleted session stays deleted"
    state = life.state("sesn_a")
    assert state is not None and state.state == "deleted" and state.deleted_at is not None
    entries = ComplianceStore(store).audit_entries("sesn_a", DELETED_ACTION)
    assert len(entries) == 1 and entries[0].data["events"] == 3
    assert set(life.states()) == {"sesn_a"}


def test_a_session_never_recorded_can_be_marked_deleted(store: EventStore) -> None:
    life = Lifecycle(store)
    assert life.mark_deleted("sesn_never", actor="tester", reason="gone", details={})
    assert life.state("sesn_never").state == "deleted"  # type: ignore[union-attr]


def test_deliveries_are_kept_once_by_webhook_id_until_handled(store: EventStore) -> None:
    life = Lifecycle(store)
    assert life.accept_delivery("msg_1", event_type="session.created", session_id="sesn_a", payload="{}")
    assert not life.accept_delivery("msg_1", event_type="session.created", session_id="sesn_a", payload="{}")
    assert life.accept_delivery("msg_2", event_type="session.status_idled", session_id="sesn_b", payload="{}")
    assert life.accept_delivery("msg_3", event_type="agent.created", session_id=None, payload="{}")
    assert [d.webhook_id for d in life.pending_deliveries()] == ["msg_1", "msg_2", "msg_3"]
    assert life.mark_handled("sesn_a", datetime.now() + timedelta(days=1)) == 1
    assert life.mark_handled(None, datetime.now() + timedelta(days=1)) == 1
    assert [d.webhook_id for d in life.pending_deliveries()] == ["msg_2"]
    assert life.mark_handled("sesn_b", T0) == 0, "a delivery that came after the run began is not handled by it"
    assert len(life.deliveries()) == 3
