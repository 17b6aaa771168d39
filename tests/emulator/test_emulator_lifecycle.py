"""The documented session life cycle: idle endings with a stop_reason and usage before each idle, later turns,
archive, delete, sessions.list pages, output files after the indexing lag, a countable request log."""

from __future__ import annotations

import threading
import time

import anthropic
import httpx2
import pytest
from anthropic.types.beta.sessions import BetaManagedAgentsSessionStatusIdleEvent

from recorder.emulator import Emulator
from tests.emulator.support import Reader, sdk, wait_for

ERROR_SCENARIOS = ("errors", "error_catalog")  # about unrecoverable errors: the only ones that terminate


def test_every_scenario_ends_idle_with_usage_just_before_and_only_errors_terminate(standard):
    emu, names, _ = standard
    for scenario, sid in names.items():
        truth = emu.ground_truth(sid)
        assert truth[-2]["type"] == "session.usage", scenario
        for n, event in enumerate(truth):  # every idle has the session's usage just before it
            if event["type"] == "session.status_idle":
                assert truth[n - 1]["type"] == "session.usage", (scenario, n)
                assert truth[n - 1]["usage"]["list_cost"]["amount"].isdigit()  # integer cents
        if scenario in ERROR_SCENARIOS:
            assert truth[-1]["type"] == "session.status_terminated" and emu.status(sid) == "terminated"
            continue
        assert emu.status(sid) == "idle", scenario
        last = BetaManagedAgentsSessionStatusIdleEvent.model_validate(truth[-1])
        assert last.stop_reason.type == "end_turn", scenario
        assert not any(e["type"] == "session.status_terminated" for e in truth), scenario
    statuses = {e["type"] for scenario, sid in names.items() if scenario not in ERROR_SCENARIOS
                for e in emu.ground_truth(sid)}
    assert "session.thread_status_terminated" not in statuses  # subagents that finish go idle
    # a terminal error ends the subagents still running with the session
    catalog = [e["type"] for e in emu.ground_truth(names["error_catalog"])]
    assert catalog[-3:] == ["session.thread_status_terminated", "session.usage", "session.status_terminated"]


def test_pending_scenarios_end_waiting_for_the_client_and_resume_when_answered():
    emu = Emulator(seed=11, turn_interval=0.001)
    custom = emu.add_session("custom_tool", pending=True)
    confirm = emu.add_session("confirmation", pending=True)
    with emu.serve() as server:
        client = sdk(server)
        for sid, answer in ((custom, "user.custom_tool_result"), (confirm, "user.tool_confirmation")):
            last = emu.ground_truth(sid)[-1]
            assert last["stop_reason"]["type"] == "requires_action"
            waiting_on = last["stop_reason"]["event_ids"]
            use = next(e for e in emu.ground_truth(sid) if e["id"] == waiting_on[0])
            assert use["type"] in ("agent.custom_tool_use", "agent.tool_use")
            event = ({"type": answer, "custom_tool_use_id": use["id"], "content": [{"type": "text", "text": "ok"}]}
                     if answer == "user.custom_tool_result" else
                     {"type": answer, "tool_use_id": use["id"], "result": "allow"})
            sent = client.beta.sessions.events.send(sid, events=[event])  # type: ignore[list-item]
            assert sent.data and sent.data[0].type == answer
            emu.wait_until_idle(sid)
            truth = emu.ground_truth(sid)
            assert truth[-1]["stop_reason"] == {"type": "end_turn"} and truth[-2]["type"] == "session.usage"
            assert [e["type"] for e in truth].count("session.status_running") >= 2


def test_a_new_message_makes_an_idle_session_run_and_go_idle_again():
    emu = Emulator(seed=12, heartbeat=0.05, turn_interval=0.005)
    sid = emu.add_session("tool_use")
    before = emu.ground_truth(sid)
    with emu.serve() as server:
        client = sdk(server)
        cost_before = int(client.beta.sessions.retrieve(sid).usage.list_cost.amount)  # type: ignore[union-attr]
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))  # open while idle: stays open
        message = emu.send_message(sid, "One more thing: update the changelog.")
        wait_for(lambda: client.beta.sessions.retrieve(sid).status == "running" or emu.is_finished(sid))
        emu.wait_until_idle(sid)
        reader.until_idle()
        after = emu.ground_truth(sid)
        assert after[:len(before)] == before
        new = after[len(before):]
        assert new[0]["id"] == message and new[0]["type"] == "user.message"
        assert [e["type"] for e in new[1:2]] == ["session.status_running"]
        assert [e["type"] for e in new[-2:]] == ["session.usage", "session.status_idle"]
        assert [e["id"] for e in reader.events] == [e["id"] for e in new]
        stamps = [e["processed_at"] for e in after]
        assert stamps == sorted(stamps)
        session = client.beta.sessions.retrieve(sid)
        assert session.status == "idle" and int(session.usage.list_cost.amount) > cost_before  # type: ignore
        assert new[-2]["usage"]["list_cost"] == session.usage.list_cost.to_dict()  # type: ignore[union-attr]


