"""Group commit: several batches, of several sessions, appended in one transaction (``append_many``)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from recorder.errors import LeaseLost, StoreError
from recorder.store import AppendRequest, AppendResult, Checkpoint, EventStore, Lease, Leases
from tests.helpers import assert_stream_invariants, message, raws

ELSEWHERE = "other-host:4242:abcd1234"


def _checkpoint(session: str, event_id: str) -> Checkpoint:
    return Checkpoint(session, None, datetime(2026, 1, 1), event_id, None, False)


def test_batches_of_many_sessions_commit_together_in_order(store: EventStore) -> None:
    requests = [
        AppendRequest(raws([message(1), message(2)], session="sesn_a"), [_checkpoint("sesn_a", "a2")]),
        AppendRequest(raws([message(1)], session="sesn_b"), [_checkpoint("sesn_b", "b1")]),
        AppendRequest(raws([message(2), message(3)], session="sesn_a")),  # message 2 repeats: skipped
    ]
    results = store.append_many(requests)
    assert results == [
        AppendResult(added=2, skipped=0, first_position=1, last_position=2),
        AppendResult(added=1, skipped=0, first_position=3, last_position=3),
        AppendResult(added=1, skipped=1, first_position=4, last_position=4),
    ]
    assert store.head_position() == 4
    assert assert_stream_invariants(store, "sesn_a") == 3
    assert assert_stream_invariants(store, "sesn_b") == 1
    checkpoint = store.checkpoint("sesn_b")
    assert checkpoint is not None and checkpoint.last_event_id == "b1"
    assert [e.position for e in store.read_log()] == [1, 2, 3, 4]


def test_a_fenced_off_batch_writes_nothing_and_the_others_commit(store: EventStore) -> None:
    old = Leases(store, owner=ELSEWHERE, ttl=0.2).acquire("sesn_a")
    assert isinstance(old, Lease)
    time.sleep(0.3)
    new = Leases(store, ttl=30).acquire("sesn_a")
    assert isinstance(new, Lease)
    results = store.append_many([
        AppendRequest(raws([message(1)], session="sesn_a"), [_checkpoint("sesn_a", "stale")], fence=old),
        AppendRequest(raws([message(1)], session="sesn_b"), fence=None),
    ])
    assert isinstance(results[0], LeaseLost)
    assert results[1] == AppendResult(added=1, skipped=0, first_position=1, last_position=1)
    assert not store.has_session("sesn_a") or store.checkpoint("sesn_a") is None
    assert [e.session_id for e in store.read_log()] == ["sesn_b"]
    with pytest.raises(LeaseLost):
        store.append(raws([message(2)], session="sesn_a"), fence=old)


def test_a_failed_group_writes_nothing_of_any_batch(store: EventStore) -> None:
    store.append(raws([message(1)], session="sesn_a"))

    def fail(_conn: object) -> None:
        raise StoreError("disk full")

    with pytest.raises(StoreError):
        store.append_many(
            [AppendRequest(raws([message(2)], session="sesn_a"), [_checkpoint("sesn_a", "x")]),
             AppendRequest(raws([message(1)], session="sesn_b"))],
            before_commit=fail,
        )
    assert store.head_position() == 1
    assert [e.session_id for e in store.read_log()] == ["sesn_a"]
    assert store.checkpoint("sesn_a") is None
    assert assert_stream_invariants(store, "sesn_a") == 1


def test_an_empty_group_is_no_transaction(store: EventStore) -> None:
    assert store.append_many([]) == []
    assert store.head_position() == 0


def test_events_the_log_already_holds_are_skipped_inside_a_group(store: EventStore) -> None:
    """The first try of a group may not look keys up (SQLite inserts first); a held event must still be skipped,
    with the positions and sequence numbers of the rest gapless."""
    store.append(raws([message(1), message(2)], session="sesn_a"))
    results = store.append_many([
        AppendRequest(raws([message(1)], session="sesn_b")),
        AppendRequest(raws([message(2), message(3)], session="sesn_a"), [_checkpoint("sesn_a", "a3")]),
    ])
    assert results == [
        AppendResult(added=1, skipped=0, first_position=3, last_position=3),
        AppendResult(added=1, skipped=1, first_position=4, last_position=4),
    ]
    assert assert_stream_invariants(store, "sesn_a") == 3
    assert [e.position for e in store.read_log()] == [1, 2, 3, 4]
    checkpoint = store.checkpoint("sesn_a")
    assert checkpoint is not None and checkpoint.last_event_id == "a3"
