"""``recorder transcript``, ``recorder replay`` and ``recorder serve`` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from recorder.emulator.scenarios import ONE_HOUR_CACHE_WRITES, REFUSAL
from recorder.replay.pacing import paced, schedule
from recorder.replay.timeline import read_timeline
from tests.replay.conftest import Recorded

USAGE_FIELDS = ("model_requests", "input_tokens", "output_tokens", "cache_read_input_tokens",
                "cache_creation_input_tokens", "list_cost")
TOOL_FIELDS = ("id", "name", "kind", "input", "thread_id", "result_id", "is_error", "started_at", "finished_at",
               "duration_ms")
AGREED_TOOL_FIELDS = (*TOOL_FIELDS, "result_type", "policy", "judgement", "reason_code", "denied_by")
AGREED_USAGE_FIELDS = ("grader_input_tokens", "grader_output_tokens", "grader_cache_read_input_tokens",
                       "grader_cache_creation_input_tokens", "web_search_requests", "web_fetch_requests",
                       "active_seconds", "cache_creation_5m_input_tokens", "cache_creation_1h_input_tokens")
OUTCOME_FIELDS = ("iteration", "result", "explanation", "grader_input_tokens", "grader_output_tokens",
                  "grader_cache_read_input_tokens", "grader_cache_creation_input_tokens", "duration_ms")


def run(recorded: Recorded, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--db", recorded.url])


def test_transcript_formats_to_stdout_and_file(recorded: Recorded, tmp_path: Path) -> None:
    sid = recorded.sid("tool_use")
    md = run(recorded, "transcript", sid)
    assert md.exit_code == 0, md.output
    assert md.output.startswith("# Fix the red CI on main\n") and "↳ bash result: " in md.output
    text = run(recorded, "transcript", sid, "--format", "text")
    assert text.exit_code == 0 and "\x1b[" not in text.output and "User" in text.output
    coloured = run(recorded, "transcript", sid, "--format", "text", "--color")
    assert "\x1b[1;36mUser\x1b[0m" in coloured.output
    out = tmp_path / "t.html"
    html = run(recorded, "transcript", sid, "--format", "html", "-o", str(out))
    assert html.exit_code == 0 and html.output == ""
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert [p.name for p in tmp_path.iterdir()] == ["t.html"]  # no temporary file left behind


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_json_transcript_fields_are_the_contract(recorded: Recorded) -> None:
    sid = recorded.sid("mcp")
    result = run(recorded, "transcript", sid, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["format"] == "recorder.transcript/1" and doc["session_id"] == sid
    assert all(name in doc["usage"] for name in USAGE_FIELDS)
    assert doc["tool_calls"] and all(tuple(call)[:len(TOOL_FIELDS)] == TOOL_FIELDS for call in doc["tool_calls"])
    assert {call["kind"] for call in doc["tool_calls"]} == {"mcp"}
    assert [call["is_error"] for call in doc["tool_calls"]].count(True) == 1
    ends = [e for e in doc["timeline"] if e["type"] == "span.model_request_end"]
    assert doc["usage"]["model_requests"] == len(ends) == len(doc["model_requests"])
    assert doc["events"] == len(doc["timeline"])


def test_json_usage_agrees_with_the_raw_events_for_every_scenario(recorded: Recorded, scenario: str) -> None:
    sid = recorded.sid(scenario)
    doc = json.loads(run(recorded, "transcript", sid, "--format", "json").output)
    seen, totals = set(), dict.fromkeys(USAGE_FIELDS[:5], 0)
    for thread_id in [None, *recorded.emu.thread_ids(sid)]:
        for event in recorded.emu.ground_truth(sid, thread_id):
            if event["type"] == "span.model_request_end" and event["id"] not in seen:
                seen.add(event["id"])
                totals["model_requests"] += 1
                for name in USAGE_FIELDS[1:5]:
                    totals[name] += event["model_usage"][name]
    assert {name: doc["usage"][name] for name in totals} == totals


def test_transcript_until_and_thread(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    timeline = list(read_timeline(recorded.store, sid))
    cut = timeline[20]
    doc = json.loads(run(recorded, "transcript", sid, "--format", "json", "--until", cut.event_id).output)
    assert [e["id"] for e in doc["timeline"]] == [e.event_id for e in timeline[:21]]
    assert doc["until"] == {"event_id": cut.event_id}
    child = recorded.emu.thread_ids(sid)[3]
    doc = json.loads(run(recorded, "transcript", sid, "--format", "json", "--thread", child).output)
    assert {e["thread_id"] for e in doc["timeline"]} == {child} and doc["view"] == child


def test_errors_are_one_line_with_the_right_status(recorded: Recorded) -> None:
    sid = recorded.sid("tool_use")
    missing = run(recorded, "transcript", "sesn_missing")
    assert missing.exit_code == 1 and missing.output.count("\n") == 1 and "not in the log" in missing.output
    bad_until = run(recorded, "transcript", sid, "--until", "sevt_nope")
    assert bad_until.exit_code == 1 and "sevt_nope" in bad_until.output
    bad_time = run(recorded, "transcript", sid, "--until", "2026-99-99")
    assert bad_time.exit_code == 2 and "--until" in bad_time.output
    bad_thread = run(recorded, "replay", sid, "--thread", "sthr_nope", "--speed", "0")
    assert bad_thread.exit_code == 1 and "sthr_nope" in bad_thread.output
    assert run(recorded, "replay", sid, "--speed", "-1").exit_code == 2
    assert run(recorded, "transcript", sid, "--format", "pdf").exit_code == 2


def test_replay_ndjson_is_every_event_once_as_delivered(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    result = run(recorded, "replay", sid, "--speed", "0", "--format", "ndjson")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [e.payload for e in read_timeline(recorded.store, sid)]
    session = run(recorded, "replay", sid, "--speed", "0", "--format", "ndjson", "--thread", "session").output
    assert [json.loads(line) for line in session.splitlines()] == recorded.emu.ground_truth(sid)


def test_replay_text_one_line_per_event(recorded: Recorded) -> None:
    sid = recorded.sid("interrupts")
    result = run(recorded, "replay", sid, "--speed", "0")
    lines = result.output.splitlines()
    assert len(lines) == sum(1 for _ in read_timeline(recorded.store, sid))
    assert sum("user.interrupt  User interrupted" in line for line in lines) == 2


def test_pacing_waits_the_recorded_gaps_scaled() -> None:
    from datetime import datetime, timedelta

    base = datetime(2026, 1, 1)
    times = [base, base + timedelta(seconds=2), base + timedelta(seconds=2), base + timedelta(seconds=30),
             base + timedelta(seconds=10), None]
    assert schedule(times, speed=2) == [0, 1, 1, 15, 15, 15]
    assert schedule(times, speed=1, max_gap=5) == [0, 2, 2, 7, 7, 7]
    assert schedule(times, speed=0) == [0] * 6
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    out = list(paced(times, lambda t: t, speed=2, clock=lambda: now[0], sleep=sleep))
    assert out == times and slept == [1.0, 14.0]
    slept.clear()
    list(paced(times, lambda t: t, speed=0, clock=lambda: now[0], sleep=sleep))
    assert slept == []


def test_serve_command_serves_the_log(recorded: Recorded) -> None:
    env = {**os.environ, "RECORDER_DB": recorded.url}
    process = subprocess.Popen([sys.executable, "-m", "recorder", "serve", "--port", "0", "--speed", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        assert "recorded session(s) from the event log on http://127.0.0.1:" in first, first
        base_url = first.split(" on ", 1)[1].split()[0]
        client = anthropic.Anthropic(api_key="x", base_url=base_url, max_retries=0)
        sid = recorded.sid("custom_tool")
        assert [e.id for e in client.beta.sessions.events.list(sid)] == \
            [e["id"] for e in recorded.emu.ground_truth(sid)]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, process.stderr.read()  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------- against the analytics reports


@pytest.fixture(scope="module")
def analytics_db(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("analytics") / "analytics.duckdb")
    result = CliRunner().invoke(cli, ["usage", "--db", recorded.url, "--analytics-db", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    return path


def test_json_transcript_agrees_with_the_tools_and_usage_reports(recorded: Recorded, analytics_db: str,
                                                                 scenario: str) -> None:
    sid = recorded.sid(scenario)
    doc = json.loads(run(recorded, "transcript", sid, "--format", "json").output)
    tools = CliRunner().invoke(cli, ["tools", sid, "--db", recorded.url, "--analytics-db", analytics_db,
                                     "--no-update", "--format", "json"])
    assert tools.exit_code == 0, tools.output
    theirs = {call["id"]: {name: call[name] for name in AGREED_TOOL_FIELDS} for call in json.loads(tools.output)}
    ours = {call["id"]: {name: call[name] for name in AGREED_TOOL_FIELDS} for call in doc["tool_calls"]}
    assert ours == theirs
    usage = CliRunner().invoke(cli, ["usage", "--by", "session", "--db", recorded.url, "--analytics-db", analytics_db,
                                     "--no-update", "--format", "json"])
    row = next(r for r in json.loads(usage.output) if r["session_id"] == sid)
    names = (*USAGE_FIELDS, *AGREED_USAGE_FIELDS)
    assert {name: doc["usage"][name] for name in names} == {name: row[name] for name in names}
    outcomes = CliRunner().invoke(cli, ["outcomes", sid, "--db", recorded.url, "--analytics-db", analytics_db,
                                        "--no-update", "--format", "json"])
    assert outcomes.exit_code == 0, outcomes.output
    theirs_o = [(r["outcome_id"], r["description"], *(r[n] for n in OUTCOME_FIELDS))
                for r in json.loads(outcomes.output) if r["iteration"] is not None]
    ours_o = [(o["outcome_id"], o["description"], *(i[n] for n in OUTCOME_FIELDS))
              for o in doc["outcomes"] for i in o["iterations"]]
    assert ours_o == theirs_o


# ----------------------------------------------------------------------------- issue 13: the whole vocabulary


def _report(recorded: Recorded, analytics_db: str, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", recorded.url, "--analytics-db", analytics_db, "--no-update",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _distinct(recorded: Recorded, sid: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for thread_id in [None, *recorded.emu.thread_ids(sid)]:
        for event in recorded.emu.ground_truth(sid, thread_id):
            out.setdefault(event["id"] or json.dumps(event, sort_keys=True), event)
    return out


def test_self_hosted_session_acceptance(recorded: Recorded, analytics_db: str) -> None:
    """Self-hosted tools, two grader iterations, web searches, 1-hour cache writes and a refusal."""
    sid = recorded.sid("self_hosted")
    events = list(_distinct(recorded, sid).values())

    # tools pairs each self-hosted call with the client's user.tool_result
    answers = {e["tool_use_id"]: e for e in events if e["type"] == "user.tool_result"}
    calls = {c["id"]: c for c in _report(recorded, analytics_db, "tools", sid)}
    assert len(answers) == 4
    for use_id, answer in answers.items():
        assert (calls[use_id]["result_id"], calls[use_id]["is_error"], calls[use_id]["result_type"]) == (
            answer["id"], answer["is_error"], "user.tool_result")
        assert calls[use_id]["duration_ms"] > 0
    assert [c["is_error"] for c in calls.values() if c["result_type"] == "user.tool_result"] == [
        True, False, False, False]

    # usage: the grader sums and the session.usage fields, exactly
    [row] = [r for r in _report(recorded, analytics_db, "usage", "--by", "session") if r["session_id"] == sid]
    ends = [e for e in events if e["type"] == "span.outcome_evaluation_end"]
    grader = {f"grader_{t}": sum(e["usage"][t] for e in ends) for t in
              ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")}
    assert grader == {"grader_input_tokens": 4700, "grader_output_tokens": 235,
                      "grader_cache_read_input_tokens": 2700, "grader_cache_creation_input_tokens": 300}
    assert {k: row[k] for k in grader} == grader
    latest = max((e for e in events if e["type"] == "session.usage"), key=lambda e: e["processed_at"])["usage"]
    assert {k: row[k] for k in AGREED_USAGE_FIELDS[4:]} == {
        "web_search_requests": 2, "web_fetch_requests": 0, "active_seconds": latest["active_seconds"],
        "cache_creation_5m_input_tokens": latest["cache_creation"]["ephemeral_5m_input_tokens"],
        "cache_creation_1h_input_tokens": ONE_HOUR_CACHE_WRITES}
    table = CliRunner().invoke(cli, ["usage", "--db", recorded.url, "--analytics-db", analytics_db, "--no-update"])
    assert "grader in" in table.output and "cache write 1h" in table.output

    # the Markdown transcript shows the refusal's category and explanation
    md = run(recorded, "transcript", sid).output
    assert f"refusal category: {REFUSAL[0]}" in md and REFUSAL[1] in md
    assert "[image: image/png, " in md and "[document: spec.pdf, application/pdf, " in md

    # outcomes: the rubric's description, each iteration's verdict, explanation, grader tokens, duration
    rows = _report(recorded, analytics_db, "outcomes", sid)
    assert [(r["iteration"], r["result"], r["grader_input_tokens"]) for r in rows] == [
        (0, "needs_revision", 2100), (1, "satisfied", 2600)]
    assert all(r["description"].startswith("The upload endpoint") and r["duration_ms"] > 0 for r in rows)
    html = run(recorded, "transcript", sid, "--format", "html").output
    assert "needs_revision" in html.split("</header>")[0] and "Oversized files get 500" in html


def test_tool_stats_split_denials_and_show_auto_judgements(recorded: Recorded, analytics_db: str) -> None:
    sid = recorded.sid("workflows")
    stats = {r["name"]: r for r in _report(recorded, analytics_db, "tools", sid, "--stats")}
    assert (stats["bash"]["denied_by_user"], stats["bash"]["denied_by_policy"], stats["bash"]["auto_deny"]) == (
        1, 1, 1)
    assert (stats["read"]["auto_allow"], stats["read"]["denied_by_policy"]) == (1, 0)


def test_cross_posted_copies_count_once(recorded: Recorded, analytics_db: str) -> None:
    """A child's blocking event is in the session stream (``session_thread_id`` set) and in the thread's stream
    (without): same id, different bytes, one call everywhere."""
    sid = recorded.sid("workflows")
    emu = recorded.emu
    session_copy = {e["id"]: e for e in emu.ground_truth(sid) if e.get("type") == "agent.custom_tool_use"}
    [use_id] = session_copy
    [thread_copy] = [e for t in emu.thread_ids(sid) for e in emu.ground_truth(sid, t) if e["id"] == use_id]
    assert "session_thread_id" in session_copy[use_id] and "session_thread_id" not in thread_copy
    calls = [c for c in _report(recorded, analytics_db, "tools", sid) if c["name"] == "deploy"]
    assert len(calls) == 1 and calls[0]["result_id"] is not None and calls[0]["thread_id"] == thread_copy.get(
        "session_thread_id", calls[0]["thread_id"])
    doc = json.loads(run(recorded, "transcript", sid, "--format", "json").output)
    assert doc["event_types"]["agent.custom_tool_use"] == 1
    assert doc["event_types"]["user.custom_tool_result"] == 1 and doc["event_types"]["user.tool_confirmation"] == 1
    [deploy] = [c for c in doc["tool_calls"] if c["name"] == "deploy"]
    assert deploy["thread_id"] == calls[0]["thread_id"] != doc["threads"][0]["thread_id"]
