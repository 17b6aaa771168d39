"""`verify` on SQLite and PostgreSQL: an intact log verifies; every kind of tampering — whichever column or table
is touched — is reported at its first bad place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from recorder.compliance import anchor as anchors
from recorder.compliance.report import VerifyReport
from recorder.compliance.retention import prune
from recorder.compliance.verify import verify
from recorder.errors import IntegrityViolation, NotFound
from recorder.events import raw_event
from recorder.store import EventStore, chain, metadata, utcnow
from tests.compliance.support import build_log, forged_event, row, tamper, tampering
from tests.helpers import message, raws, stamp


def test_an_intact_log_verifies(store: EventStore) -> None:
    build_log(store)
    report = verify(store)
    assert report.ok, report.summary()
    assert (report.events, report.streams, report.sessions, report.files, report.snapshots) == (15, 3, 2, 1, 1)
    assert report.log_head == 15
    assert report.summary().startswith("ok: verified 15 events in 3 streams of 2 sessions")
    heads = {(h.session_id, h.thread_id): (h.count, h.head_hash) for h in report.heads}
    assert heads[("sesn_a", None)] == (8, store.stream_info("sesn_a").head_hash)
    report.raise_if_broken()


def test_verifying_some_sessions(store: EventStore) -> None:
    build_log(store)
    report = verify(store, ["sesn_b"])
    assert report.ok and (report.events, report.streams, report.files) == (4, 1, 0)
    with pytest.raises(NotFound, match="sesn_nope is not in the log"):
        verify(store, ["sesn_nope"])


def test_unusual_payloads_verify(store: EventStore) -> None:
    """Payloads the SQL prefilter cannot decide (other timestamp forms, odd ids) are decided exactly."""
    objs: list[dict[str, Any]] = [
        {"id": "sevt_offset", "type": "agent.message", "processed_at": "2026-11-01T14:00:00.5+02:00"},
        {"id": "sevt_seconds", "type": "agent.message", "processed_at": "2026-11-01T12:00:00Z"},
        {"id": "sevt_null_time", "type": "user.message", "processed_at": None},
        {"id": "sevt_no_time", "type": "user.message"},
        {"id": "sevt_bad_time", "type": "user.message", "processed_at": "yesterday"},
        {"id": 12345, "type": "agent.message", "processed_at": stamp(1)},
        {"id": "sevt_no_type", "processed_at": stamp(2)},
        {"id": "sevt_number_type", "type": 7, "processed_at": stamp(3)},
        {"id": "sevt_ünïcødé_\u0000", "type": "agent.\u00e9vent", "processed_at": stamp(4)},
        {"id": "", "type": "user.interrupt", "processed_at": stamp(5)},
        {"id": "sevt_surrogate", "type": "agent.message", "text": "lone \ud800", "processed_at": stamp(6)},
    ]
    store.append([raw_event(obj, "sesn_odd") for obj in objs])
    report = verify(store)
    assert report.ok, report.summary()
    assert report.events == len(objs)


# --------------------------------------------------------------------------------------- mutations


def _stream_id(store: EventStore, session: str, thread: str | None = None) -> int:
    info = store.stream_info(session, thread)
    assert info is not None
    return info.stream_id


def _insert(store: EventStore, values: dict[str, Any]) -> None:
    with tampering(store) as conn:
        conn.execute(insert(metadata.tables["events"]).values(**values))


def edit_one_byte(store: EventStore) -> None:
    tamper(store, "UPDATE events SET payload = replace(payload, 'number 3', 'number 8') WHERE position = 4")


def edit_payload_and_its_hash(store: EventStore) -> None:
    edited = row(store, "sesn_a", None, 3)["payload"].replace("number 3", "number 8")
    tamper(store, "UPDATE events SET payload = :p, payload_hash = :h WHERE position = 4",
           p=edited, h=chain.payload_hash(edited))


def edit_chain_hash(store: EventStore) -> None:
    tamper(store, "UPDATE events SET chain_hash = :h WHERE position = 4", h="ab" * 32)


def delete_one_event(store: EventStore) -> None:
    tamper(store, "DELETE FROM events WHERE position = 4")


def swap_two_payloads(store: EventStore) -> None:
    """Two events of a stream exchange their contents (every column but position, seq and chain_hash)."""
    a, b = row(store, "sesn_a", None, 3), row(store, "sesn_a", None, 5)
    tamper(store, "UPDATE events SET event_key = 'swapping' WHERE position = :pos", pos=b["position"])
    for target, source in ((a, b), (b, a)):
        tamper(store, "UPDATE events SET payload = :p, payload_hash = :h, event_id = :i, event_key = :k, "
               "processed_at = :at WHERE position = :pos", p=source["payload"], h=source["payload_hash"],
               i=source["event_id"], k=source["event_key"], at=source["processed_at"], pos=target["position"])


def swap_two_positions(store: EventStore) -> None:
    tamper(store, "UPDATE events SET position = -13 WHERE position = 13",
           "UPDATE events SET position = 13 WHERE position = 14",
           "UPDATE events SET position = 14 WHERE position = -13")


def forge_at_the_tail(store: EventStore) -> None:
    head = store.stream_info("sesn_a").head_hash
    _insert(store, forged_event("sesn_a", None, 9, head, 16, _stream_id(store, "sesn_a")))


def forge_in_the_middle(store: EventStore) -> None:
    """Make room at sthr_1 seq 2 and insert a forged event there (its hashes computed from seq 1)."""
    sid = _stream_id(store, "sesn_a", "sthr_1")
    first = row(store, "sesn_a", "sthr_1", 1)
    tamper(store, "UPDATE events SET seq = seq + 100 WHERE stream_id = :sid AND seq >= 2",
           "UPDATE events SET seq = seq - 99 WHERE stream_id = :sid AND seq >= 100", sid=sid)
    _insert(store, forged_event("sesn_a", "sthr_1", 2, first["chain_hash"], 16, sid))


def forge_in_a_stream_that_does_not_exist(store: EventStore) -> None:
    _insert(store, forged_event("sesn_x", None, 1, chain.genesis("sesn_x", None), 16, 999))


def edit_stream_head(store: EventStore) -> None:
    tamper(store, "UPDATE streams SET head_hash = :h WHERE stream_key = 'sesn_b/'", h="cd" * 32)


def edit_stream_last_seq(store: EventStore) -> None:
    tamper(store, "UPDATE streams SET last_seq = 3 WHERE stream_key = 'sesn_b/'")


def move_log_head_back(store: EventStore) -> None:
    tamper(store, "UPDATE log_head SET last_position = 14")


def move_log_head_forward(store: EventStore) -> None:
    tamper(store, "UPDATE log_head SET last_position = 20")


def edit_type_column(store: EventStore) -> None:
    tamper(store, "UPDATE events SET type = 'agent.message' WHERE position = 5")


def edit_event_id_column(store: EventStore) -> None:
    tamper(store, "UPDATE events SET event_id = 'sevt_other' WHERE position = 6")


def edit_event_key_column(store: EventStore) -> None:
    tamper(store, "UPDATE events SET event_key = 'sevt_other' WHERE position = 6")


def edit_processed_at_column(store: EventStore) -> None:
    tamper(store, "UPDATE events SET processed_at = recorded_at WHERE position = 6")


def move_event_to_another_session(store: EventStore) -> None:
    tamper(store, "UPDATE events SET session_id = 'sesn_b' WHERE position = 4")


def delete_a_whole_session_by_hand(store: EventStore) -> None:
    tamper(store, "DELETE FROM events WHERE session_id = 'sesn_b'", "DELETE FROM streams WHERE session_id = 'sesn_b'")


def edit_archived_file(store: EventStore) -> None:
    tamper(store, "UPDATE file_blobs SET content = :c", c=b"# Report\n\nall red!\n")


def edit_archived_file_size(store: EventStore) -> None:
    tamper(store, "UPDATE session_files SET size_bytes = 3")


def edit_snapshot(store: EventStore) -> None:
    tamper(store, "UPDATE session_snapshots SET payload = replace(payload, 'idle', 'done')")


def leave_a_retention_guard(store: EventStore) -> None:
    with tampering(store) as conn:
        conn.execute(text("INSERT INTO compliance_audit (at, action, actor, reason, details, tool_version, prev_hash, "
                          "entry_hash) VALUES ('2026-11-01 00:00:00', 'prune', 'x', 'x', '{}', 'x', :z, :z)"),
                     {"z": "0" * 64})
        conn.execute(text("INSERT INTO retention_guard (session_id, audit_id) VALUES ('sesn_a', 1)"))


# (mutation, kind of the first problem, session, thread, seq, words in its message)
MUTATIONS: list[tuple[Callable[[EventStore], None], str, str | None, str | None, int | None, str]] = [
    (edit_one_byte, "event", "sesn_a", None, 3, "payload does not match its payload_hash"),
    (edit_payload_and_its_hash, "event", "sesn_a", None, 3, "chain_hash does not follow"),
    (edit_chain_hash, "event", "sesn_a", None, 3, "chain_hash does not follow"),
    (delete_one_event, "event", "sesn_a", None, 4, "seq 3 missing"),
    (swap_two_payloads, "event", "sesn_a", None, 3, "chain_hash does not follow"),
    (swap_two_positions, "event", "sesn_a", None, 7, "seq 6 missing"),
    (forge_at_the_tail, "log", "sesn_a", None, 9, "beyond log_head"),
    (forge_in_the_middle, "event", "sesn_a", "sthr_1", 3, "seq 2 missing"),
    (forge_in_a_stream_that_does_not_exist, "event", None, None, 1, "stream_id 999, which does not exist"),
    (edit_stream_head, "stream", "sesn_b", None, 4, "head_hash"),
    (edit_stream_last_seq, "stream", "sesn_b", None, None, "last_seq is 3"),
    (move_log_head_back, "log", "sesn_a", None, 8, "beyond log_head"),
    (move_log_head_forward, "log", None, None, None, "log_head.last_position is 20"),
    (edit_type_column, "column", "sesn_a", None, 4, "type column"),
    (edit_event_id_column, "column", "sesn_a", "sthr_1", 1, "event_id column"),
    (edit_event_key_column, "column", "sesn_a", "sthr_1", 1, "event_key column"),
    (edit_processed_at_column, "column", "sesn_a", "sthr_1", 1, "processed_at column"),
    (move_event_to_another_session, "column", "sesn_a", None, 3, "session/thread columns say sesn_b"),
    (delete_a_whole_session_by_hand, "position", None, None, None, "position 3"),
    (edit_archived_file, "file", "sesn_a", None, None, "does not match its sha256"),
    (edit_archived_file_size, "file", "sesn_a", None, None, "size_bytes is 3"),
    (edit_snapshot, "snapshot", "sesn_a", None, None, "payload_hash"),
    (leave_a_retention_guard, "audit", None, None, None, "audit entry 1"),
]


@pytest.mark.parametrize(("mutate", "kind", "session", "thread", "seq", "words"), MUTATIONS,
                         ids=[m[0].__name__ for m in MUTATIONS])
def test_tampering_is_detected_at_its_first_bad_place(store: EventStore, mutate: Callable[[EventStore], None],
                                                      kind: str, session: str | None, thread: str | None,
                                                      seq: int | None, words: str) -> None:
    build_log(store)
    assert verify(store).ok
    mutate(store)
    report = verify(store)
    assert not report.ok
    first = report.first
    assert first is not None
    assert (first.kind, first.session_id, first.thread_id, first.seq) == (kind, session, thread, seq), first.line()
    assert words in first.line()
    with pytest.raises(IntegrityViolation, match="log is NOT intact"):
        report.raise_if_broken()


def test_a_leftover_retention_guard_is_reported(store: EventStore) -> None:
    build_log(store)
    leave_a_retention_guard(store)
    report = verify(store)
    assert any(p.kind == "guard" and "retention_guard still lists session sesn_a" in p.what for p in report.problems)


def test_a_consistent_rewrite_needs_an_anchor(store: EventStore) -> None:
    """Truncating a stream's tail and moving every head back consistently leaves a log that verifies: the chain
    proves consistency, not completeness (see test_anchor for the anchor that catches it)."""
    build_log(store)
    info = store.stream_info("sesn_a")
    sixth = row(store, "sesn_a", None, 6)
    assert info is not None and info.last_seq == 8
    tamper(store, "DELETE FROM events WHERE position IN (14, 15)",
           "UPDATE streams SET last_seq = 6, head_hash = :h WHERE stream_id = :sid",
           "UPDATE log_head SET last_position = 13", h=sixth["chain_hash"], sid=info.stream_id)
    assert verify(store).ok


def test_many_problems_are_capped_and_ordered(store: EventStore) -> None:
    store.append([event for s in range(120) for event in raws([message(1)], session=f"sesn_{s:03d}")])
    tamper(store, "UPDATE events SET payload_hash = :h", h="00" * 32)
    report = verify(store)
    assert report.problems_found == 120
    assert len(report.problems) == 100
    assert [p.position for p in report.problems] == list(range(1, 101))
    assert "and 119 more problems" in report.summary()


# ------------------------------------------------------------------------------------ in parallel


def _same(a: VerifyReport, b: VerifyReport) -> None:
    assert (a.ok, a.events, a.heads, a.problems_found) == (b.ok, b.events, b.heads, b.problems_found)
    assert [p.line() for p in a.problems] == [p.line() for p in b.problems]


def test_workers_give_the_same_report(store: EventStore, tmp_path: Path) -> None:
    """The parallel pass (ranges of positions in worker processes, chained together by the merge) agrees with the
    sequential one, audited gaps and anchor included."""
    build_log(store)
    for s in range(3):  # more streams, spanning the workers' ranges
        store.append(raws([message(100 + s)], session="sesn_b") + raws([message(s)], session=f"sesn_{s}"))
    prune(store, "1d", actor="t", now=utcnow() + timedelta(days=2))
    store.append(raws([message(300), message(301)], session="sesn_late"))
    anchor_path = tmp_path / "anchor.json"
    anchors.save(anchors.anchor_from_report(verify(store, workers=1)), anchor_path)
    store.append(raws([message(302)], session="sesn_late") + raws([message(303)], session="sesn_later"))
    sequential = verify(store, workers=1, anchor=anchors.load(anchor_path))
    parallel = verify(store, workers=2, anchor=anchors.load(anchor_path))
    assert parallel.ok and parallel.events == 4 and parallel.pruned_positions == 21
    _same(parallel, sequential)


def test_workers_hand_a_broken_log_to_the_sequential_pass(sqlite_url: str) -> None:
    with EventStore(sqlite_url) as store:
        build_log(store)
        for mutate in (edit_type_column, swap_two_positions, edit_stream_head):
            mutate(store)
        parallel, sequential = verify(store, workers=2), verify(store, workers=1)
    assert parallel.problems_found == 3
    _same(parallel, sequential)
