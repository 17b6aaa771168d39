"""``record`` and ``sessions`` never seem to disagree about how many events a session has.

``record`` appends per stream: an event on two streams (the session stream and its primary thread, or a
cross-posted subagent event) is stored on each, so it once printed "+174 events" for a session that ``sessions``
lists with 87. Now it labels its count as stream events and prints the session's distinct events in the log,
which is the number ``sessions`` shows.
"""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from recorder.cli import cli
from recorder.emulator import Emulator
from tests.recorder.support import API_KEY


def run(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env)


def test_record_and_sessions_agree(backend_url: str) -> None:
    emu = Emulator(seed=14)
    sids = [emu.add_session("multi_agent"), emu.add_session("tool_use")]
    with emu.serve() as server:
        env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": server.base_url, "RECORDER_DB": backend_url}
        recorded = run(["record", *sids, "--json"], env)
        assert recorded.exit_code == 0, recorded.stderr
        text = run(["record", *sids, "--no-json", "--refresh"], env)
        assert text.exit_code == 0, text.stderr
    emu.close()
    listed = {s["session_id"]: s["events"] for s in json.loads(run(["sessions", "--format", "json"], env).stdout)}
    outcomes = [json.loads(line) for line in recorded.stdout.splitlines()]
    sessions = {o["session_id"]: o for o in outcomes if o["type"] == "session"}
    assert set(sessions) == set(sids)
    assert any(o["events_added"] > listed[sid] for sid, o in sessions.items()), "some events are on two streams"
    for sid, outcome in sessions.items():
        assert outcome["events_in_log"] == listed[sid]
    for line in text.stdout.splitlines():
        if line.startswith(tuple(sids)):
            sid = line.split()[0]
            assert "stream events" in line and f"({listed[sid]:,} distinct events in the log)" in line, line
