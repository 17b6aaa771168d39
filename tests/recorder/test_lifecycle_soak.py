"""Randomized lifecycle trials: the service (`record --all --follow --listen`) under API faults and lossy webhooks,
while sessions run, go idle, get new messages, are archived, deleted and created — and the recorder is SIGKILLed
at a random moment and started again. The log always ends exact: every surviving session equals the API's truth;
a deleted one keeps an exact prefix of what it had, and is marked."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from typing import Any

import pytest

from recorder.emulator import Emulator
from recorder.errors import ConfigError
from recorder.store import EventStore, Lifecycle
from tests.recorder.support import assert_exact, cli_env, recorded, run_cli, spawn_cli, truth
from tests.recorder.test_faults import random_faults
from tests.recorder.test_lifecycle import free_port

FINISHED = ["tool_use", "multi_agent", "interrupts", "unicode", "budget", "errors", "confirmation", "custom_tool"]


def lifecycle_trial(db_url: str, seed: int) -> None:
    rng = random.Random(seed)
    emu = Emulator(seed=seed, heartbeat=0.1, file_lag=(0.1, 0.6))
    sids = [emu.add_session(name) for name in rng.sample(FINISHED, rng.randint(2, 4))]
    live = emu.add_session("live", interval=0.02, autostart=False)
    for sid in [*sids, live]:
        if rng.random() < 0.6:
            emu.set_faults(sid, random_faults(rng))
    port = free_port()
    deleted: dict[str, dict[str | None, list[dict[str, Any]]]] = {}
    service = ["record", "--all", "--follow", "--listen", f"127.0.0.1:{port}", "--sweep-interval",
               str(rng.choice([0.5, 2, 600])), "--settle", "0.3", "--concurrency", str(rng.randint(1, 3)),
               "--max-rpm", "0"]
    with emu.serve() as server:
        env = cli_env(server, db_url, ANTHROPIC_WEBHOOK_SIGNING_KEY=emu.webhook_secret)
        emu.configure_webhooks(f"http://127.0.0.1:{port}/webhooks", emu.webhook_secret,
                               rng.choice([None, "drop=2", "duplicate=3", "drop=1,duplicate=2"]))
        emu.start(live)
        victim = spawn_cli([*service, "--deadline", "60"], env)
        time.sleep(rng.uniform(1.2, 2.5))
        changes = rng.sample(["archive", "message", "delete", "create"], rng.randint(1, 4))
        for change in changes:
            target = rng.choice(sids)
            if change == "archive" and target not in deleted:
                emu.archive(target)
            elif change == "message" and target not in deleted and emu.status(target) == "idle":
                with contextlib.suppress(ConfigError):  # an archived session takes no message: the API's answer
                    emu.send_message(target, "and another thing", files=rng.randint(0, 1))
            elif change == "delete" and target not in deleted:
                for sid in [*sids]:
                    if emu.is_live(sid) and not emu.is_finished(sid):
                        emu.wait_until_finished(sid, 30)
                deleted[target] = {t: truth(emu, target, t) for t in [None, *emu.thread_ids(target)]}
                emu.delete(target)
            elif change == "create":
                sids.append(emu.create_session(rng.choice(["tool_use", "multi_agent"]), interval=0.01))
            time.sleep(rng.uniform(0.0, 0.8))
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        for sid in [*sids, live]:
            if sid not in deleted:
                emu.wait_until_finished(sid, 60)
        again = spawn_cli([*service, "--deadline", "4"], env)
        again.wait(60)
        assert again.returncode == 3, again.stderr.read() if again.stderr else ""
        final = run_cli(["record", "--all", "--max-rpm", "0"], env)
        assert final.returncode == 0, final.stderr
    survivors = [sid for sid in [*sids, live] if sid not in deleted]
    with EventStore(db_url) as store:
        assert_exact(store, emu, survivors)
        life = Lifecycle(store)
        for sid, streams in deleted.items():
            for thread_id, want in streams.items():
                got = recorded(store, sid, thread_id)
                # A stream open at the deletion receives session.deleted (in no history): kept, last, once.
                if got and got[-1].get("type") == "session.deleted":
                    got = got[:-1]
                assert all(e.get("type") != "session.deleted" for e in got), f"deleted {sid}: session.deleted twice"
                assert got == want[: len(got)], f"deleted {sid} thread {thread_id}: not a prefix of its history"
            state = life.state(sid)
            if store.has_session(sid) and (state is None or state.state != "closed"):
                assert state is not None and state.state == "deleted", f"deleted {sid} is not marked: {state}"
    emu.close()


def test_one_lifecycle_trial(sqlite_url: str) -> None:
    lifecycle_trial(sqlite_url, 12001)


@pytest.mark.soak
def test_lifecycle_trials_soak(sqlite_template, tmp_path) -> None:
    trials = int(os.environ.get("RECORDER_SOAK_TRIALS", "30"))
    for seed in range(trials):
        db = tmp_path / f"life{seed}.db"
        db.write_bytes(sqlite_template.read_bytes())
        try:
            lifecycle_trial(f"sqlite:///{db}", 12000 + seed)
        except AssertionError as err:
            raise AssertionError(f"lifecycle trial {12000 + seed}: {err}") from err
