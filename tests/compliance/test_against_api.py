"""`recorder verify --against-api`: what the log lacks or has extra compared with the API, through the SDK."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from recorder.cli import cli
from recorder.emulator import Emulator
from recorder.events import raw_event
from recorder.store import EventStore
from tests.recorder.support import API_KEY, record


def verify(db_url: str, base_url: str, *args: str):  # type: ignore[no-untyped-def]
    env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": base_url}
    return CliRunner().invoke(cli, ["verify", "--db", db_url, "--against-api", *args], env=env)


def test_an_exact_log_matches_the_api(store: EventStore, backend_url: str) -> None:
    emu = Emulator(seed=81)
    sids = [emu.add_session(name) for name in ("multi_agent", "interrupts", "unicode")]
    with emu.serve() as server:
        record(store, server, sids)
        result = verify(backend_url, server.base_url)
        assert result.exit_code == 0, result.output
        assert "the API lists nothing the log lacks" in result.stdout
        streams = sum(1 + len(emu.thread_ids(s)) for s in sids)
        assert f"in {streams} streams of 3 sessions" in result.stdout
    emu.close()


def test_events_the_log_lacks_are_reported(store: EventStore, backend_url: str) -> None:
    emu = Emulator(seed=82, heartbeat=0.2)
    live = emu.add_session("live", interval=0.02, autostart=False)
    with emu.serve() as server:
        emu.start(live)
        time.sleep(0.3)
        record(store, server, [live])  # what existed then
        emu.wait_until_finished(live, timeout=30)
        result = verify(backend_url, server.base_url, "--format", "json")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        kinds = [p for p in report["problems"] if p["kind"] == "api"]
        assert kinds and "the log lacks" in kinds[0]["what"] and kinds[0]["session_id"] == live
        record(store, server, [live])  # catch up: now they agree
        assert verify(backend_url, server.base_url).exit_code == 0
    emu.close()


def test_an_event_the_api_never_sent_is_reported(store: EventStore, backend_url: str) -> None:
    emu = Emulator(seed=83)
    sid = emu.add_session("tool_use")
    with emu.serve() as server:
        record(store, server, [sid])
        forged = {"id": "sevt_forged", "type": "agent.message", "processed_at": "2030-01-01T00:00:00.000000Z",
                  "content": [{"type": "text", "text": "never said"}]}
        store.append([raw_event(forged, sid)])  # appended properly: the chain alone cannot tell
        plain = CliRunner().invoke(cli, ["verify", "--db", backend_url])
        assert plain.exit_code == 0, plain.output
        result = verify(backend_url, server.base_url)
        assert result.exit_code == 1
        assert "the API does not list: sevt_forged" in result.stderr
    emu.close()


def test_a_session_gone_from_the_api_is_a_note(store: EventStore, backend_url: str) -> None:
    emu = Emulator(seed=84)
    sid = emu.add_session("mcp")
    with emu.serve() as server:
        record(store, server, [sid])
    emu.close()
    other = Emulator(seed=85)  # an API that has never heard of the session
    other.add_session("mcp")
    with other.serve() as server:
        result = verify(backend_url, server.base_url)
        assert result.exit_code == 0, result.output
        assert f"session {sid} is not on the API any more" in result.stderr
    other.close()
