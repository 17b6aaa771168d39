"""``recorder serve``: the SDK against the recorded sessions pages, filters and streams exactly what was recorded,
and answers like the API itself (the emulator, serving the same sessions, is the reference)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import anthropic
import pytest
from click.testing import CliRunner

from recorder.apiserver import ApiServer
from recorder.cli import cli
from recorder.errors import ConfigError
from recorder.serve import StoreSource, is_loopback, serve
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


# ------------------------------------------------------------------------------------- the production server alone


def test_serving_the_log_loads_no_emulator_code(recorded: Recorded) -> None:
    """``recorder.serve`` and a running StoreSource server use the HTTP layer only: no scenario or fault module."""
    program = (
        "import sys, urllib.request\n"
        "from recorder.serve import serve\n"
        "from recorder.store import EventStore\n"
        f"store = EventStore({recorded.url!r})\n"
        "with serve(store, speed=0) as server:\n"
        "    request = urllib.request.Request(server.base_url + '/v1/sessions', headers={'x-api-key': 'k'})\n"
        "    with urllib.request.urlopen(request) as response:\n"
        "        assert response.status == 200 and response.headers['server'] == 'recorder-serve'\n"
        "        assert b'managed-agents-emulator' not in response.read()\n"
        "loaded = sorted(m for m in sys.modules if m == 'recorder.emulator' or m.startswith('recorder.emulator.'))\n"
        "print(','.join(loaded) or 'none')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


def _get(server: ApiServer, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(server.base_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_a_token_is_required_of_every_request(recorded: Recorded) -> None:
    sid = recorded.sid("tool_use")
    with serve(recorded.store, speed=0, token="s3cret") as server:
        for path in ("/v1/sessions", f"/v1/sessions/{sid}", f"/v1/sessions/{sid}/events", "/v1/files"):
            assert _get(server, path, {})[0] == 401
            assert _get(server, path, {"x-api-key": "wrong"})[0] == 401
            assert _get(server, path, {"authorization": "Bearer wrong"})[0] == 401
            assert _get(server, path, {"x-api-key": "s3cret"})[0] == 200
            assert _get(server, path, {"authorization": "Bearer s3cret"})[0] == 200
        client = anthropic.Anthropic(api_key="s3cret", base_url=server.base_url, max_retries=0)
        assert client.beta.sessions.retrieve(sid).id == sid
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(api_key="nope", base_url=server.base_url, max_retries=0).beta.sessions.retrieve(sid)


def test_the_log_is_not_served_beyond_loopback_without_a_token(recorded: Recorded, monkeypatch) -> None:
    monkeypatch.delenv("RECORDER_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--db", recorded.url, "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--token" in lines[0] and "0.0.0.0" in lines[0], result.output
    assert "Traceback" not in result.output
    with pytest.raises(ConfigError, match="non-loopback"):
        serve(recorded.store, host="0.0.0.0")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host), host
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    # with a token (here from the environment) the same address is accepted
    monkeypatch.setenv("RECORDER_SERVE_TOKEN", "t0ken")
    with serve(recorded.store, host="0.0.0.0", token="t0ken") as server:
        assert server.host == "0.0.0.0"
        assert _get(server, "/v1/sessions", {"x-api-key": "t0ken"})[0] == 200
        assert _get(server, "/v1/sessions", {"x-api-key": "other"})[0] == 401


def test_connections_beyond_the_cap_are_answered_503(recorded: Recorded) -> None:
    with serve(recorded.store, speed=0, max_connections=2) as server:
        idle = [socket.create_connection((server.host, server.port), timeout=5) for _ in range(2)]
        try:
            deadline = time.monotonic() + 5
            while server.open_connections() < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            status, body = _get(server, "/v1/sessions", {"x-api-key": "k"})
            assert status == 503 and b"Too many open connections" in body
        finally:
            for conn in idle:
                conn.close()
        deadline = time.monotonic() + 5
        while server.open_connections() > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _get(server, "/v1/sessions", {"x-api-key": "k"})[0] == 200
        assert [r.status for r in server.requests][-2:] == [503, 200]


def test_the_recorded_log_is_read_only(recorded: Recorded, served: ApiServer) -> None:
    """No SessionControl behind ``recorder serve``: archive, delete and events.send answer 405, nothing changes."""
    sid = recorded.sid("tool_use")
    client = sdk(served)
    for call in (lambda: client.beta.sessions.archive(sid), lambda: client.beta.sessions.delete(sid),
                 lambda: client.beta.sessions.events.send(sid, events=[
                     {"type": "user.message", "content": [{"type": "text", "text": "hi"}]}])):
        with pytest.raises(anthropic.APIStatusError) as err:
            call()
        assert err.value.status_code == 405 and "read-only" in err.value.message
    assert client.beta.sessions.retrieve(sid).archived_at is None
