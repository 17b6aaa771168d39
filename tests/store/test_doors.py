"""The store's doors: the consumer protocols, their SQL implementations and the ``EventStore`` facade agree.

Each protocol member exists with the same signature on the facade and on the protocol's SQL implementation, and
the implementation built on a bare ``Database`` reads what the facade reads (SQLite and PostgreSQL).
"""

from __future__ import annotations

import inspect

import pytest

from recorder.errors import LeaseLost, StoreError
from recorder.store import (
    ComplianceStore,
    Database,
    EventStore,
    FileArchive,
    Holder,
    Lease,
    Leases,
    LogTail,
    SqlLogTail,
    SqlStreamReads,
    StreamReads,
)
from tests.helpers import message, raws


def eid(i: int) -> str:
    return str(message(i)["id"])


PROTOCOLS = [(LogTail, SqlLogTail), (StreamReads, SqlStreamReads)]


def _members(protocol: type) -> list[str]:
    return [name for name in vars(protocol) if not name.startswith("_")]


@pytest.mark.parametrize(("protocol", "implementation"), PROTOCOLS, ids=lambda p: p.__name__)
def test_facade_and_implementation_have_the_protocol(protocol: type, implementation: type) -> None:
    members = _members(protocol)
    assert len(members) >= 4
    for name in members:
        wanted = getattr(protocol, name)
        if isinstance(wanted, property):  # an attribute: the facade sets it per instance (Database.url)
            assert isinstance(getattr(implementation, name), property), f"{implementation.__name__}.{name}"
            continue
        for owner in (implementation, EventStore):
            have = getattr(owner, name, None)
            assert have is not None, f"{owner.__name__} lacks {protocol.__name__}.{name}"
            if callable(wanted):
                assert inspect.signature(have) == inspect.signature(wanted), f"{owner.__name__}.{name}"


def test_the_implementations_read_what_the_facade_reads(backend_url: str) -> None:
    with EventStore(backend_url) as store:
        store.append(raws([message(i) for i in range(1, 6)]))
        store.append(raws([message(i) for i in range(3, 9)], thread="sthr_1"))
        store.record_snapshot("sesn_a", {"id": "sesn_a", "status": "idle"})
        db = Database(backend_url)
        try:
            tail, streams = SqlLogTail(db), SqlStreamReads(db)
            assert tail.url == store.url
            assert tail.head_position() == store.head_position() == 11
            assert tail.read_log_rows(2, 4) == store.read_log_rows(2, 4)
            assert [row[0] for row in tail.read_log_rows(0, 100, 7)] == list(range(1, 8))
            assert tail.read_log(0, 100) == store.read_log(0, 100)
            assert tail.latest_snapshots() == store.latest_snapshots()
            assert tail.pruned_ranges() == store.pruned_ranges() == []
            assert streams.thread_ids("sesn_a") == store.thread_ids("sesn_a") == ["sthr_1"]
            assert list(streams.read_stream("sesn_a", "sthr_1")) == list(store.read_stream("sesn_a", "sthr_1"))
            extras = list(streams.read_stream_extras("sesn_a", "sthr_1"))
            # the thread's events the session stream lacks, each with the key before it in the thread's stream
            assert [(before, row.event_id) for before, row in extras] == [
                (eid(5), eid(6)), (eid(6), eid(7)), (eid(7), eid(8))
            ]
            assert streams.find_event("sesn_a", eid(4)) == store.find_event("sesn_a", eid(4))
            assert [thread for thread, _row in streams.find_event("sesn_a", eid(4))] == [None, "sthr_1"]
            info = streams.stream_info("sesn_a", "sthr_1")
            assert info is not None and info.stream_key == "sesn_a/sthr_1" and info.last_seq == 6
            assert streams.streams("sesn_a") == store.streams("sesn_a")
        finally:
            db.close()


def test_every_store_takes_a_plain_database(backend_url: str) -> None:
    """The stores of other concerns need only a Database: no facade, no private door."""
    with EventStore(backend_url) as store:
        store.append(raws([message(1)]))
    db = Database(backend_url)
    try:
        leases = Leases(db, owner="host:1:a")
        lease = leases.acquire("sesn_a")
        assert isinstance(lease, Lease) and leases.holder("sesn_a") == Holder("host:1:a", lease.expires_at)
        FileArchive(db).archive("sesn_a", {"id": "file_1", "filename": "a.txt"}, b"hello")
        assert [f.file_id for f in FileArchive(db).files("sesn_a")] == ["file_1"]
        hold, new = ComplianceStore(db).add_hold("sesn_a", reason="case 1", actor="legal")
        assert new and hold.session_id == "sesn_a"
        assert Leases(db, owner="host:2:b").acquire("sesn_a") == Holder("host:1:a", lease.expires_at)
    finally:
        db.close()


def test_a_write_transaction_rolls_back_on_error_and_translates_driver_errors(backend_url: str) -> None:
    db = Database(backend_url)
    try:
        with pytest.raises(LeaseLost), db.write() as conn:
            db.lock_log(conn)
            conn.exec_driver_sql("UPDATE log_head SET last_position = 99 WHERE id = 1")
            raise LeaseLost("stop")
        with db.read() as conn:
            assert db.lock_log(conn) == 0
        with pytest.raises(StoreError), db.read() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    finally:
        db.close()
