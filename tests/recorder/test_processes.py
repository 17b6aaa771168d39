"""Real recorder processes: killed at random moments, several at once on the same sessions, taking over from
each other. The log always ends exact."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from recorder.emulator import Emulator
from recorder.store import EventStore, Leases
from tests.recorder.support import assert_exact, cli_env, ndjson_lines, run_cli, spawn_cli


def crash_trial(db_url: str, seed: int, *, faults: str | None = None) -> None:
    """Start a recorder, SIGKILL it at a random moment, run it again: the log must be exact."""
    rng = random.Random(seed)
    emu = Emulator(seed=seed, heartbeat=0.1)
    sids = [emu.add_session("long", events=rng.choice([3000, 12000])), emu.add_session("multi_agent"),
            emu.add_session("live", interval=0.02, autostart=False)]
    if faults:
        for sid in sids:
            emu.set_faults(sid, faults)
    args = ["record", *sids, "--follow", "--settle", "0.5", "--page-size", str(rng.choice([50, 200, 1000])),
            "--deadline", "120"]
    with emu.serve() as server:
        env = cli_env(server, db_url)
        emu.start(sids[-1])
        victim = spawn_cli(args, env)
        time.sleep(rng.uniform(1.0, 3.5))  # interpreter start-up takes ~1 s; kill during the work
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        again = run_cli(args, env)
        assert again.returncode == 0, again.stderr
        with EventStore(db_url) as store:
            assert_exact(store, emu, sids)
            outcomes = [r.outcome for r in store.runs()]
            # The restart ended well; the killed run, if it had begun, either never finished (and says so) or
            # finished just before the signal landed.
            assert outcomes[0] == "ok" and set(outcomes[1:]) <= {"running", "ok"}, outcomes
    emu.close()


@pytest.mark.parametrize("seed", [7001, pytest.param(7002, marks=pytest.mark.soak)])  # more seeds: -m soak
def test_sigkill_at_a_random_moment_then_restart(backend_url: str, seed: int) -> None:
    crash_trial(backend_url, seed)


@pytest.mark.soak
def test_sigkill_trials_soak(sqlite_template, tmp_path) -> None:
    """At least 100 randomized trials: random faults and a SIGKILL at a random moment, then a restart."""
    from tests.recorder.test_faults import random_faults

    trials = int(os.environ.get("RECORDER_SOAK_TRIALS", "100"))
    for seed in range(trials):
        db = tmp_path / f"crash{seed}.db"
        db.write_bytes(sqlite_template.read_bytes())
        rng = random.Random(seed)
        faults = random_faults(rng) if rng.random() < 0.7 else None
        try:
            crash_trial(f"sqlite:///{db}", 9000 + seed, faults=faults)
        except AssertionError as err:
            raise AssertionError(f"crash trial {9000 + seed} (faults {faults}): {err}") from err


@pytest.mark.parametrize("processes", [pytest.param(2, marks=pytest.mark.soak), 4])  # 2 as well: -m soak
def test_concurrent_recorders_on_the_same_sessions(backend_url: str, processes: int) -> None:
    emu = Emulator(seed=60 + processes, heartbeat=0.1)
    finished = [emu.add_session(name) for name in ("multi_agent", "interrupts", "budget", "unicode")]
    finished.append(emu.add_session("long", events=6000))
    live = emu.add_session("live", interval=0.02, autostart=False)
    sids = [*finished, live]
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        emu.start(live)
        args = ["record", *sids, "--follow", "--settle", "0.5", "--page-size", "300", "--deadline", "120"]
        workers = [spawn_cli(args, env) for _ in range(processes)]
        outputs = [worker.communicate(timeout=150) for worker in workers]
        for worker, (_, stderr) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, stderr
        with EventStore(backend_url) as store:
            assert_exact(store, emu, sids)
        added = [sum(json.loads(line)["events_added"] for line in ndjson_lines(out)
                     if json.loads(line)["type"] == "session") for out, _ in outputs]
        with EventStore(backend_url) as store:
            assert sum(added) == store.head_position(), "each event was written by exactly one recorder"
    emu.close()


def test_a_killed_workers_session_is_picked_up_by_another(backend_url: str) -> None:
    """A waits on a live session holding its lease; B waits for the lease; A is killed while recording; B takes
    over and records the session to its end."""
    emu = Emulator(seed=70, heartbeat=0.1)
    live = emu.add_session("live", interval=0.05, autostart=False)
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        # Not started yet, the session sits idle: a long --settle keeps the first worker on it.
        first = spawn_cli(["record", live, "--follow", "--settle", "60", "--deadline", "90"], env)
        with EventStore(backend_url) as store:
            leases = Leases(store)
            wait_until(lambda: leases.holder(live) is not None, first, "the first worker takes the lease")
            second = spawn_cli(["record", live, "--follow", "--settle", "1", "--deadline", "90", "--verbose"], env)
            assert second.stderr is not None
            notice = second.stderr.readline()  # blocks until the second worker reports
            assert "waiting for the lease" in notice, notice
            emu.start(live)
            wait_until(lambda: store.head_position() > 0, first, "the first worker records live events")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        out, err = second.communicate(timeout=90)
        assert second.returncode == 0, err
        [session] = [json.loads(line) for line in ndjson_lines(out) if json.loads(line)["type"] == "session"]
        assert session["state"] == "settled"
        with EventStore(backend_url) as store:
            assert_exact(store, emu, [live])
            recorded_by = {e.run_id for e in store.session_events(live)}
            assert len(recorded_by) == 2, "both workers wrote part of the session"
    emu.close()


def wait_until(condition, process, what: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the worker exited before {what}"
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)
