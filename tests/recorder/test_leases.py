"""Session leases: one recorder per session, expiry, take-over of dead workers, fencing of stale ones."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from recorder.errors import LeaseLost
from recorder.store import EventStore, Holder, Lease, Leases
from tests.helpers import assert_stream_invariants, message, raws

ELSEWHERE = "other-host:4242:abcd1234"


def test_one_holder_at_a_time_until_expiry(store: EventStore) -> None:
    mine = Leases(store, ttl=0.6)
    theirs = Leases(store, owner=ELSEWHERE, ttl=0.6)
    first = theirs.acquire("sesn_a")
    assert isinstance(first, Lease) and first.token == 1
    blocked = mine.acquire("sesn_a")
    assert isinstance(blocked, Holder) and blocked.owner == ELSEWHERE
    time.sleep(0.7)
    taken = mine.acquire("sesn_a")
    assert isinstance(taken, Lease) and taken.token == 2 and taken.owner == mine.owner
    assert isinstance(mine.acquire("sesn_b"), Lease), "leases are per session"


def test_renewal_keeps_a_lease_and_fails_once_taken_over(store: EventStore) -> None:
    mine = Leases(store, ttl=0.5)
    lease = mine.acquire("sesn_a")
    assert isinstance(lease, Lease)
    time.sleep(0.3)
    lease = mine.renew(lease)
    time.sleep(0.3)
    assert isinstance(Leases(store, owner=ELSEWHERE).acquire("sesn_a"), Holder), "renewed: still held"
    time.sleep(0.3)
    assert isinstance(Leases(store, owner=ELSEWHERE).acquire("sesn_a"), Lease)
    with pytest.raises(LeaseLost, match=ELSEWHERE):
        mine.renew(lease)


def test_a_stale_writer_is_fenced_off(store: EventStore) -> None:
    old = Leases(store, owner=ELSEWHERE, ttl=0.2).acquire("sesn_a")
    assert isinstance(old, Lease)
    store.append(raws([message(1)]), fence=old)
    time.sleep(0.3)
    new = Leases(store, ttl=30).acquire("sesn_a")
    assert isinstance(new, Lease) and new.token == old.token + 1
    with pytest.raises(LeaseLost):
        store.append(raws([message(2)]), fence=old)  # the old holder wakes up and tries to write
    assert store.append(raws([message(2)]), fence=new).added == 1
    assert assert_stream_invariants(store, "sesn_a") == 2


def test_release_keeps_the_token_counting(store: EventStore) -> None:
    leases = Leases(store)
    first = leases.acquire("sesn_a")
    assert isinstance(first, Lease)
    leases.release(first)
    second = Leases(store, owner=ELSEWHERE).acquire("sesn_a")
    assert isinstance(second, Lease) and second.token == first.token + 1
    with pytest.raises(LeaseLost):
        store.append(raws([message(1)]), fence=first)


def test_a_dead_process_of_this_host_is_taken_over_at_once(store: EventStore) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:deadbeef"
    assert isinstance(Leases(store, owner=owner, ttl=3600).acquire("sesn_a"), Lease)
    taken = Leases(store).acquire("sesn_a")
    assert isinstance(taken, Lease) and taken.token == 2
