"""Wall-clock deadlines hold even when a response never finishes; the next run resumes and completes."""

from __future__ import annotations

import json
import time

import pytest

from recorder.emulator import Emulator
from recorder.store import EventStore
from tests.recorder.support import assert_exact, cli_env, ndjson_lines, record, run_cli


def assert_deadline_exit(result, elapsed: float) -> None:
    assert result.returncode == 3, result.stderr
    assert elapsed < 5.0, f"took {elapsed:.1f} s"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "deadline of 3 s was reached" in lines[0] and "run the same command again to resume" in lines[0]


def test_heartbeat_only_stream(backend_url: str) -> None:
    emu = Emulator(seed=51, heartbeat=0.2)
    live = emu.add_session("live", interval=0.12, autostart=False)  # ~6 s: it outlives the first run
    emu.set_faults(live, "heartbeat_only,on=stream")
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        emu.start(live)
        started = time.monotonic()
        first = run_cli(["record", live, "--mode", "stream", "--follow", "--deadline", "3"], env)
        assert_deadline_exit(first, time.monotonic() - started)
        with EventStore(backend_url) as store:
            partial = store.head_position()  # what the history held when the run began (none if start-up was slow)
            checkpoint = store.checkpoint(live)
            assert checkpoint is None or not checkpoint.complete

        emu.set_faults(live, None)
        second = run_cli(["record", live, "--mode", "stream", "--follow", "--settle", "0.5", "--deadline", "60"],
                         env)
        assert second.returncode == 0, second.stderr
        summary = [json.loads(line) for line in ndjson_lines(second.stdout)]
        assert summary[0]["state"] == "settled" and summary[0]["complete"] is False  # it ended idle
        with EventStore(backend_url) as store:
            assert_exact(store, emu, [live])
            assert store.head_position() > partial
    emu.close()


def test_byte_trickling_list_response(backend_url: str) -> None:
    emu = Emulator(seed=52)
    sid = emu.add_session("multi_agent")
    emu.set_faults(sid, "trickle=0.3,on=list")
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        started = time.monotonic()
        first = run_cli(["record", sid, "--deadline", "3"], env)
        assert_deadline_exit(first, time.monotonic() - started)

        emu.set_faults(sid, None)
        second = run_cli(["record", sid], env)
        assert second.returncode == 0, second.stderr
        with EventStore(backend_url) as store:
            assert_exact(store, emu, [sid])
            outcomes = [r.outcome for r in store.runs()]
            # the first run is audited as "deadline" unless its deadline passed while it was still starting up
            # (then the watchdog stopped it before it began: nothing to audit)
            assert outcomes[0] == "ok" and outcomes[1:] in ([], ["deadline"])
    emu.close()


def test_a_slow_request_is_cut_and_retried_within_the_run(store: EventStore) -> None:
    emu = Emulator(seed=53)
    sid = emu.add_session("tool_use")
    emu.set_faults(sid, "trickle=0.2,times=2,on=list")
    with emu.serve() as server:
        started = time.monotonic()
        report = record(store, server, [sid], request_timeout=0.5, deadline=30)
        assert not report.failed
        assert time.monotonic() - started < 10
        assert_exact(store, emu, [sid])
    emu.close()


@pytest.mark.parametrize("spec", ["rate_limit,retry_after=0.5", "server_error"])
def test_endless_failures_stop_at_the_deadline(store: EventStore, spec: str) -> None:
    from recorder.errors import DeadlineReached

    emu = Emulator(seed=54)
    sid = emu.add_session("mcp")
    emu.set_faults(sid, spec)
    with emu.serve() as server:
        started = time.monotonic()
        with pytest.raises(DeadlineReached):
            record(store, server, [sid], deadline=1.5)
        assert time.monotonic() - started < 3
    emu.close()


def test_the_watchdog_is_disarmed_when_the_command_ends_early(tmp_path) -> None:
    """``record`` run in-process (a library caller, a test's CliRunner) and refused at once must not leave its
    deadline watchdog armed: it would end the caller's whole process (status 3) when the deadline passes."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "from click.testing import CliRunner\n"
        "from recorder.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['record', 'sesn_a', '--all', '--deadline', '0.3', '--db', "
        f"'sqlite:///{tmp_path}/x.db'])\n"
        "assert result.exit_code == 2, result.output\n"
        "time.sleep(1.5)\n"
        "print('still running')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "still running" in done.stdout, (done.returncode, done.stderr[-500:])