def test_archived_sessions_keep_history_take_nothing_and_leave_the_list(standard):
    emu = Emulator(seed=13, heartbeat=0.05)
    sids = [emu.add_session("tool_use"), emu.add_session("mcp"), emu.add_session("interrupts")]
    with emu.serve() as server:
        client = sdk(server)
        history = emu.ground_truth(sids[1])
        with httpx2.stream("GET", f"{server.base_url}/v1/sessions/{sids[1]}/events/stream",
                           headers={"x-api-key": "k"}, timeout=5) as response:
            done = threading.Event()

            def drain() -> None:
                for _ in response.iter_lines():
                    pass
                done.set()

            threading.Thread(target=drain, daemon=True).start()
            archived = client.beta.sessions.archive(sids[1])
            assert archived.archived_at is not None and archived.id == sids[1]
            assert done.wait(5), "the archived session's stream did not end"
        assert client.beta.sessions.retrieve(sids[1]).archived_at == archived.archived_at
        assert [e.id for e in client.beta.sessions.events.list(sids[1], limit=1000)] == [e["id"] for e in history]
        assert sids[1] not in [s.id for s in client.beta.sessions.list()]
        assert sids[1] in [s.id for s in client.beta.sessions.list(include_archived=True)]
        with pytest.raises(anthropic.BadRequestError, match="archived"):
            client.beta.sessions.events.send(sids[1], events=[
                {"type": "user.message", "content": [{"type": "text", "text": "hello?"}]}])
        with pytest.raises(Exception, match="archived"):
            emu.send_message(sids[1], "hello?")
        assert emu.ground_truth(sids[1]) == history
        emu.archive(sids[2])  # the helper does the same
        assert [s.id for s in client.beta.sessions.list()] == [sids[0]]


def test_deleted_sessions_answer_404_and_open_streams_get_session_deleted():
    emu = Emulator(seed=14, heartbeat=0.05)
    keep = emu.add_session("tool_use")
    sid = emu.add_session("multi_agent")
    child = emu.thread_ids(sid)[1]
    files = emu.files(sid)
    assert files
    with emu.serve() as server:
        client = sdk(server)
        session_reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        thread_reader = Reader(lambda: client.beta.sessions.threads.events.stream(child, session_id=sid))
        deleted = client.beta.sessions.delete(sid)
        assert deleted.id == sid and deleted.type == "session_deleted"
        for reader in (session_reader, thread_reader):
            reader.join(5)  # the stream ended by itself
            assert [e["type"] for e in reader.events] == ["session.deleted"] and reader.error is None
        for call in (lambda: client.beta.sessions.retrieve(sid),
                     lambda: client.beta.sessions.events.list(sid),
                     lambda: client.beta.sessions.threads.list(sid),
                     lambda: client.beta.sessions.threads.events.list(child, session_id=sid),
                     lambda: client.beta.sessions.archive(sid),
                     lambda: client.beta.sessions.delete(sid),
                     lambda: client.beta.files.retrieve_metadata(files[0]["id"]),
                     lambda: client.beta.files.download(files[0]["id"])):
            with pytest.raises(anthropic.NotFoundError):
                call()
        assert client.beta.files.list(scope_id=sid).data == []
        assert [s.id for s in client.beta.sessions.list(include_archived=True)] == [keep]
        assert emu.is_deleted(sid) and not emu.is_deleted(keep)
        statuses = [(r.method, r.path, r.status) for r in server.requests_for(sid)]
        assert ("DELETE", f"/v1/sessions/{sid}", 200) in statuses
        assert ("DELETE", f"/v1/sessions/{sid}", 404) in statuses


def test_sessions_list_is_newest_first_with_cursor_pages():
    emu = Emulator(seed=15)
    sids = [emu.add_session(name) for name in ("tool_use", "mcp", "interrupts", "compaction", "outcome")]
    with emu.serve() as server:
        client = sdk(server)
        first = client.beta.sessions.list(limit=2)
        assert [s.id for s in first.data] == sids[::-1][:2] and first.next_page
        second = client.beta.sessions.list(limit=2, page=first.next_page)
        assert [s.id for s in second.data] == sids[::-1][2:4]
        assert [s.id for s in client.beta.sessions.list(limit=2)] == sids[::-1]  # auto-pagination
        assert [s.id for s in client.beta.sessions.list(limit=2, order="asc")] == sids
        late = emu.create_session("interrupts", live=False)  # created at runtime: first in the list
        assert client.beta.sessions.list(limit=1).data[0].id == late


def test_new_files_are_listed_after_the_indexing_lag():
    emu = Emulator(seed=16, file_lag=0.4, turn_interval=0.001)
    sid = emu.add_session("tool_use")
    with emu.serve() as server:
        client = sdk(server)
        before = {f.id for f in client.beta.files.list(scope_id=sid)}
        assert len(before) == 3  # finished at creation: listed at once
        emu.send_message(sid, "Write the release notes.", files=2, wait=True)
        idle_at = time.monotonic()
        assert {f.id for f in client.beta.files.list(scope_id=sid)} == before  # not yet indexed
        wait_for(lambda: len(client.beta.files.list(scope_id=sid).data) == 5, timeout=5)
        assert time.monotonic() - idle_at >= 0.3
        new = [f for f in client.beta.files.list(scope_id=sid) if f.id not in before]
        assert sorted(f.filename for f in new) == ["turn1-1.md", "turn1-2.md"]
        assert client.beta.files.download(new[0].id).read().startswith(b"# Turn 1")


def test_the_request_log_counts_requests_with_their_times():
    emu = Emulator(seed=17)
    sid = emu.add_session("interrupts")
    with emu.serve() as server:
        client = sdk(server)
        started = time.time()
        for _ in range(3):
            client.beta.sessions.retrieve(sid)
        list(client.beta.sessions.events.list(sid, limit=5))
        log = [r for r in server.requests if r.at >= started]
        assert [(r.method, r.status) for r in log].count(("GET", 200)) == len(log) >= 4
        assert all(started <= r.at <= time.time() for r in log)
        assert sum(r.path == f"/v1/sessions/{sid}/events" for r in log) >= 2  # pages
