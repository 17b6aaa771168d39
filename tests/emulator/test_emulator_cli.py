"""`recorder emulator`: its help documents every scenario and fault; it serves what it prints until Ctrl-C."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest
from click.testing import CliRunner

from recorder.cli import cli
from recorder.emulator import SCENARIOS
from recorder.emulator.command import FAULT_ROWS, parse_scenario
from recorder.emulator.faults import Faults
from recorder.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_help_explains_every_scenario_and_every_fault():
    result = CliRunner().invoke(cli, ["emulator", "--help"], terminal_width=120)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name, scenario in SCENARIOS.items():
        assert f"{name} {scenario.summary.split()[0]}" in text, name
    for field in Faults.__dataclass_fields__:
        assert field in text, field
    for term, _ in FAULT_ROWS:
        assert term in text
    assert "NAME[:COUNT][@FAULTS]" in text and "--faults rate_limit=2,retry_after=0.5" in text


@pytest.mark.parametrize("args, message", [
    (["--scenario", "nope"], "unknown scenario 'nope'"),
    (["--scenario", "tool_use:zero"], "bad count"),
    (["--scenario", "tool_use@explode"], "bad fault 'explode'"),
    (["--faults", "rate_limit=-2"], "bad fault 'rate_limit=-2'"),
])
def test_bad_options_are_usage_errors_with_one_line(args, message):
    result = CliRunner().invoke(cli, ["emulator", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_a_busy_port_is_a_usage_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["emulator", "--port", str(port), "--scenario", "interrupts"])
    assert result.exit_code == 2 and "cannot listen" in result.output


def test_scenario_syntax():
    assert parse_scenario("tool_use") == parse_scenario("tool_use:1")
    request = parse_scenario("long:3@rate_limit=1,retry_after=0.5")
    assert (request.name, request.count, request.faults) == ("long", 3, "rate_limit=1,retry_after=0.5")
    with pytest.raises(ConfigError):
        parse_scenario("tool_use:0")


def test_the_command_serves_what_it_prints_until_interrupted():
    proc = subprocess.Popen([sys.executable, "-m", "recorder", "emulator", "--port", "0", "--seed", "3",
                             "--scenario", "tool_use:2", "--scenario", "interrupts@rate_limit=1,retry_after=0.01"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            lines.append(proc.stdout.readline())
            assert lines[-1], "the emulator exited early"
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
        assert f"export ANTHROPIC_BASE_URL={url}\n" in [line.strip() + "\n" for line in lines]
        listed = [line.split() for line in lines[1:4]]
        assert [row[1] for row in listed] == ["tool_use", "tool_use", "interrupts"]
        client = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        assert sorted(s.id for s in client.beta.sessions.list()) == sorted(row[0] for row in listed)
        with pytest.raises(anthropic.RateLimitError):
            client.beta.sessions.retrieve(listed[2][0])
        assert client.beta.sessions.retrieve(listed[2][0]).status == "idle"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err
