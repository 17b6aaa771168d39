"""Live sessions: --follow records until each session terminates, by stream or by poll, and stops by itself."""

from __future__ import annotations

import threading
import time

import pytest

from recorder.emulator import Emulator
from recorder.store import EventStore
from tests.recorder.support import assert_exact, is_exact, record, record_until


@pytest.mark.parametrize("mode", ["stream", "poll", "auto"])
def test_follow_records_a_live_session_to_its_end(store: EventStore, mode: str) -> None:
    emu = Emulator(seed=31, heartbeat=0.2)
    live = emu.add_session("live", interval=0.01, autostart=False)
    finished = emu.add_session("tool_use")
    with emu.serve() as server:
        emu.start(live)
        started = time.monotonic()
        report = record(store, server, [live, finished], follow=True, mode=mode, poll_interval=0.05,
                        deadline=60, settle=0.3)
        assert emu.is_finished(live), "follow must not stop before the session settles"
        assert time.monotonic() - started < 60
        queued = [e for e in emu.ground_truth(live) if e.get("processed_at") is None]
        assert queued == [], "a finished session holds no queued events"
        assert_exact(store, emu, [live, finished])
        modes = {o.session_id: o.mode for o in report.sessions}
        if mode == "auto":  # an idle session may run again: followed, it is streamed too
            assert modes == {live: "stream", finished: "stream"}
        assert {o.session_id: o.state for o in report.sessions} == {live: "settled", finished: "settled"}
        assert not any(o.complete for o in report.sessions), "idle sessions are settled, never complete"
        assert len(emu.thread_ids(live)) >= 2, "the live scenario creates a thread while it runs"
    emu.close()


def test_stream_mode_records_while_the_session_runs(store: EventStore) -> None:
    """Events reach the log through the stream as they happen: the log grows while the session is live, with no
    history listing beyond the first catch-up and the last one."""
    emu = Emulator(seed=35, heartbeat=0.2)
    live = emu.add_session("live", interval=0.05, autostart=False)
    growth: list[tuple[int, bool]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            growth.append((store.head_position(), emu.is_finished(live)))
            time.sleep(0.05)

    with emu.serve() as server:
        emu.start(live)
        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            record(store, server, [live], follow=True, mode="stream", deadline=60)
        finally:
            stop.set()
            sampler.join()
        assert_exact(store, emu, [live])
        while_live = sorted({count for count, finished in growth if not finished and count > 0})
        assert len(while_live) >= 5, f"the log should grow step by step while the session runs: {while_live}"
        lists = [r for r in server.requests if r.path.endswith("/events") and "/threads/" not in r.path]
        streams = [r for r in server.requests if r.path.endswith("/stream") and "/threads/" not in r.path]
        assert len(streams) == 1 and len(lists) == 2
    emu.close()


def test_queued_user_events_are_stored_once_processed(store: EventStore) -> None:
    """The live scenario streams a user message with processed_at null before it is processed; the log keeps
    only the processed copy, at its place."""
    emu = Emulator(seed=32, heartbeat=0.2)
    live = emu.add_session("live", interval=0.01, autostart=False)
    with emu.serve() as server:
        emu.start(live)
        record(store, server, [live], follow=True, mode="stream", deadline=60)
        assert_exact(store, emu, [live])
        messages = [e.data for e in store.stream_events(live) if e.type == "user.message"]
        assert messages and all(m["processed_at"] is not None for m in messages)
        assert len({m["id"] for m in messages}) == len(messages)
    emu.close()


def test_without_follow_a_live_session_is_recorded_as_it_stands(store: EventStore) -> None:
    emu = Emulator(seed=33, heartbeat=0.2)
    live = emu.add_session("live", interval=0.02, autostart=False)
    with emu.serve() as server:
        emu.start(live)
        time.sleep(0.3)
        report = record(store, server, [live])
        [outcome] = report.sessions
        assert not outcome.complete and outcome.events_added > 0
        assert store.checkpoint(live) is not None and not store.checkpoint(live).complete
        emu.wait_until_finished(live, timeout=30)
        again = record(store, server, [live])  # resumes from the checkpoint, to the idle end
        assert_exact(store, emu, [live])
        assert [o.state for o in again.sessions] == ["settled"]
        assert not store.checkpoint(live).complete, "an idle session may run again"
    emu.close()


def test_all_follow_discovers_sessions_created_later(store: EventStore) -> None:
    emu = Emulator(seed=34, heartbeat=0.2)
    first = emu.add_session("mcp")
    with emu.serve() as server:
        later: list[str] = []
        threading.Timer(0.5, lambda: later.append(emu.add_session("custom_tool"))).start()
        record_until(store, server, lambda: bool(later) and emu.is_finished(later[0])
                     and is_exact(store, emu, [first, *later]), limit=60,
                     discover=True, follow=True, sweep_interval=0.2)
        assert later, "the second session was added while the recorder ran"
        assert_exact(store, emu, [first, *later])
    emu.close()


def test_a_session_that_ends_while_a_poll_pass_runs_is_read_whole(store: EventStore) -> None:
    """Polling catches a session's streams up side by side. If the session stream is the one that shows the end
    (its idle), the threads may have been read (or not even listed) before their last events: the recorder must
    read them again before it calls the session settled."""
    emu = Emulator(seed=36, heartbeat=0.2)
    live = emu.add_session("live", interval=0.01, autostart=False)  # ~0.5 s; creates a child thread on the way
    emu.set_faults(live, "slow_first_byte=2.5,times=1,on=session_events")  # the session stream answers late
    with emu.serve() as server:
        emu.start(live)
        # Running (or already over) before the recorder's first snapshot: a session still idle then, its first
        # event due after the playback's first interval, is not the case this test sets up.
        deadline = time.monotonic() + 5
        while emu.status(live) != "running" and not emu.is_finished(live) and time.monotonic() < deadline:
            time.sleep(0.002)
        report = record(store, server, [live], mode="poll")  # no follow: one pass over what exists
        assert emu.is_finished(live)
        [outcome] = report.sessions
        assert outcome.state == "settled", "the late answer showed the end"
        assert_exact(store, emu, [live])
    emu.close()
