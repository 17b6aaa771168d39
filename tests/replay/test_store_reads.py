"""The event log's reads for replay and serving (``read_stream``, ``read_stream_extras``, ``find_event``), on SQLite
and PostgreSQL, and the merge over them."""

from __future__ import annotations

import json

from recorder.events import parse_time, raw_event
from recorder.replay.timeline import Extras, merge_streams, read_timeline
from recorder.store import EventStore
from tests.helpers import message, raws, span_end, stamp


def _fill(store: EventStore) -> None:
    session = [message(i) for i in range(10)] + [span_end(10, "sevt_00000009")]
    primary = [message(i) for i in range(10)]
    primary.insert(4, message(100, "only in the primary thread", processed_at=stamp(3)))
    child = [message(200, "child says hi", processed_at=stamp(5)), message(5), message(201, processed_at=stamp(7))]
    store.append(raws(session, "sesn_a"))
    store.append(raws(primary, "sesn_a", "sthr_primary"))
    store.append(raws(child, "sesn_a", "sthr_child"))
    store.record_snapshot("sesn_a", {"id": "sesn_a", "status": "idle", "agent": {"name": "a", "model": "m"}})
    store.record_snapshot("sesn_a", {"id": "sthr_primary", "parent_thread_id": None, "status": "idle"},
                          thread_id="sthr_primary")
    store.record_snapshot("sesn_a", {"id": "sthr_child", "parent_thread_id": "sthr_primary", "status": "idle"},
                          thread_id="sthr_child")


def test_read_stream_orders_filters_and_resumes(store: EventStore) -> None:
    _fill(store)
    rows = list(store.read_stream("sesn_a", None, batch_size=3))
    assert [r.seq for r in rows] == list(range(1, 12))
    assert [json.loads(r.payload)["id"] for r in rows] == [f"sevt_{i:08d}" for i in range(11)]
    assert rows[0].processed_at == parse_time(stamp(0))
    back = list(store.read_stream("sesn_a", None, descending=True, after_seq=5, batch_size=2))
    assert [r.seq for r in back] == [4, 3, 2, 1]
    ends = list(store.read_stream("sesn_a", None, types=["span.model_request_end"]))
    assert [r.event_id for r in ends] == ["sevt_00000010"]
    window = list(store.read_stream("sesn_a", None, processed_gte=parse_time(stamp(2)),
                                    processed_lt=parse_time(stamp(5))))
    assert [r.event_id for r in window] == ["sevt_00000002", "sevt_00000003", "sevt_00000004"]
    assert [r.event_id for r in store.read_stream("sesn_a", None, processed_gt=parse_time(stamp(8)),
                                                  processed_lte=parse_time(stamp(9)))] == ["sevt_00000009"]
    assert list(store.read_stream("sesn_a", "sthr_nope")) == []


def test_read_stream_extras_gives_what_the_session_stream_lacks_with_its_predecessor(store: EventStore) -> None:
    _fill(store)
    extras = list(store.read_stream_extras("sesn_a", "sthr_primary", batch_size=2))
    assert [(before, row.event_id) for before, row in extras] == [("sevt_00000003", "sevt_00000100")]
    child = list(store.read_stream_extras("sesn_a", "sthr_child"))
    assert [(before, row.event_id) for before, row in child] == [(None, "sevt_00000200"),
                                                               ("sevt_00000005", "sevt_00000201")]


def test_find_event_returns_every_copy(store: EventStore) -> None:
    _fill(store)
    copies = store.find_event("sesn_a", "sevt_00000005")
    assert sorted(tid or "" for tid, _ in copies) == ["", "sthr_child", "sthr_primary"]
    assert store.find_event("sesn_a", "sevt_missing") == []


def test_the_timeline_of_the_log_has_every_event_once_in_place(store: EventStore) -> None:
    _fill(store)
    timeline = list(read_timeline(store, "sesn_a"))
    ids = [e.event_id for e in timeline]
    assert len(ids) == len(set(ids)) == 14
    assert ids.index("sevt_00000003") < ids.index("sevt_00000100") < ids.index("sevt_00000004")
    owners = {e.event_id: e.thread_id for e in timeline}
    assert owners["sevt_00000100"] == "sthr_primary" and owners["sevt_00000005"] == "sthr_child"
    assert owners["sevt_00000200"] == "sthr_child" and owners["sevt_00000001"] == "sthr_primary"


def test_extras_whose_predecessor_is_earlier_or_at_the_same_time() -> None:
    def ev(eid: str, i: int) -> dict:
        return message(i, id=eid)

    session = [raw_event(ev(k, i), "s") for k, i in (("a", 1), ("b", 1), ("c", 2))]
    extras = [("a", raw_event(ev("x", 1), "s", "t0")), ("x", raw_event(ev("y", 1), "s", "t0")),
              ("c", raw_event(ev("z", 2), "s", "t0")), ("b", raw_event(ev("w", 3), "s", "t0"))]
    out = list(merge_streams([(None, session), Extras("t0", extras)], primary_thread_id="t0"))
    assert [e.key for e in out] == ["a", "x", "y", "b", "c", "z", "w"]
    assert {e.thread_id for e in out} == {"t0"}
