"""The merged timeline: every event of every stream exactly once, each stream's order kept, owned by its thread."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from recorder.errors import ConfigError, NotFound
from recorder.events import parse_time, raw_event
from recorder.replay.meta import load_meta
from recorder.replay.timeline import ALL, SESSION, Until, cut, merge_streams, read_timeline
from tests.replay.conftest import Recorded
from tests.replay.support import session_events


def _key(obj: dict) -> str:
    return raw_event(obj, "s").event_key


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(x == y for y in it) for x in needle)


def test_every_event_once_and_every_stream_in_order(recorded: Recorded, scenario: str) -> None:
    sid = recorded.sid(scenario)
    streams = session_events(recorded.emu, sid)
    timeline = list(read_timeline(recorded.store, sid))
    keys = [e.key for e in timeline]
    assert len(keys) == len(set(keys)), "an event appears twice"
    expected = {_key(obj) for events in streams.values() for obj in events}
    assert set(keys) == expected
    for thread_id, events in streams.items():
        assert _is_subsequence([_key(obj) for obj in events], keys), f"stream {thread_id} out of order"
    assert [e.index for e in timeline] == list(range(len(timeline)))
    times = [e.processed_at for e in timeline]
    assert times == sorted(times)
    for event in timeline:
        assert json.loads(event.payload) == event.data


def test_events_belong_to_the_thread_that_owns_them(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    emu = recorded.emu
    primary = emu.primary_thread_id(sid)
    children = [t for t in emu.thread_ids(sid) if t != primary]
    assert len(children) == 3
    owner = {}
    for child in children:
        for obj in emu.ground_truth(sid, child):
            owner[obj["id"]] = child
    for obj in emu.ground_truth(sid, primary):
        owner.setdefault(obj["id"], primary)
    timeline = list(read_timeline(recorded.store, sid))
    assert {e.event_id: e.thread_id for e in timeline} == owner
    cross_posted = [e for e in timeline if e.thread_id in children and None in e.streams]
    assert {e.type for e in cross_posted} >= {"session.thread_created", "agent.thread_message_sent",
                                              "agent.thread_message_received"}
    assert all(set(e.streams) == {None, e.thread_id} for e in cross_posted)


def test_interrupts_with_empty_ids_are_both_kept_once(recorded: Recorded) -> None:
    timeline = list(read_timeline(recorded.store, recorded.sid("interrupts")))
    interrupts = [e for e in timeline if e.type == "user.interrupt"]
    assert len(interrupts) == 2
    assert all(e.event_id == "" for e in interrupts)
    assert interrupts[0].key != interrupts[1].key


def test_views_session_stream_and_one_thread(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    streams = session_events(recorded.emu, sid)
    session = list(read_timeline(recorded.store, sid, thread=SESSION))
    assert [e.data for e in session] == streams[None]
    assert [e.index for e in session] == list(range(len(session)))
    for thread_id in recorded.emu.thread_ids(sid):
        view = list(read_timeline(recorded.store, sid, thread=thread_id))
        assert [e.data for e in view] == streams[thread_id]
        assert {e.thread_id for e in view} == {thread_id}
    with pytest.raises(NotFound):
        list(read_timeline(recorded.store, sid, thread="sthr_nope"))


# ------------------------------------------------------------------------------------------------ prefixes


def test_until_an_event_id_is_exactly_the_prefix_through_it(recorded: Recorded) -> None:
    sid = recorded.sid("tool_use")
    full = list(read_timeline(recorded.store, sid))
    for n in (0, len(full) // 3, len(full) - 1):
        prefix = list(read_timeline(recorded.store, sid, until=Until(event_id=full[n].event_id)))
        assert [e.key for e in prefix] == [e.key for e in full[: n + 1]]


def test_until_a_time_keeps_every_event_up_to_it(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    full = list(read_timeline(recorded.store, sid))
    at = full[len(full) // 2].processed_at
    prefix = list(read_timeline(recorded.store, sid, until=Until.parse(at.isoformat() + "Z")))
    assert [e.key for e in prefix] == [e.key for e in full if e.processed_at <= at]
    assert 0 < len(prefix) < len(full)


def test_until_an_unknown_event_fails_before_anything_is_read(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    with pytest.raises(NotFound, match="sevt_missing"):
        read_timeline(recorded.store, sid, until=Until(event_id="sevt_missing"))
    child_only = next(e for e in read_timeline(recorded.store, sid) if None not in e.streams)
    with pytest.raises(NotFound, match="session stream"):
        read_timeline(recorded.store, sid, thread=SESSION, until=Until(event_id=child_only.event_id))


@pytest.mark.parametrize(("text", "expected"), [
    ("sevt_01abc", Until(event_id="sevt_01abc")),
    ("2026-03-02T09:15:00Z", Until(time=datetime(2026, 3, 2, 9, 15))),
    ("2026-03-02T10:15:00+01:00", Until(time=datetime(2026, 3, 2, 9, 15))),
])
def test_until_parses_ids_and_times(text: str, expected: Until) -> None:
    assert Until.parse(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "2026-13-45T99:00:00Z"])
def test_until_rejects_what_is_neither(text: str) -> None:
    with pytest.raises(ConfigError):
        Until.parse(text)


# ------------------------------------------------------------------------------------------------ the merge itself


def _at(seconds: float) -> str:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _ev(eid: str, seconds: float, kind: str = "agent.message") -> dict:
    return {"type": kind, "id": eid, "processed_at": _at(seconds)}


def _raws(objs: list[dict], thread: str | None):
    return [raw_event(o, "s", thread) for o in objs]


def test_ties_keep_every_stream_order_and_insert_thread_only_events_in_place() -> None:
    session = [_ev("a", 1), _ev("b", 1), _ev("c", 1)]
    child = [_ev("x", 1), _ev("b", 1), _ev("y", 1), _ev("c", 1), _ev("z", 2)]
    out = list(merge_streams([(None, _raws(session, None)), ("t1", _raws(child, "t1"))], primary_thread_id="t0"))
    keys = [e.key for e in out]
    assert keys == ["x", "a", "b", "y", "c", "z"]  # the session stream's order, thread-only events in place
    owners = {e.key: e.thread_id for e in out}
    assert owners == {"a": "t0", "b": "t1", "c": "t1", "x": "t1", "y": "t1", "z": "t1"}


def test_a_stream_whose_times_go_backwards_still_yields_each_event_once() -> None:
    session = [_ev("a", 1), _ev("b", 2), _ev("c", 3), _ev("d", 4)]
    disordered = [_ev("c", 3), _ev("a", 1), _ev("d", 4), _ev("b", 2)]  # not how the API orders, but survivable
    out = list(merge_streams([(None, _raws(session, None)), ("t0", _raws(disordered, "t0"))],
                             primary_thread_id="t0"))
    assert sorted(e.key for e in out) == ["a", "b", "c", "d"]


def test_cut_stops_at_the_event_or_the_time() -> None:
    events = list(merge_streams([(None, _raws([_ev("a", 1), _ev("b", 2), _ev("c", 2), _ev("d", 3)], None))]))
    assert [e.key for e in cut(events, Until(event_id="b"))] == ["a", "b"]
    assert [e.key for e in cut(events, Until(time=parse_time(_at(2))))] == ["a", "b", "c"]
    assert [e.key for e in cut(events, None)] == ["a", "b", "c", "d"]


def test_meta_names_the_primary_thread_first(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    meta = load_meta(recorded.store, sid)
    assert meta.primary_thread_id == recorded.emu.primary_thread_id(sid)
    assert meta.threads[0].thread_id == meta.primary_thread_id
    assert meta.agent_name == "coordinator" and meta.model == "claude-opus-4-7"
    assert ALL == "all"
