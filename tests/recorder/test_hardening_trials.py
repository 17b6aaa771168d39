"""Randomized trials with the fault kinds of issue 14: skewed and late-visible timestamps, hostile events,
looping cursors and SIGTERM, mixed with the network faults of tests/recorder/test_faults.py. The log always ends
exact (byte for byte, with the data faults applied as the API served them) and the audit always tells the truth.
A few trials run with the suite; `-m soak` runs at least 100 (RECORDER_SOAK_TRIALS)."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from recorder.emulator import Emulator
from recorder.emulator.faults import Faults, rewrite_event
from recorder.store import EventStore, Leases, migrate, utcnow
from tests.helpers import assert_stream_invariants
from tests.recorder.support import cli_env, record, run_cli, spawn_cli
from tests.recorder.test_faults import random_faults
from tests.recorder.test_processes import wait_until


def data_faults(rng: random.Random) -> str:
    """A random spec of data faults (applied globally: every list and stream serves a touched event alike)."""
    chosen = rng.sample(["skew", "late", "hostile"], rng.randint(1, 3))
    items = []
    for name in chosen:
        if name == "skew":
            items.append(f"skew={rng.choice([-1, 1]) * rng.randint(5, 600)}")
        elif name == "late":
            items.append(f"late={rng.choice([0.3, 1.0, 2.0])}")
        else:
            items.append("hostile")
    items.append(f"every={rng.choice([5, 7, 11])}")
    return ",".join(items)


def served_truth(emu: Emulator, session_id: str, thread_id: str | None, faults: Faults) -> list[str]:
    """What the API served for a stream (texts, queued events left out), with the data faults applied."""
    return [rewrite_event(text, faults) for text in emu.ground_truth_json(session_id, thread_id)
            if '"processed_at":null' not in text]


def assert_exact_texts(store: EventStore, emu: Emulator, session_ids: list[str], faults: Faults) -> int:
    """Every stream holds exactly what the API served, byte for byte, each event once. In the API's order,
    except under ``late``: a late-visible event is appended when it shows up."""
    total = 0
    for session_id in session_ids:
        for thread_id in [None, *emu.thread_ids(session_id)]:
            want = served_truth(emu, session_id, thread_id, faults)
            got = [e.payload for e in store.stream_events(session_id, thread_id)]
            where = f"{emu.scenario(session_id)} {session_id} thread {thread_id} ({faults.spec()})"
            assert len(got) == len(want), f"{where}: {len(got)} events recorded, {len(want)} served"
            if faults.late is not None and thread_id is None:
                assert sorted(got) == sorted(want), f"{where}: not the served events"
            else:
                for index, (a, b) in enumerate(zip(got, want, strict=True)):
                    assert a == b, f"{where}: event {index} differs"
            if want:
                assert_stream_invariants(store, session_id, thread_id)
            total += len(got)
    return total


def run_data_trial(store: EventStore, seed: int) -> None:
    rng = random.Random(seed)
    emu = Emulator(seed=seed, heartbeat=0.1)
    scenarios = rng.sample(["tool_use", "multi_agent", "interrupts", "unicode", "budget", "errors"], 2)
    sids = [emu.add_session(name) for name in scenarios]
    live = emu.add_session("live", interval=0.01, autostart=False)
    spec = data_faults(rng)
    emu.set_faults(None, spec)
    for sid in [*sids, live]:
        if rng.random() < 0.5:
            emu.set_faults(sid, random_faults(rng))
    mode = rng.choice(["auto", "stream", "poll"])
    with emu.serve() as server:
        emu.start(live)
        report = record(store, server, [*sids, live], follow=True, mode=mode, poll_interval=0.05,
                        page_size=rng.choice([7, 100, 1000]), deadline=90, catchup_interval=0.5)
        assert not report.failed, (seed, spec, [o.error for o in report.failed])
        assert_exact_texts(store, emu, [*sids, live], Faults.parse(spec))
        assert store.runs()[0].outcome == "ok"
    emu.close()


def run_loop_trial(store: EventStore, seed: int) -> None:
    """A looping cursor stops that stream with one line, the run is audited as an error, what was recorded is
    the start of the truth; once the API behaves, the same command completes the log."""
    rng = random.Random(seed)
    emu = Emulator(seed=seed, heartbeat=0.1)
    looping = emu.add_session("long", events=rng.randint(30, 200))
    fine = emu.add_session(rng.choice(["tool_use", "interrupts", "unicode"]))
    emu.set_faults(looping, "loop_cursor")
    faults = Faults()
    with emu.serve() as server:
        started = time.monotonic()
        report = record(store, server, [looping, fine], page_size=rng.choice([3, 7, 10]), deadline=60)
        assert time.monotonic() - started < 30, "the loop was noticed at once"
        [failed] = report.failed
        assert failed.session_id == looping and ("leads back" in failed.error or "nothing new" in failed.error)
        assert "\n" not in failed.error
        run = store.runs()[0]
        assert run.outcome == "error" and looping in run.error
        got = [e.payload for e in store.stream_events(looping, None)]
        assert got == served_truth(emu, looping, None, faults)[: len(got)], "a prefix of the truth"
        assert_exact_texts(store, emu, [fine], faults)
        emu.set_faults(looping, None)
        again = record(store, server, [looping, fine])
        assert not again.failed
        assert_exact_texts(store, emu, [looping, fine], faults)
    emu.close()


def sigterm_trial(db_url: str, seed: int, *, faults: str | None = None) -> None:
    """SIGTERM at a random moment: exit 143 (or 0 if the run had just finished), the audit says so, the
    leases are released; the same command then completes the log exactly."""
    rng = random.Random(seed)
    emu = Emulator(seed=seed, heartbeat=0.1)
    sids = [emu.add_session("long", events=rng.choice([500, 3000])), emu.add_session("multi_agent"),
            emu.add_session("live", interval=0.02, autostart=False)]
    data = data_faults(rng) if rng.random() < 0.5 else None
    if data:
        emu.set_faults(None, data)
    if faults:
        for sid in sids:
            emu.set_faults(sid, faults)
    args = ["record", *sids, "--follow", "--page-size", str(rng.choice([50, 200, 1000])), "--deadline", "120"]
    with emu.serve() as server:
        env = cli_env(server, db_url)
        emu.start(sids[-1])
        victim = spawn_cli(args, env)
        with EventStore(db_url) as store:
            wait_until(lambda: bool(store.runs()), victim, "the run starts")
        time.sleep(rng.uniform(0.0, 2.0))
        victim.send_signal(signal.SIGTERM)
        out, err = victim.communicate(timeout=60)
        with EventStore(db_url) as store:
            [run] = store.runs()
            if victim.returncode == 143:  # (the run may have just finished: then it says ok, truthfully)
                assert run.outcome in ("interrupted", "ok"), run
                if run.outcome == "interrupted":
                    assert run.error == "terminated by SIGTERM", run
                lines = err.strip().splitlines()  # one line; a connection warning may come before it
                assert "SIGTERM" in lines[-1] and "Traceback" not in err, err
                assert all("retrying" in line for line in lines[:-1]), err
            elif victim.returncode == -signal.SIGTERM:
                # Only while the interpreter shuts down (it restores the default handler): after the run ended.
                assert run.outcome == "ok" and '"type": "run"' in out, (out, err)
            else:
                assert victim.returncode == 0 and run.outcome == "ok", (victim.returncode, err)
            leases = Leases(store)
            for sid in sids:
                holder = leases.holder(sid)
                assert holder is None or holder.expires_at <= utcnow(), f"{sid}: lease still held"
        again = run_cli(args, env)
        assert again.returncode == 0, again.stderr
        with EventStore(db_url) as store:
            assert_exact_texts(store, emu, sids, Faults.parse(data))
            outcomes = [r.outcome for r in store.runs()]
            assert outcomes[0] == "ok" and set(outcomes[1:]) <= {"interrupted", "ok"}, outcomes
    emu.close()


def test_data_fault_trials(store: EventStore) -> None:
    for seed in range(2):
        run_data_trial(store, 2000 + seed)


def test_looping_cursor_trial(store: EventStore) -> None:
    run_loop_trial(store, 3000)


def test_sigterm_trial(backend_url: str) -> None:
    sigterm_trial(backend_url, 4000)


@pytest.mark.soak
def test_hardening_trials_soak(sqlite_template, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """At least 100 trials, each of one kind at random: data faults, a looping cursor, or SIGTERM."""
    trials = int(os.environ.get("RECORDER_SOAK_TRIALS", "100"))
    for n in range(trials):
        seed = 20_000 + n
        rng = random.Random(seed)
        db = tmp_path / f"trial{n}.db"
        db.write_bytes(sqlite_template.read_bytes())
        url = f"sqlite:///{db}"
        kind = rng.choices(["data", "loop", "sigterm"], weights=[5, 2, 3])[0]
        try:
            if kind == "sigterm":
                sigterm_trial(url, seed, faults=random_faults(rng) if rng.random() < 0.5 else None)
            else:
                migrate.upgrade(url)
                with EventStore(url) as store:
                    (run_data_trial if kind == "data" else run_loop_trial)(store, seed)
        except AssertionError as err:
            raise AssertionError(f"{kind} trial {seed}: {err}") from err
