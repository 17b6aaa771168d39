"""Anchors (RFC 6962 Merkle root over stream heads) catch what the chains alone cannot: a truncated tail, an older
copy of the database restored, a consistently rewritten history."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.compliance import anchor as anchors
from recorder.compliance import merkle
from recorder.compliance.retention import hold, prune, release
from recorder.compliance.verify import verify
from recorder.errors import ConfigError, IntegrityViolation
from recorder.store import EventStore, chain, utcnow
from tests.compliance.support import build_log, row, sqlite_copy, tamper
from tests.helpers import message, raws

# The Merkle tree hashes of the first n of these leaves, from Certificate Transparency's reference test data.
CT_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
             bytes(range(0x60, 0x70))]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("n", range(1, 9))
def test_merkle_root_matches_rfc6962_reference_vectors(n: int) -> None:
    assert merkle.root(CT_LEAVES[:n]) == CT_ROOTS[n - 1]


def test_merkle_root_of_streams_is_order_independent_and_sensitive() -> None:
    streams = [("sesn_b", None, 3, "aa" * 32), ("sesn_a", "sthr_1", 2, "bb" * 32), ("sesn_a", None, 5, "cc" * 32)]
    assert merkle.streams_root(streams) == merkle.streams_root(list(reversed(streams)))
    assert merkle.streams_root([]) == merkle.EMPTY_ROOT
    changed = [(*streams[0][:2], 4, streams[0][3]), *streams[1:]]
    assert merkle.streams_root(changed) != merkle.streams_root(streams)
    # the session/thread boundary is length-prefixed: ("ab", "c") and ("a", "bc") are different leaves
    assert merkle.stream_leaf("ab", "c", 1, "00" * 32) != merkle.stream_leaf("a", "bc", 1, "00" * 32)


def _anchor(store: EventStore, tmp_path: Path) -> Path:
    path = tmp_path / "anchor.json"
    anchors.save(anchors.anchor_from_report(verify(store)), path)
    return path


def _verify_with(store: EventStore, path: Path) -> list[str]:
    report = verify(store, anchor=anchors.load(path))
    return [p.line() for p in report.problems]


def test_an_anchor_round_trips_and_a_growing_log_extends_it(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    path = _anchor(store, tmp_path)
    data = json.loads(path.read_text())
    assert data["format"] == "recorder-anchor-v1" and data["log_head"] == 15 and len(data["streams"]) == 3
    assert data["merkle_root"] == merkle.streams_root(
        (s["session_id"], s["thread_id"], s["count"], s["head_hash"]) for s in data["streams"])
    store.append(raws([message(50)]) + raws([message(51)], session="sesn_new") + raws([message(52)], thread="sthr_2"))
    hold(store, "sesn_a", reason="case 1", actor="t")
    report = verify(store, anchor=anchors.load(path))
    assert report.ok, report.summary()
    assert report.anchor is not None and report.anchor["streams_checked"] == 3
    assert "extends the anchor" in report.summary()


def test_a_truncated_tail_is_caught_by_the_anchor(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    path = _anchor(store, tmp_path)
    info = store.stream_info("sesn_a")
    assert info is not None
    tamper(store, "DELETE FROM events WHERE position IN (14, 15)",
           "UPDATE streams SET last_seq = 6, head_hash = :h WHERE stream_id = :sid",
           "UPDATE log_head SET last_position = 13", h=row(store, "sesn_a", None, 6)["chain_hash"], sid=info.stream_id)
    assert verify(store).ok  # consistent: only the anchor can tell
    problems = _verify_with(store, path)
    assert problems[0].startswith("session sesn_a, session stream, seq 7: holds 6 events, the anchor")
    assert any("log head is at position 13" in p for p in problems)


def test_an_older_copy_restored_is_caught_by_the_anchor(store: EventStore, tmp_path: Path) -> None:
    """Undo everything after a point, as restoring an older backup would (events, a new stream, the heads)."""
    build_log(store)
    heads = {(s.session_id, s.thread_id): (s.last_seq, s.head_hash) for s in store.streams()}
    store.append(raws([message(60), message(61)]) + raws([message(62)], session="sesn_c"))
    store.append(raws([message(63)], session="sesn_b"))
    path = _anchor(store, tmp_path)
    statements = ["DELETE FROM events WHERE position > 15", "DELETE FROM streams WHERE session_id = 'sesn_c'",
                  "DELETE FROM sessions WHERE session_id = 'sesn_c'", "UPDATE log_head SET last_position = 15"]
    for (session, thread), (last_seq, head) in heads.items():
        statements.append(f"UPDATE streams SET last_seq = {last_seq}, head_hash = '{head}' "
                          f"WHERE stream_key = '{session}/{thread or ''}'")
    tamper(store, *statements)
    assert verify(store).ok
    problems = _verify_with(store, path)
    assert any(p.startswith("session sesn_a, session stream, seq 9: holds 8 events") for p in problems)
    assert any(p.startswith("session sesn_c, session stream: in the anchor") and "missing from the database" in p
               for p in problems)
    assert any("log head is at position 15, the anchor of" in p for p in problems)


def test_an_older_sqlite_file_restored_is_caught(sqlite_url: str, tmp_path: Path) -> None:
    with EventStore(sqlite_url) as store:
        build_log(store)
        older = sqlite_copy(sqlite_url, str(tmp_path / "backup.db"))
        store.append(raws([message(70)], session="sesn_b"))
        path = _anchor(store, tmp_path)
    with EventStore(older) as restored:
        assert verify(restored).ok
        problems = _verify_with(restored, path)
    assert problems and problems[0].startswith("session sesn_b, session stream, seq 5: holds 4 events")


def test_a_consistently_rewritten_history_is_caught_by_the_anchor(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    path = _anchor(store, tmp_path)
    info = store.stream_info("sesn_b")
    assert info is not None
    head = chain.genesis("sesn_b", None)
    statements, params = [], {}
    for seq in range(1, 5):
        old = row(store, "sesn_b", None, seq)
        payload = old["payload"].replace("message number", "rewritten number")
        digest = chain.payload_hash(payload)
        head = chain.chain_hash(head, seq, digest)
        statements.append(f"UPDATE events SET payload = :p{seq}, payload_hash = :d{seq}, chain_hash = :c{seq} "
                          f"WHERE position = {old['position']}")
        params.update({f"p{seq}": payload, f"d{seq}": digest, f"c{seq}": head})
    statements.append(f"UPDATE streams SET head_hash = '{head}' WHERE stream_id = {info.stream_id}")
    tamper(store, *statements, **params)
    assert verify(store).ok
    problems = _verify_with(store, path)
    assert problems == [f"session sesn_b, session stream, seq 4: the event at seq 4 is not the one anchored on "
                        f"{anchors.load(path).created_at}: history rewritten since"]


def test_a_lost_audit_entry_is_caught_by_the_anchor(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    hold(store, "sesn_a", reason="case 2", actor="t")
    release(store, "sesn_a", reason="closed", actor="t")
    path = _anchor(store, tmp_path)
    tamper(store, "DELETE FROM compliance_audit WHERE audit_id = (SELECT max(audit_id) FROM compliance_audit)")
    # The tail of a hash chain can go unnoticed by the chain alone; this one is a release, so the hold check
    # sees a hold the audit says is in force and that has no row...
    assert [p.kind for p in verify(store).problems] == ["hold"]
    problems = _verify_with(store, path)
    assert any("the audit trail has 1 entries, the anchor" in p for p in problems)  # ...and the anchor sees it


def test_a_damaged_anchor_file_is_refused(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    path = _anchor(store, tmp_path)
    data = json.loads(path.read_text())
    data["streams"][0]["count"] -= 1
    path.write_text(json.dumps(data))
    with pytest.raises(IntegrityViolation, match="is damaged: its streams give Merkle root"):
        anchors.load(path)
    path.write_text("{not json")
    with pytest.raises(IntegrityViolation, match="not JSON"):
        anchors.load(path)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ConfigError, match="not a recorder anchor"):
        anchors.load(path)


def test_a_broken_log_is_not_anchored(store: EventStore) -> None:
    build_log(store)
    tamper(store, "UPDATE events SET payload_hash = :h WHERE position = 2", h="00" * 32)
    with pytest.raises(IntegrityViolation, match="position 2"):
        anchors.anchor_from_report(verify(store))
    with pytest.raises(ConfigError, match="whole log"):
        anchors.anchor_from_report(verify(store, ["sesn_b"]))



def test_a_stream_pruned_after_the_anchor_is_accepted(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    path = _anchor(store, tmp_path)
    hold(store, "sesn_a", reason="keep", actor="t")
    assert [p.session_id for p in prune(store, "1d", actor="t", now=utcnow() + timedelta(days=2)).pruned] == ["sesn_b"]
    report = verify(store, anchor=anchors.load(path))
    assert report.ok, report.summary()
    tamper(store, "DELETE FROM events WHERE session_id = 'sesn_a' AND thread_id = 'sthr_1'",
           "DELETE FROM checkpoints", "DELETE FROM streams WHERE thread_id = 'sthr_1'")
    problems = _verify_with(store, path)
    assert any(p.startswith("session sesn_a, thread sthr_1: in the anchor") and "removed by no audited prune" in p
               for p in problems)
