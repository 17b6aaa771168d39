"""Hostile and mistaken command-line input: one line on stderr, the right exit status, never a traceback.

Each case is a way a user (or a script) really got a traceback, or silently got something other than what they
typed: ``nan`` taken as a number, ``inf`` as a deadline, ports past 65535, durations that overflow dates, database
URLs too long for a file name or a host name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.cli import cli

LONG = "x" * 100_000

# (arguments, expected exit status); "{db}" is replaced by a migrated SQLite log.
CASES: list[tuple[list[str], int]] = [
    (["usage", "--db", "{db}", "--since", "99999999d"], 2),
    (["usage", "--db", "{db}", "--until", "99999999999w"], 2),
    (["tools", "--db", "{db}", "--since", "1e400d"], 2),
    (["latency", "--db", "{db}", "--since", "99999999d"], 2),
    (["analytics", "report", "--db", "{db}", "--since", "99999999d", "-o", "-"], 2),
    (["prune", "--db", "{db}", "--older-than", "99999999999999999d", "--dry-run"], 2),
    (["prune", "--db", "{db}", "--older-than", "9" * 5000 + "d", "--dry-run"], 2),
    (["sessions", "--db", "sqlite:///" + LONG], 2),
    (["sessions", "--db", LONG], 2),
    (["sessions", "--db", "postgresql://" + LONG], 2),
    (["verify", "--db", "postgresql://u@" + "h" * 300 + "/db"], 2),
    (["sessions", "--db", "sqlite:///" + "d" * 300 + "/x.db"], 2),
    (["serve", "--db", "{db}", "--port", "99999"], 2),
    (["serve", "--db", "{db}", "--port", "-1"], 2),
    (["serve", "--db", "{db}", "--heartbeat", "nan"], 2),
    (["serve", "--db", "{db}", "--speed", "nan"], 2),
    (["emulator", "--port", "99999"], 2),
    (["emulator", "--interval", "nan"], 2),
    (["emulator", "--heartbeat", "nan"], 2),
    (["emulator", "--heartbeat", "inf"], 2),
    (["replay", "--db", "{db}", "sesn_x", "--speed", "nan"], 2),
    (["replay", "--db", "{db}", "sesn_x", "--speed", "inf"], 2),
    (["replay", "--db", "{db}", "sesn_x", "--max-gap", "nan"], 2),
    (["record", "--db", "{db}", "sesn_x", "--deadline", "nan"], 2),
    (["record", "--db", "{db}", "sesn_x", "--deadline", "inf"], 2),
    (["record", "--db", "{db}", "sesn_x", "--deadline", "1e400"], 2),
    (["record", "--db", "{db}", "sesn_x", "--request-timeout", "nan"], 2),
    (["record", "--db", "{db}", "sesn_x", "--poll-interval", "inf"], 2),
    (["record", "--db", "{db}", "sesn_x", "--lease-seconds", "nan"], 2),
    (["verify", "--db", "{db}", "--deadline", "nan"], 2),
    (["demo", "--db", "{db}", "--live-interval", "nan"], 2),
    (["transcript", "--db", "{db}", "sesn_x", "--until", "9999999999-01-01T00:00:00Z"], 2),
    (["record", "--db", "{db}", "sesn_x", "--lease-seconds", "1e300"], 2),
    (["record", "--db", "{db}", "sesn_x", "--request-timeout", "1e300"], 2),
    (["record", "--db", "{db}", "sesn_x", "--deadline", "1e300"], 2),
    (["verify", "--db", "{db}", "--workers", "99999999"], 2),
    (["db", "downgrade", "--db", "{db}", "nonexistent", "--yes"], 1),
    (["db", "upgrade", "--db", "{db}", "--revision", "nonexistent"], 1),
    (["sessions", "--db", "sqlite:////"], 2),
    (["sessions", "--db", "sqlite:///{dir}"], 2),
    (["verify", "--db", "sqlite:///{dir}"], 2),
    (["sessions", "--db", "postgresql://postgres@127.0.0.1:99999/x"], 1),
    (["no-such-command"], 2),
    (["record", "--db", "{db}"], 2),
    (["prune", "--db", "{db}"], 2),
]


@pytest.mark.parametrize(("args", "status"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line(args: list[str], status: int, sqlite_url: str, tmp_path: Path) -> None:
    argv = [sqlite_url if a == "{db}" else a.replace("{dir}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == status, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("recorder: "), lines
    assert len(lines[0]) < 400, lines[0][:400]


def test_a_tiny_speed_waits_in_slices_instead_of_overflowing_sleep() -> None:
    """``replay --speed 1e-300`` is legal (it waits, practically forever); it once died in ``sleep(1e300)``."""
    from datetime import datetime, timedelta

    from recorder.replay.pacing import MAX_SLEEP, paced

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        if len(slept) == 3:
            raise KeyboardInterrupt
        slept.append(seconds)
        now[0] += seconds

    base = datetime(2026, 1, 1)
    with pytest.raises(KeyboardInterrupt):
        list(paced([base, base + timedelta(seconds=100)], lambda t: t, speed=1e-310, clock=lambda: now[0],
                   sleep=sleep))
    assert slept == [MAX_SLEEP] * 3


def test_a_bad_secret_pattern_stops_record_before_it_starts(sqlite_url: str) -> None:
    result = CliRunner().invoke(cli, ["record", "--db", sqlite_url, "sesn_x"],
                                env={"RECORDER_SECRET_PATTERNS": "([", "ANTHROPIC_API_KEY": "x",
                                     "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 2
    assert result.stderr.startswith("recorder: RECORDER_SECRET_PATTERNS: not a regular expression")
    assert len(result.stderr.splitlines()) == 1
