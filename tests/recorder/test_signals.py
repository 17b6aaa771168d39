"""Issue 14, signals and ends of runs: SIGTERM is handled like Ctrl-C; a zombie owner holds no lease; a stalled
stream is noticed; `record` prints its JSON at any end. Real processes against the emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from recorder.emulator import Emulator
from recorder.store import EventStore, Lease, Leases, new_owner, utcnow
from tests.recorder.support import assert_exact, cli_env, ndjson_lines, record, run_cli, spawn_cli
from tests.recorder.test_processes import wait_until


def test_sigterm_commits_releases_audits_and_exits_143(backend_url: str) -> None:
    emu = Emulator(seed=81, heartbeat=0.1)
    live = emu.add_session("live", interval=0.05, autostart=False)
    args = ["record", live, "--follow", "--deadline", "90"]
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        emu.start(live)
        victim = spawn_cli(args, env)
        with EventStore(backend_url) as store:
            wait_until(lambda: store.head_position() > 0, victim, "the recorder records live events")
            victim.send_signal(signal.SIGTERM)
            out, err = victim.communicate(timeout=30)
            assert victim.returncode == 143, err
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and "SIGTERM" in lines[0] and "Traceback" not in err, err
            last = json.loads(ndjson_lines(out)[-1])
            assert last["type"] == "run" and last["outcome"] == "interrupted", out
            [run] = store.runs()
            assert run.outcome == "interrupted" and run.error == "terminated by SIGTERM"
            assert run.finished_at is not None
            holder = Leases(store).holder(live)
            assert holder is not None and holder.expires_at <= utcnow(), "the lease was released"
        again = run_cli(args, env)
        assert again.returncode == 0, again.stderr
        with EventStore(backend_url) as store:
            assert_exact(store, emu, [live])
    emu.close()


def test_the_run_line_counts_the_events_of_sessions_still_in_progress_at_sigterm(backend_url: str) -> None:
    """The run's line at SIGTERM counts every event the run committed: those of the sessions already printed and
    those of the session still being followed (it once summed only the printed sessions, so a run interrupted
    mid-session under-reported what it wrote, and `--workers` summed the under-reports)."""
    emu = Emulator(seed=83, heartbeat=0.1)
    done = emu.add_session("tool_use")
    live = emu.add_session("live", interval=0.05, autostart=False)
    args = ["record", "--all", "--follow", "--settle", "0.3", "--sweep-interval", "0.3", "--deadline", "90"]
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        emu.start(live)
        victim = spawn_cli(args, env)
        assert victim.stdout is not None
        first = json.loads(victim.stdout.readline())
        assert first["session_id"] == done, first  # the finished session is printed while the live one runs on
        with EventStore(backend_url) as store:
            wait_until(lambda: store.head_position() > first["events_added"] + 20, victim,
                       "the live session's events are recorded")
            victim.send_signal(signal.SIGTERM)
            out, err = victim.communicate(timeout=30)
            assert victim.returncode == 143, err
            last = json.loads(ndjson_lines(out)[-1])
            assert last["type"] == "run" and last["outcome"] == "interrupted", out
            [run] = store.runs()
            assert run.events_added == store.head_position(), "the audit counts every committed event"
            assert last["events_added"] == store.head_position(), (last, store.head_position())
    emu.close()


def test_a_zombie_owner_does_not_hold_its_sessions(store: EventStore) -> None:
    """A recorder killed but not yet reaped by its parent still 'exists' for kill(pid, 0); its lease is taken
    over at once anyway."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.02)
        owner = new_owner().split(":")
        owner[1] = str(child.pid)
        dead = Leases(store, owner=":".join(owner), ttl=600)
        assert isinstance(dead.acquire("sesn_z"), Lease)
        taken = Leases(store).acquire("sesn_z")
        assert isinstance(taken, Lease) and taken.token == 2
    finally:
        child.wait()


def test_a_stalled_stream_is_caught_up_from_history(store: EventStore) -> None:
    """The stream sends only heartbeats while the session runs to its end: the recorder notices from the
    session's status and history, long before the deadline."""
    emu = Emulator(seed=82, heartbeat=0.05)
    live = emu.add_session("live", interval=0.01, autostart=False, faults="heartbeat_only,on=stream")
    with emu.serve() as server:
        emu.start(live)
        started = time.monotonic()
        report = record(store, server, [live], follow=True, mode="stream", deadline=40, catchup_interval=0.3)
        assert time.monotonic() - started < 30
        assert not report.failed, [o.error for o in report.failed]
        assert report.sessions[0].state in ("settled", "closed")  # followed to its rest, caught up
        assert_exact(store, emu, [live])
    emu.close()


def test_record_prints_each_session_as_it_finishes_and_the_run_at_the_deadline(sqlite_url: str) -> None:
    emu = Emulator(seed=83, heartbeat=0.1)
    done = emu.add_session("tool_use")
    live = emu.add_session("live", interval=1.0, events=500, autostart=False)
    with emu.serve() as server:
        env = cli_env(server, sqlite_url)
        emu.start(live)
        # (the finished session settles within about 4 s, its files listed again after the index lag; the live one,
        # an event a second, outlasts the deadline)
        result = run_cli(["record", done, live, "--follow", "--settle", "1", "--deadline", "8"], env)
        assert result.returncode == 3, result.stderr
        objects = [json.loads(line) for line in ndjson_lines(result.stdout)]
        assert [o["type"] for o in objects] == ["session", "run"], result.stdout
        assert objects[0]["session_id"] == done and objects[0]["state"] in ("settled", "closed")
        assert objects[1]["outcome"] == "deadline" and objects[1]["run_id"] is not None
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    emu.close()


def test_deadline_inf_is_refused_with_one_line(sqlite_url: str) -> None:
    emu = Emulator(seed=84)
    with emu.serve() as server:
        for value in ("inf", "nan"):
            result = run_cli(["record", "--all", "--deadline", value], cli_env(server, sqlite_url))
            assert result.returncode == 2, result.stderr
            assert "not a finite number" in result.stderr and "Traceback" not in result.stderr
    emu.close()
