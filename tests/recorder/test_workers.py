"""``record --all --follow --workers N``: sessions spread over worker processes, each recorded exactly once."""

from __future__ import annotations

import json
import signal
import time

import pytest

from recorder.emulator import Emulator
from recorder.store import EventStore
from recorder.workers import Summary, in_shard, parse_shard, share, worst_exit
from tests.recorder.support import assert_exact, cli_env, ndjson_lines, run_cli, spawn_cli


def test_the_partition_is_stable_and_covers_every_session() -> None:
    ids = [f"sesn_{n:04d}" for n in range(400)]
    owners = [[i for i in range(3) if in_shard(sid, i, 3)] for sid in ids]
    assert all(len(o) == 1 for o in owners)  # each session has exactly one worker
    counts = [sum(o == [i] for o in owners) for i in range(3)]
    assert min(counts) > 80  # and the workers share them
    assert parse_shard("1/3") == (1, 3) and in_shard("sesn_x", 0, 1)
    assert share(300, 4) == 75 and share(5, 4) == 2 and share(1, 4) == 1


def test_the_summary_takes_the_worst_outcome_and_exit_status() -> None:
    summary = Summary()
    summary.add({"run_id": 1, "outcome": "ok", "sessions": 2, "events_added": 10})
    summary.add({"run_id": 2, "outcome": "deadline", "sessions": 1, "events_added": 5, "deleted": 1})
    assert summary.as_dict(2) == {"type": "run", "run_id": None, "run_ids": [1, 2], "workers": 2,
                                  "outcome": "deadline", "sessions": 3, "events_added": 15, "unchanged": 0,
                                  "deleted": 1}
    assert worst_exit([0, 143, 3]) == 3 and worst_exit([143, 1]) == 1 and worst_exit([0, -9]) == 1
    assert worst_exit([0, 0]) == 0 and worst_exit([130, 143]) == 143


def test_workers_need_all_and_follow(sqlite_url: str) -> None:
    result = run_cli(["record", "sesn_a", "--workers", "2"], {"RECORDER_DB": sqlite_url, "PATH": ""})
    assert result.returncode == 2 and "--workers goes with --all --follow" in result.stderr


def test_two_workers_record_every_event_of_every_session_exactly_once(sqlite_url: str) -> None:
    emu = Emulator(seed=91, heartbeat=0.1)
    finished = [emu.add_session(name) for name in ("multi_agent", "interrupts", "budget", "unicode", "tool_use")]
    finished.append(emu.add_session("long", events=3000))
    live = [emu.add_session("live", interval=0.03, autostart=False) for _ in range(3)]
    sids = [*finished, *live]
    with emu.serve() as server:
        env = cli_env(server, sqlite_url)
        supervisor = spawn_cli(["record", "--all", "--follow", "--workers", "2", "--settle", "0.5",
                                "--sweep-interval", "0.5", "--deadline", "150"], env)
        for sid in live:
            emu.start(sid)
        deadline = time.monotonic() + 120
        with EventStore(sqlite_url) as store:
            while True:
                assert supervisor.poll() is None, supervisor.communicate()
                try:
                    assert_exact(store, emu, sids)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "the workers did not record everything in time"
                    time.sleep(0.5)
            time.sleep(1.5)  # let the last runs settle and print
            supervisor.send_signal(signal.SIGTERM)
            out, err = supervisor.communicate(timeout=60)
            assert supervisor.returncode == 143, err
            assert "Traceback" not in err
            assert_exact(store, emu, sids)
            lines = [json.loads(line) for line in ndjson_lines(out)]
            [run] = [line for line in lines if line["type"] == "run"]
            assert run["workers"] == 2 and run["outcome"] == "interrupted" and len(run["run_ids"]) == 2
            assert run["events_added"] == store.head_position(), "each event was written by exactly one worker"
            by_run: dict[str, set[int | None]] = {}
            for sid in sids:
                by_run[sid] = {e.run_id for e in store.session_events(sid)}
            assert all(len(runs) == 1 for runs in by_run.values()), by_run  # a session belongs to one worker
            assert set().union(*by_run.values()) == set(run["run_ids"])  # and both workers recorded sessions
    emu.close()


@pytest.mark.parametrize("backend_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_workers_on_postgresql_stop_at_the_deadline_with_every_event_once(backend_url: str) -> None:
    """The deadline reaches every worker: each stops, what it stored is exact, and the supervisor says
    ``deadline`` and exits 3 (PostgreSQL: the backend several recorder hosts share)."""
    emu = Emulator(seed=92, heartbeat=0.1)
    sids = [emu.add_session(name) for name in ("tool_use", "mcp", "unicode", "custom_tool")]
    with emu.serve() as server:
        result = run_cli(["record", "--all", "--follow", "--workers", "2", "--settle", "0.3", "--deadline", "12"],
                         cli_env(server, backend_url))
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in ndjson_lines(result.stdout)]
    [run] = [line for line in lines if line["type"] == "run"]
    assert run["workers"] == 2 and run["outcome"] == "deadline" and len(run["run_ids"]) == 2
    with EventStore(backend_url) as store:
        assert_exact(store, emu, sids)
        assert run["events_added"] == store.head_position()
    emu.close()
