"""Paging every history through the SDK gives the ground truth exactly; sessions, threads and files look right."""

from __future__ import annotations

import json
from datetime import datetime

import anthropic
import httpx2
import pytest

from recorder.emulator import Emulator
from recorder.emulator.builder import CROSS_POSTED
from tests.emulator.support import LONG_EVENTS, page_raw, sdk, thread_events_raw

BLOCKING = {"agent.custom_tool_use", "user.custom_tool_result", "agent.tool_use", "user.tool_confirmation"}


def test_every_stream_pages_to_its_ground_truth(standard, client):
    emu, names, _ = standard
    checked = 0
    for sid in names.values():
        for thread_id in [None, *emu.thread_ids(sid)]:
            truth = emu.ground_truth(sid, thread_id)
            assert truth, (sid, thread_id)
            assert thread_events_raw(client, sid, thread_id, limit=37 if len(truth) < 500 else 1000) == truth
            checked += 1
    assert checked >= len(names) + 4  # every session stream, every primary thread, multi_agent's children


def test_pages_have_the_requested_size_and_default_to_100(standard, client):
    _emu, names, _ = standard
    sid = names["long"]
    first = client.beta.sessions.events.list(sid)
    assert len(first.data) == 100 and first.next_page
    sizes = [len(p.data) for p in client.beta.sessions.events.list(sid, limit=1000).iter_pages()]
    assert sizes == [1000, 1000, 1000] and sum(sizes) == LONG_EVENTS
    items, pages = page_raw(client.beta.sessions.events.with_raw_response.list, names["tool_use"], limit=10)
    assert pages == -(-len(items) // 10)


def test_typed_autopagination_matches_ids_types_and_times(standard, client):
    emu, names, _ = standard
    for name in ("multi_agent", "long", "interrupts"):
        truth = emu.ground_truth(names[name])
        got = list(client.beta.sessions.events.list(names[name], limit=250))
        assert [(e.id, e.type) for e in got] == [(t["id"], t["type"]) for t in truth]
        assert [e.processed_at for e in got] == [datetime.fromisoformat(t["processed_at"]) for t in truth]


def test_session_stream_is_primary_thread_plus_cross_posted_child_events(standard, client):
    emu, names, _ = standard
    sid = names["multi_agent"]
    threads = list(client.beta.sessions.threads.list(sid))
    assert [t.id for t in threads] == emu.thread_ids(sid)
    primary, children = threads[0], threads[1:]
    assert primary.parent_thread_id is None and len(children) == 3
    assert {t.parent_thread_id for t in children} == {primary.id}  # one level of delegation
    again = client.beta.sessions.threads.retrieve(children[2].id, session_id=sid)
    assert again.parent_thread_id == primary.id and again.agent.name == "scout"
    session = thread_events_raw(client, sid, None)
    own = thread_events_raw(client, sid, primary.id)
    child_streams = {t.id: thread_events_raw(client, sid, t.id) for t in children}
    session_texts = [json.dumps(e) for e in session]
    cross_posted = [json.dumps(e) for events in child_streams.values() for e in events if e["type"] in CROSS_POSTED]
    # a subagent's blocking events (and the answers) are cross-posted too, with session_thread_id in the copy
    blocking = [json.dumps({**e, "session_thread_id": tid}) for tid, events in child_streams.items() for e in events
                if (e["type"] in BLOCKING and e["type"] != "agent.tool_use") or e.get("evaluated_permission") == "ask"]
    assert len(blocking) == 4  # a custom tool use and its result, a tool use needing confirmation and the answer
    cross_posted += blocking
    blocking_ids = {json.loads(b)["id"] for b in blocking}
    private = [e for events in child_streams.values() for e in events
               if e["type"] not in CROSS_POSTED and e["id"] not in blocking_ids]
    for events in child_streams.values():  # the thread's own copy does not say which thread it is
        assert all("session_thread_id" not in e for e in events if e["id"] in blocking_ids)
    # the session stream is exactly the primary's events and the children's cross-posted ones, in time order
    assert sorted(session_texts) == sorted([json.dumps(e) for e in own] + cross_posted)
    assert [e for e in session if json.dumps(e) in {json.dumps(o) for o in own}] == own
    assert not {e["id"] for e in private} & {e["id"] for e in session}
    assert any(e["type"] == "span.model_request_end" for e in private)  # child usage lives only in its thread
    for events in child_streams.values():
        assert events[0]["type"] == "session.thread_created"
        assert events[-1]["type"] == "session.thread_status_idle"  # subagents that finish go idle
        assert events[-1]["stop_reason"] == {"type": "end_turn"}
    # a message between threads: sent in the sender's stream, received in the receiver's
    sent = [e for e in own if e["type"] == "agent.thread_message_sent"]
    assert {e["to_session_thread_id"] for e in sent} == {t.id for t in children}
    received = {e["from_session_thread_id"] for e in own if e["type"] == "agent.thread_message_received"}
    assert received == {t.id for t in children}
    times = [e["processed_at"] for e in session]
    assert times == sorted(times)


def test_snapshots_sum_usage_over_every_thread(standard, client):
    emu, names, _ = standard
    sid = names["multi_agent"]
    session = client.beta.sessions.retrieve(sid)
    spans = [e for t in emu.thread_ids(sid) for e in emu.ground_truth(sid, t) if e["type"] == "span.model_request_end"]
    assert session.usage.input_tokens == sum(e["model_usage"]["input_tokens"] for e in spans)
    assert session.usage.output_tokens == sum(e["model_usage"]["output_tokens"] for e in spans)
    assert session.usage.cache_read_input_tokens == sum(e["model_usage"]["cache_read_input_tokens"] for e in spans)
    threads = list(client.beta.sessions.threads.list(sid))
    assert sum(t.usage.input_tokens for t in threads) == session.usage.input_tokens
    assert float(session.usage.list_cost.amount) > 0 and session.usage.list_cost.currency == "USD"
    assert session.status == "idle" and all(t.status == "idle" for t in threads)
    assert session.agent.model.id == "claude-opus-4-7" and session.agent.multiagent is not None
    last = emu.ground_truth(sid)[-1]
    assert session.updated_at == datetime.fromisoformat(last["processed_at"])
    assert session.stats.duration_seconds > 0 and 0 < session.stats.active_seconds <= session.stats.duration_seconds


def test_sessions_list_filters_pages_and_snapshots(standard, client):
    emu, names, _ = standard
    listed = list(client.beta.sessions.list(limit=4))
    assert sorted(s.id for s in listed) == sorted(emu.session_ids())
    created = [s.created_at for s in listed]
    assert created == sorted(created, reverse=True)  # newest first by default
    assert [s.id for s in client.beta.sessions.list(order="asc", limit=100)] == emu.session_ids()
    assert list(client.beta.sessions.list(statuses=["running", "rescheduling"])) == []
    terminated = {s.id for s in client.beta.sessions.list(statuses=["terminated"])}
    assert terminated == {names["errors"], names["error_catalog"]}  # the two scenarios about errors
    assert len(list(client.beta.sessions.list(statuses=["idle"]))) == len(names) - 2
    middle = sorted(created)[5]
    assert all(s.created_at >= middle for s in client.beta.sessions.list(created_at_gte=middle))
    assert len(list(client.beta.sessions.list(created_at_gte=middle))) == len(names) - 5
    one = client.beta.sessions.retrieve(names["tool_use"])
    assert one.id == names["tool_use"] and one.type == "session" and one.title
    repo = next(r for r in one.resources if r.type == "github_repository")
    assert repo.model_extra["authorization_token"].startswith("ghp_")  # the secret the recorder must scrub
    assert one.usage.list_cost is not None and one.usage.output_tokens > 0
    budget = client.beta.sessions.retrieve(names["budget"])
    assert budget.budget is not None and budget.budget.max_list_cost.amount == "200"  # minor units: $2.00


def test_files_list_and_download(standard, client):
    emu, names, _ = standard
    sid = names["tool_use"]
    files = list(client.beta.files.list(scope_id=sid, limit=1))
    assert sorted(f.filename for f in files) == ["chart.png", "coverage.csv", "report.md"]
    for meta in files:
        assert meta.scope is not None and meta.scope.id == sid
        content = client.beta.files.download(meta.id).read()
        assert content == emu.file_content(meta.id) and len(content) == meta.size_bytes
    assert client.beta.files.retrieve_metadata(files[0].id).id == files[0].id
    assert len(list(client.beta.files.list())) == len(emu.files())
    odd = next(iter(client.beta.files.list(scope_id=names["unicode"])))
    assert odd.filename == "naïve 📄.md"
    assert list(client.beta.files.list(scope_id=names["errors"])) == []
    assert [f.id for f in client.beta.files.list(ids=[files[0].id])] == [files[0].id]


def test_errors_have_the_api_shape_and_status(standard):
    _emu, names, server = standard
    client = sdk(server)
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.beta.sessions.retrieve("sesn_nope")
    assert missing.value.body["error"]["type"] == "not_found_error" and missing.value.body["type"] == "error"
    with pytest.raises(anthropic.NotFoundError):
        list(client.beta.sessions.threads.events.list("sthr_nope", session_id=names["tool_use"]))
    with pytest.raises(anthropic.NotFoundError):
        client.beta.files.download("file_nope")
    for bad in ({"limit": 0}, {"limit": 1001}, {"page": "garbage!"}, {"created_at_gte": "yesterday"}):
        with pytest.raises(anthropic.BadRequestError) as err:
            client.beta.sessions.events.list(names["tool_use"], **bad)
        assert err.value.body["error"]["type"] == "invalid_request_error"
    other = client.beta.sessions.events.list(names["long"], limit=5).next_page
    with pytest.raises(anthropic.BadRequestError, match="different list"):
        client.beta.sessions.events.list(names["tool_use"], page=other)
    with pytest.raises(anthropic.BadRequestError, match="other order"):
        client.beta.sessions.events.list(names["long"], page=other, order="desc")
    raw = httpx2.get(f"{server.base_url}/v1/sessions")
    assert raw.status_code == 401 and raw.json()["error"]["type"] == "authentication_error"
    posted = httpx2.post(f"{server.base_url}/v1/sessions", headers={"x-api-key": "k"}, json={})
    assert posted.status_code == 405 and posted.json()["type"] == "error"
    nowhere = httpx2.get(f"{server.base_url}/v2/elsewhere", headers={"x-api-key": "k"})
    assert nowhere.status_code == 404 and nowhere.headers["request-id"].startswith("req_")


def test_a_configured_api_key_is_enforced():
    emu = Emulator(seed=1, api_key="right")
    sid = emu.add_session("interrupts")
    with emu.serve() as server:
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(api_key="wrong", base_url=server.base_url, max_retries=0).beta.sessions.retrieve(sid)
        assert anthropic.Anthropic(api_key="right", base_url=server.base_url).beta.sessions.retrieve(sid).id == sid
        by_header = httpx2.get(f"{server.base_url}/v1/sessions/{sid}", headers={"x-api-key": "right"})
        assert by_header.status_code == 200
