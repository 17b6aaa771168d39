"""``recorder serve``: the SDK against the recorded sessions pages, filters and streams exactly what was recorded,
and answers like the API itself (the emulator, serving the same sessions, is the reference)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import pytest

from recorder.emulator import ApiServer
from recorder.serve import StoreSource, serve
from tests.emulator.support import Reader, page_raw, sdk, thread_events_raw
from tests.replay.conftest import Recorded


@pytest.fixture(scope="module")
def served(recorded: Recorded) -> Iterator[ApiServer]:
    with serve(recorded.store, speed=0, heartbeat=0.05) as server:
        yield server


@pytest.fixture(scope="module")
def reference(recorded: Recorded) -> Iterator[ApiServer]:
    with recorded.emu.serve() as server:
        yield server


def _recorded(recorded: Recorded, sid: str, thread_id: str | None = None) -> list[dict]:
    return [json.loads(e.payload) for e in recorded.store.stream_events(sid, thread_id)]


def test_sdk_pages_through_every_recorded_stream(recorded: Recorded, served: ApiServer, scenario: str) -> None:
    sid = recorded.sid(scenario)
    client = sdk(served)
    expected = _recorded(recorded, sid)
    limit = max(5, len(expected) // 6)  # several pages, whatever the length
    items, pages = page_raw(client.beta.sessions.events.with_raw_response.list, sid, limit=limit)
    assert items == expected
    assert pages > 1
    for thread_id in recorded.emu.thread_ids(sid):
        assert thread_events_raw(client, sid, thread_id, limit=limit) == _recorded(recorded, sid, thread_id)
    typed = list(client.beta.sessions.events.list(sid, limit=1000))
    assert [e.id for e in typed] == [e["id"] for e in items]


def test_filters_and_order_answer_like_the_api(recorded: Recorded, served: ApiServer,
                                               reference: ApiServer) -> None:
    ours, theirs = sdk(served), sdk(reference)
    for scenario in ("multi_agent", "budget", "errors"):
        sid = recorded.sid(scenario)
        middle = recorded.emu.ground_truth(sid)[len(recorded.emu.ground_truth(sid)) // 2]["processed_at"]
        for params in ({"order": "desc", "limit": 9},
                       {"types": ["agent.message", "span.model_request_end"], "limit": 4},
                       {"created_at_gte": middle, "limit": 6},
                       {"created_at_lt": middle, "order": "desc", "limit": 11},
                       {"created_at_gt": middle, "types": ["session.usage", "session.status_idle"], "limit": 2}):
            got = page_raw(ours.beta.sessions.events.with_raw_response.list, sid, **params)
            want = page_raw(theirs.beta.sessions.events.with_raw_response.list, sid, **params)
            assert got == want, (scenario, params)
            assert got[0], (scenario, params)


def test_sessions_threads_and_files(recorded: Recorded, served: ApiServer) -> None:
    client = sdk(served)
    listed = [s.id for s in client.beta.sessions.list(limit=5)]
    assert sorted(listed) == sorted(recorded.names.values())
    sid = recorded.sid("multi_agent")
    assert client.beta.sessions.retrieve(sid).to_dict(mode="json") == \
        recorded.store.latest_snapshot(sid)
    threads = list(client.beta.sessions.threads.list(sid))
    assert [t.id for t in threads] == recorded.emu.thread_ids(sid)
    assert threads[0].parent_thread_id is None
    one = client.beta.sessions.threads.retrieve(threads[2].id, session_id=sid)
    assert one.id == threads[2].id and one.agent.name == "reviewer"
    files_sid = recorded.sid("tool_use")
    files = list(client.beta.files.list(scope_id=files_sid))
    assert sorted(f.filename for f in files) == ["chart.png", "coverage.csv", "report.md"]
    for meta in files:
        assert client.beta.files.download(meta.id).read() == recorded.emu.file_content(meta.id)
    with pytest.raises(anthropic.NotFoundError):
        client.beta.sessions.retrieve("sesn_missing")
    with pytest.raises(anthropic.NotFoundError):
        list(client.beta.sessions.events.list("sesn_missing"))
    with pytest.raises(anthropic.NotFoundError):
        client.beta.sessions.threads.retrieve("sthr_missing", session_id=sid)


def test_the_stream_replays_the_session_and_ends(recorded: Recorded, served: ApiServer) -> None:
    client = sdk(served)
    for scenario in ("multi_agent", "interrupts", "unknown_types"):
        sid = recorded.sid(scenario)
        reader = Reader(lambda sid=sid: client.beta.sessions.events.stream(sid)).join()
        assert reader.error is None
        assert reader.events == _recorded(recorded, sid)
    sid = recorded.sid("multi_agent")
    child = recorded.emu.thread_ids(sid)[2]
    reader = Reader(lambda: client.beta.sessions.threads.events.stream(child, session_id=sid)).join()
    assert reader.events == _recorded(recorded, sid, child)


def test_the_stream_keeps_the_recorded_pace_scaled(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    events = recorded.emu.ground_truth(sid)
    from recorder.events import parse_time

    span = (parse_time(events[-1]["processed_at"]) - parse_time(events[0]["processed_at"])).total_seconds()
    speed = span / 1.5  # the whole session in 1.5 s
    with serve(recorded.store, speed=speed, heartbeat=0.05) as server:
        client = sdk(server)
        started = time.monotonic()
        reader = Reader(lambda: client.beta.sessions.events.stream(sid)).join(timeout=20)
        took = time.monotonic() - started
    assert reader.events == _recorded(recorded, sid)
    assert 1.4 <= took <= 6, f"a 1.5 s replay took {took:.2f} s"


def test_a_store_source_without_snapshots_makes_up_minimal_objects(recorded: Recorded, sqlite_url: str) -> None:
    from recorder.events import raw_event
    from recorder.store import EventStore

    with EventStore(sqlite_url) as store:
        store.append([raw_event({"type": "user.message", "id": "sevt_1", "content": [],
                                 "processed_at": "2026-01-01T00:00:00Z"}, "sesn_bare", "sthr_bare")])
        source = StoreSource(store)
        assert source.session("sesn_bare")["id"] == "sesn_bare"
        assert [t["id"] for t in source.threads("sesn_bare")] == ["sthr_bare"]
        assert source.sessions()[0]["created_at"].endswith("Z")
