"""Streams deliver only what is emitted after they open; live sessions progress and go idle, and their streams
stay open while the session can still run (they end on termination, archiving or deletion)."""

from __future__ import annotations

import json
import time

import anthropic
import httpx2

from recorder.emulator import Emulator
from tests.emulator.support import Reader, sdk, thread_events_raw, wait_for


def test_a_stream_delivers_only_events_emitted_after_it_opened():
    emu = Emulator(seed=3, heartbeat=0.05)
    sid = emu.add_session("live", interval=0.01, events=80, autostart=False)
    with emu.serve() as server:
        client = sdk(server)
        emu.start(sid)
        wait_for(lambda: emu.event_count(sid) >= 15)
        before = emu.event_count(sid)
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        after = emu.event_count(sid)
        emu.wait_until_finished(sid)
        reader.until_idle()
        assert reader.error is None
        truth = emu.ground_truth(sid)
        processed = [(e["id"], e["type"]) for e in reader.events if e.get("processed_at") is not None]
        skipped = len(truth) - len(processed)
        assert before <= skipped <= after and skipped >= 15
        assert processed == [(e["id"], e["type"]) for e in truth[skipped:]]
        assert reader.events[-1]["type"] == "session.status_idle"  # the stream stays open: the session may run again
        assert reader.events[-1]["stop_reason"] == {"type": "end_turn"}
        assert reader.events[-2]["type"] == "session.usage"  # usage just before every idle


def test_a_queued_user_event_shows_null_then_processed_with_the_same_id():
    emu = Emulator(seed=3, heartbeat=0.05)
    sid = emu.add_session("live", interval=0.01, autostart=False)
    with emu.serve() as server:
        client = sdk(server)
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        emu.start(sid)
        queued_seen = []

        def queued_listed() -> bool:
            page = client.beta.sessions.events.with_raw_response.list(sid, limit=1000).http_response.json()
            queued = [e for e in page["data"] if e["processed_at"] is None]
            if queued:
                queued_seen.append((page["data"], queued))
            return bool(queued)

        wait_for(queued_listed)
        listed, queued = queued_seen[-1]
        assert listed[-len(queued):] == queued  # queued events are listed after every processed one
        emu.wait_until_finished(sid)
        reader.until_idle()
        echoes = [e for e in reader.events if e["type"] == "user.message" and e["processed_at"] is None]
        assert [e["id"] for e in echoes] == [queued[0]["id"]]
        final = [e for e in emu.ground_truth(sid) if e["id"] == queued[0]["id"]]
        assert len(final) == 1 and final[0]["processed_at"] is not None
        assert [e for e in reader.events if e["id"] == queued[0]["id"]][-1]["processed_at"] is not None


def test_live_session_snapshots_progress_and_lists_match_when_done():
    emu = Emulator(seed=4, heartbeat=0.05)
    sid = emu.add_session("tool_use", live=True, interval=0.005, autostart=False)
    with emu.serve() as server:
        client = sdk(server)
        fresh = client.beta.sessions.retrieve(sid)
        assert fresh.status == "idle" and fresh.usage.input_tokens == 0 and emu.ground_truth(sid) == []
        emu.start(sid)
        wait_for(lambda: client.beta.sessions.retrieve(sid).status == "running")
        emu.wait_until_finished(sid)
        done = client.beta.sessions.retrieve(sid)
        assert done.status == "idle" and done.usage.input_tokens > 0
        truth = emu.ground_truth(sid)
        assert thread_events_raw(client, sid, None, limit=9) == truth
        assert truth[-1]["type"] == "session.status_idle" and truth[-1]["stop_reason"] == {"type": "end_turn"}
        last_usage = {k: v for k, v in truth[-2]["usage"].items() if k != "active_seconds"}
        assert last_usage == {k: v for k, v in done.usage.to_dict(mode="json").items() if k != "active_seconds"}
        stamps = [e["processed_at"] for e in truth]
        assert stamps == sorted(stamps) and len(set(stamps)) < len(stamps)  # live ties too


def test_thread_streams_deliver_child_history_and_go_idle_with_the_thread():
    emu = Emulator(seed=5, heartbeat=0.05)
    sid = emu.add_session("multi_agent", live=True, interval=0.005, autostart=False)
    with emu.serve() as server:
        client = sdk(server)
        emu.start(sid)
        wait_for(lambda: len(emu.thread_ids(sid)) >= 2)
        child = emu.thread_ids(sid)[1]
        reader = Reader(lambda: client.beta.sessions.threads.events.stream(child, session_id=sid))
        emu.wait_until_finished(sid)
        reader.until_idle()
        truth = emu.ground_truth(sid, child)
        got = [e["id"] for e in reader.events]
        assert got and got == [e["id"] for e in truth[len(truth) - len(got):]]
        assert reader.events[-1]["type"] == "session.thread_status_idle"  # subagents that finish go idle
        assert reader.events[-1]["stop_reason"] == {"type": "end_turn"}
        assert any(e["type"] == "span.model_request_end" for e in truth)


def test_streams_of_terminated_sessions_end_at_once_and_idle_ones_send_heartbeats(standard):
    _emu, names, server = standard
    client = sdk(server)
    started = time.monotonic()
    assert list(client.beta.sessions.events.stream(names["errors"])) == []  # terminated: nothing more, ever
    assert time.monotonic() - started < 2
    waiting = Emulator(seed=6, heartbeat=0.05)
    sids = [waiting.add_session("live", autostart=False), waiting.add_session("tool_use"),
            waiting.add_session("long", events=30)]
    with waiting.serve() as idle_server:
        for sid in sids:  # idle, whether it never ran or it finished its work: it may run again
            with httpx2.stream("GET", f"{idle_server.base_url}/v1/sessions/{sid}/events/stream",
                               headers={"x-api-key": "k"}, timeout=5) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                lines = []
                for line in response.iter_lines():
                    lines.append(line)
                    if len(lines) >= 6:
                        break
                assert lines[:3] == ["event: ping", 'data: {"type":"ping"}', ""]
                assert set(lines) == {"event: ping", 'data: {"type":"ping"}', ""}
    assert waiting.ground_truth(sids[0]) == []  # the live one never started


def test_streams_carry_every_unicode_and_multi_megabyte_events_intact():
    emu = Emulator(seed=8, heartbeat=0.05)
    sids = [emu.add_session(name, live=True, interval=0.001, autostart=False, **options)
            for name, options in (("unicode", {}), ("large_results", {"mb": 2}))]
    with emu.serve() as server:
        client = sdk(server)
        for sid in sids:
            stream = client.beta.sessions.events.stream(sid)
            emu.start(sid)
            got = []
            for sse in anthropic.Stream.raw_events(stream.response):
                if sse.event != "ping":
                    got.append(json.loads(sse.data))
                    if got[-1]["type"] == "session.status_idle":  # its work is done; the stream stays open
                        break
            stream.response.close()
            assert got == emu.ground_truth(sid)
    texts = [json.dumps(e, ensure_ascii=False) for e in got]
    assert max(len(t) for t in texts) > 3_000_000
    unicode_events = emu.ground_truth(sids[0])
    assert any("\ud800" in e["content"][0]["text"] and "\x00" in e["content"][0]["text"]
               for e in unicode_events if e["type"] == "user.message")
