"""The event log's contract, written once and run on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from recorder.events import dump_json, raw_event
from recorder.store import Checkpoint, EventStore, FileArchive, SessionProgress
from tests.compliance.support import tamper
from tests.helpers import (
    assert_log_gapless,
    assert_stream_invariants,
    interrupt,
    message,
    raws,
    stamp,
    stream_payloads,
)
from tests.store import workers

# ------------------------------------------------------------------------------------ fidelity

TRICKY_TEXTS = [
    "nul \u0000 inside, and at the end \u0000",
    "astral 😀🧑🏽‍💻 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, CJK 漢字かなカナ, RTL עברית العربية, combining e\u0301 a\u0308",
    "controls \t\n\r\x01\x1f and bidi \u202e override \u200b zero width",
    "lone surrogate \ud800 and \udfff",
    'quotes " \\ backslash / slash',
    "",
]


def test_round_trip_keeps_the_object_exactly(store: EventStore) -> None:
    objs = [message(i, text=t) for i, t in enumerate(TRICKY_TEXTS)]
    objs.append(
        {
            "type": "agent.future_widget",  # a type no SDK knows yet
            "id": "sevt_future",
            "zeta": 1,
            "alpha": {"nested": [1, 2.5, -0.0, 1e300, 12345678901234567890, None, True]},
            "processed_at": stamp(99),
        }
    )
    objs.append(message(100, unknown_field={"kept": ["as", "is"]}))
    store.append(raws(objs))

    stored = list(store.stream_events("sesn_a"))
    assert [json.loads(e.payload) for e in stored] == objs
    for original, event in zip(objs, stored, strict=True):
        assert list(json.loads(event.payload)) == list(original), "key order changed"
        assert event.payload == dump_json(original)
    assert stored[-2].type == "agent.future_widget"


def test_several_megabyte_payload_round_trips(store: EventStore) -> None:
    big_text = ("tool output line ✓ \u0000 " * 120_000) + "end"
    obj = {
        "id": "sevt_big",
        "type": "agent.tool_result",
        "tool_use_id": "sevt_tool",
        "content": [{"type": "text", "text": big_text}],
        "is_error": False,
        "processed_at": stamp(1),
    }
    assert len(dump_json(obj)) > 3_000_000
    store.append(raws([obj]))
    [stored] = stream_payloads(store, "sesn_a")
    assert stored == obj


def test_indexed_columns(store: EventStore) -> None:
    store.append(raws([message(1)], thread="sthr_x"))
    [event] = list(store.stream_events("sesn_a", "sthr_x"))
    assert (event.session_id, event.thread_id, event.event_id, event.type) == (
        "sesn_a",
        "sthr_x",
        "sevt_00000001",
        "agent.message",
    )
    assert event.processed_at is not None and event.processed_at.isoformat().startswith("2026-11-01T12:00:00.001")
    assert event.recorded_at is not None and event.seq == 1 and event.position == 1


# ---------------------------------------------------------------------------------- idempotency


def test_appending_again_adds_nothing(store: EventStore) -> None:
    batch = raws([message(i) for i in range(10)])
    first = store.append(batch)
    again = store.append(batch)
    overlap = store.append(raws([message(i) for i in range(5, 15)]))
    assert (first.added, first.skipped) == (10, 0)
    assert (again.added, again.skipped) == (0, 10)
    assert (overlap.added, overlap.skipped) == (5, 5)
    assert [e["id"] for e in stream_payloads(store, "sesn_a")] == [f"sevt_{i:08d}" for i in range(15)]
    assert_stream_invariants(store, "sesn_a")


def test_a_repeat_inside_one_batch_is_kept_once(store: EventStore) -> None:
    result = store.append(raws([message(1), message(2), message(1)]))
    assert (result.added, result.skipped) == (2, 1)
    assert assert_stream_invariants(store, "sesn_a") == 2


def test_same_id_in_different_streams_is_two_events(store: EventStore) -> None:
    store.append(raws([message(1)]) + raws([message(1)], thread="sthr_1") + raws([message(1)], session="sesn_b"))
    assert assert_log_gapless(store) == 3


def test_empty_ids_get_deterministic_surrogate_keys(store: EventStore) -> None:
    first, second = interrupt(1), interrupt(2)  # both have id "" but differ
    store.append(raws([first, message(3), second]))
    store.append(raws([second, first]))  # delivered again, e.g. from a list page
    stored = list(store.stream_events("sesn_a"))
    assert [json.loads(e.payload) for e in stored] == [first, message(3), second]
    keys = [e.event_key for e in stored if e.type == "user.interrupt"]
    assert len(set(keys)) == 2 and all(k.startswith("~sha256:") for k in keys)
    assert all(e.event_id == "" for e in stored if e.type == "user.interrupt")
    assert raw_event(first, "sesn_a").event_key == keys[0]


# --------------------------------------------------------------------------------- atomicity


class Boom(Exception):
    pass


def test_a_failing_batch_leaves_nothing(store: EventStore) -> None:
    store.append(raws([message(0)]))

    def fail(_conn: object) -> None:
        raise Boom

    batch = raws([message(i) for i in range(1, 1001)]) + raws([message(5)], thread="sthr_new")
    with pytest.raises(Boom):
        store.append(batch, checkpoints=[Checkpoint("sesn_a", None, last_event_id="x")], before_commit=fail)
    assert store.head_position() == 1
    assert store.stream_info("sesn_a").last_seq == 1
    assert store.stream_info("sesn_a", "sthr_new") is None
    assert store.checkpoint("sesn_a") is None
    assert assert_stream_invariants(store, "sesn_a") == 1
    # and the same batch then goes in whole
    assert store.append(batch).added == 1001


def test_a_batch_of_1000_commits_in_one_transaction(store: EventStore, backend_url: str) -> None:
    seen_inside: list[int] = []
    seen_outside: list[int] = []
    observer = EventStore(backend_url)

    def look(conn) -> None:
        seen_inside.append(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
        seen_outside.append(observer.head_position())

    try:
        result = store.append(raws([message(i) for i in range(1000)]), before_commit=look)
        assert result.added == 1000
        assert seen_inside == [1000], "all rows are written inside the one transaction"
        assert seen_outside == [0], "nothing is visible to others before the commit"
        assert observer.head_position() == 1000
    finally:
        observer.close()


def test_bad_input_is_refused_before_anything_is_written(store: EventStore) -> None:
    with pytest.raises(ValueError):
        raw_event(["not", "an", "object"], "sesn_a")  # type: ignore[arg-type]
    assert store.head_position() == 0


# ------------------------------------------------------------------------- sequences and chain


def test_sequences_are_contiguous_per_stream_and_positions_global(store: EventStore) -> None:
    for b in range(5):
        batch = []
        for i in range(b * 10, b * 10 + 10):
            batch += raws([message(i)]) + raws([message(i)], thread="sthr_1") + raws([message(i)], session="sesn_b")
        store.append(batch)
    assert assert_stream_invariants(store, "sesn_a") == 50
    assert assert_stream_invariants(store, "sesn_a", "sthr_1") == 50
    assert assert_stream_invariants(store, "sesn_b") == 50
    assert assert_log_gapless(store) == 150
    assert {(s.session_id, s.thread_id) for s in store.streams()} == {
        ("sesn_a", None),
        ("sesn_a", "sthr_1"),
        ("sesn_b", None),
    }


def test_chain_detects_a_changed_payload(store: EventStore, backend_url: str) -> None:
    store.append(raws([message(i) for i in range(5)]))
    assert_stream_invariants(store, "sesn_a")
    edit = "UPDATE events SET payload = replace(payload, 'number 2', 'number 9') WHERE seq = 3"
    # The database refuses the edit (append-only triggers, migration 0002)...
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(edit))
    assert_stream_invariants(store, "sesn_a")
    # ...and when an attacker owning the database bypasses them, the chain shows the edit.
    tamper(store, edit)
    with pytest.raises(AssertionError):
        assert_stream_invariants(store, "sesn_a")


def test_checkpoints_are_written_with_their_events(store: EventStore) -> None:
    cp = Checkpoint("sesn_a", None, last_event_id="sevt_00000004", complete=True)
    store.append(raws([message(i) for i in range(5)]), checkpoints=[cp])
    got = store.checkpoint("sesn_a")
    assert got is not None and got.last_event_id == "sevt_00000004" and got.complete
    store.save_checkpoint(Checkpoint("sesn_a", None, last_event_id="sevt_x"))
    assert store.checkpoint("sesn_a").last_event_id == "sevt_x"
    assert store.checkpoint("sesn_a", "sthr_none") is None


def test_a_sessions_progress_is_every_streams_checkpoint_and_its_archived_files(store: EventStore) -> None:
    """What a recorder resuming a session reads in one transaction: its streams' checkpoints by thread id (a stream
    without one, and other sessions, left out) and the ids of its archived files."""
    store.append(raws([message(1)]), checkpoints=[Checkpoint("sesn_a", None, last_event_id="sevt_00000001",
                                                             cursor="page_2")])
    store.append(raws([message(2)], thread="sthr_1"),
                 checkpoints=[Checkpoint("sesn_a", "sthr_1", last_event_id="sevt_00000002", complete=True)])
    store.append(raws([message(3)], thread="sthr_2"))  # a stream with no checkpoint
    store.append(raws([message(4)], session="sesn_b"), checkpoints=[Checkpoint("sesn_b", None, cursor="other")])
    FileArchive(store).archive("sesn_a", {"id": "file_1", "filename": "a.txt"}, b"hello")
    FileArchive(store).archive("sesn_b", {"id": "file_2", "filename": "b.txt"}, b"bye")
    progress = store.progress("sesn_a")
    assert progress.checkpoints == {
        None: Checkpoint("sesn_a", None, None, "sevt_00000001", "page_2", False),
        "sthr_1": Checkpoint("sesn_a", "sthr_1", None, "sevt_00000002", None, True),
    }
    assert progress.file_ids == {"file_1"}
    assert store.progress("sesn_new") == SessionProgress({}, frozenset())


def test_snapshots_are_kept_only_when_they_change(store: EventStore) -> None:
    snap = {
        "id": "sesn_a",
        "type": "session",
        "status": "running",
        "title": "Review",
        "agent": {"id": "agent_1", "name": "Reviewer", "model": {"id": "claude-opus-4-7"}},
        "created_at": stamp(0),
        "updated_at": stamp(1),
    }
    assert store.record_snapshot("sesn_a", snap)
    assert not store.record_snapshot("sesn_a", dict(snap))
    assert store.record_snapshot("sesn_a", {**snap, "status": "terminated"})
    assert store.record_snapshot("sesn_a", {"id": "sthr_1", "status": "idle", "parent_thread_id": None},
                                 thread_id="sthr_1")
    [summary] = store.sessions()
    assert (summary.status, summary.title, summary.agent_name, summary.model, summary.threads) == (
        "terminated",
        "Review",
        "Reviewer",
        "claude-opus-4-7",
        1,
    )
    assert store.latest_snapshot("sesn_a")["status"] == "terminated"
    assert store.latest_snapshot("sesn_a", "sthr_1")["status"] == "idle"


def test_recording_runs_are_audited(store: EventStore) -> None:
    run = store.start_run(mode="poll", command="record sesn_a", user="ci", host="box", pid=42, version="0.1")
    store.append(raws([message(1)]), run_id=run)
    store.finish_run(run, outcome="ok", sessions_count=1, events_added=1)
    [row] = store.runs()
    assert (row.mode, row.outcome, row.events_added, row.user_name, row.host) == (
        "poll",
        "ok",
        1,
        "ci",
        "box",
    )
    assert row.finished_at is not None and row.finished_at >= row.started_at
    assert next(store.stream_events("sesn_a")).run_id == run


# ------------------------------------------------------------------------------- concurrency


def _check_concurrent_result(store: EventStore, writers: int, batches: int, per_batch: int,
                             results: list[list[tuple[int | None, int | None, int]]]) -> None:
    expected_per_stream = writers * batches * per_batch + batches * per_batch  # private + shared once
    for session, thread in workers.STREAMS:
        assert assert_stream_invariants(store, session, thread) == expected_per_stream
        ids = [e["id"] for e in stream_payloads(store, session, thread)]
        assert len(ids) == len(set(ids))
    total = assert_log_gapless(store)
    assert total == expected_per_stream * len(workers.STREAMS)
    # Each batch occupied one contiguous range of positions, and ranges never overlap.
    ranges = sorted((first, last) for rs in results for first, last, added in rs if added)
    assert sum(last - first + 1 for first, last in ranges) == total
    for (_, last), (first, _) in itertools.pairwise(ranges):
        assert first == last + 1
    # Within each batch's range, each stream's sequence numbers are contiguous and increasing.
    events = []
    after = 0
    while chunk := store.read_log(after, 5000):
        events.extend(chunk)
        after = chunk[-1].position
    for first, last in ranges:
        per_stream: dict[int, list[int]] = {}
        for event in events[first - 1 : last]:
            per_stream.setdefault(event.stream_id, []).append(event.seq)
        for seqs in per_stream.values():
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_concurrent_writer_threads(store: EventStore, backend_url: str) -> None:
    writers, batches, per_batch = 6, 8, 5
    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(lambda w: workers.write(backend_url, w, batches, per_batch), range(writers)))
    _check_concurrent_result(store, writers, batches, per_batch, results)


def test_concurrent_writer_processes(store: EventStore, backend_url: str) -> None:
    writers, batches, per_batch = 4, 6, 5
    context = multiprocessing.get_context("spawn")
    with context.Pool(writers) as pool:
        results = pool.starmap(workers.write, [(backend_url, w, batches, per_batch) for w in range(writers)])
    _check_concurrent_result(store, writers, batches, per_batch, results)


# ---------------------------------------------------------------------------- late commits


def test_a_tailer_never_skips_an_event_that_commits_late(store: EventStore, backend_url: str) -> None:
    """Hold one append transaction open while another writer tries to commit; a tailer reading by position
    must see the first writer's events before (never after) it has moved past the second's."""
    holding = threading.Event()
    release = threading.Event()
    second_done = threading.Event()
    seen: list[int] = []
    tail_errors: list[str] = []
    stop = threading.Event()

    def hold(_conn: object) -> None:
        holding.set()
        assert release.wait(20)

    def first_writer() -> None:
        with EventStore(backend_url) as s:
            s.append(raws([message(i) for i in range(0, 50)], session="sesn_slow"), before_commit=hold)

    def second_writer() -> None:
        with EventStore(backend_url) as s:
            s.append(raws([message(i) for i in range(50, 60)], session="sesn_fast"))
        second_done.set()

    def tailer() -> None:
        checkpoint = 0
        with EventStore(backend_url) as s:
            while not stop.is_set() or checkpoint < 60:
                batch = s.read_log(checkpoint, 7)
                if batch and batch[0].position != checkpoint + 1:
                    tail_errors.append(f"skipped from {checkpoint} to {batch[0].position}")
                for event in batch:
                    seen.append(event.position)
                    checkpoint = event.position
                if not batch:
                    stop.wait(0.01)

    threads = [threading.Thread(target=first_writer), threading.Thread(target=tailer)]
    threads[0].start()
    threads[1].start()
    assert holding.wait(10)
    late = threading.Thread(target=second_writer)
    late.start()
    # While the first transaction is open, the second cannot commit, and the tailer sees nothing.
    assert not second_done.wait(1.0), "a second append committed while an earlier one was still open"
    assert seen == []
    release.set()
    late.join(20)
    threads[0].join(20)
    stop.set()
    threads[1].join(20)
    assert tail_errors == []
    assert seen == list(range(1, 61))
    slow = [e.position for e in store.stream_events("sesn_slow")]
    fast = [e.position for e in store.stream_events("sesn_fast")]
    assert max(slow) < min(fast)
