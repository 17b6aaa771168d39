"""`recorder demo` (what `make demo` runs): the whole job offline, and safe to run twice."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from recorder.cli import cli
from recorder.emulator.emulator import STANDARD
from recorder.store import EventStore, Lifecycle

SESSIONS = len(STANDARD) + 1  # every standard scenario, and one live session


def test_demo_records_then_shows_a_transcript_and_usage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recorder.db'}"
    first = CliRunner().invoke(cli, ["demo", "--db", url, "--live-interval", "0.01"])
    assert first.exit_code == 0, first.output
    out = first.stdout
    recorded = re.search(r"recorded (\d+) sessions: ([\d,]+) new (stream )?events", out)
    assert recorded and recorded.group(1) == str(SESSIONS) and int(recorded.group(2).replace(",", "")) > 1000
    assert "## Transcript of sesn_" in out and "# Fix the red CI on main" in out and "**Model requests:**" in out
    assert "## Usage by session" in out and "TOTAL" in out
    with EventStore(url) as store:
        sessions = store.sessions()
        assert len(sessions) == SESSIONS
        states = Lifecycle(store).states()
        assert {states[s.session_id].state for s in sessions} <= {"settled", "closed"}, "recorded to its end"
        head = store.head_position()

    second = CliRunner().invoke(cli, ["demo", "--db", url, "--live-interval", "0.01"])
    assert second.exit_code == 0, second.output
    assert re.search(rf"recorded {SESSIONS} sessions: 0 new (stream )?events", second.stdout), second.stdout
    with EventStore(url) as store:
        assert store.head_position() == head
