"""Network faults never cost an event or add one: the log ends exact whatever the API does on the way."""

from __future__ import annotations

import os
import random
import time

import pytest

from recorder.emulator import Emulator
from recorder.store import EventStore
from tests.recorder.support import assert_exact, record

POLL_FAULTS = {
    "rate_limited": "rate_limit=3,retry_after=0.05",
    "server_errors": "server_error=4",
    "overloaded": "overloaded=3,retry_after=0.05",
    "cut_mid_event": "drop_after=7,times=4,on=list",
    "overlapping_pages": "duplicate=5,on=list",
    "slow_first_byte": "slow_first_byte=0.2,times=3",
}


@pytest.mark.parametrize("spec", POLL_FAULTS.values(), ids=POLL_FAULTS.keys())
def test_polling_through_faults(store: EventStore, spec: str) -> None:
    emu = Emulator(seed=41, heartbeat=0.2)
    sids = [emu.add_session("multi_agent"), emu.add_session("long", events=2600), emu.add_session("interrupts")]
    for sid in sids:
        emu.set_faults(sid, spec)
    with emu.serve() as server:
        report = record(store, server, sids, page_size=500)
        assert not report.failed, [o.error for o in report.failed]
        assert_exact(store, emu, sids)
        faulted = [r for r in server.requests if r.faults]
        assert faulted, "the fault was applied"
        if "rate_limit" in spec or "server_error" in spec or "overloaded" in spec:
            assert {r.status for r in faulted} & {429, 500, 529}
    emu.close()


def test_retry_after_is_honoured(store: EventStore) -> None:
    emu = Emulator(seed=42)
    sid = emu.add_session("mcp")
    emu.set_faults(sid, "rate_limit=2,retry_after=0.4")
    with emu.serve() as server:
        started = time.monotonic()
        record(store, server, [sid])
        assert time.monotonic() - started >= 0.8, "two 429s asking for 0.4 s each"
        assert_exact(store, emu, [sid])
        statuses = [r.status for r in server.requests if r.session_id == sid]
        assert statuses[:3] == [429, 429, 200]
    emu.close()


STREAM_FAULTS = {
    "dropped_mid_event": "drop_after=4,times=5,on=stream",
    "ended_silently": "end_after=3,times=5,on=stream",
    "duplicated": "duplicate=2,on=stream",
    "errors_on_connect": "server_error=2,on=stream",
}


@pytest.mark.parametrize("spec", STREAM_FAULTS.values(), ids=STREAM_FAULTS.keys())
def test_streaming_through_faults(store: EventStore, spec: str) -> None:
    emu = Emulator(seed=43, heartbeat=0.2)
    live = emu.add_session("live", interval=0.02, autostart=False)
    emu.set_faults(live, spec)
    with emu.serve() as server:
        emu.start(live)
        report = record(store, server, [live], follow=True, mode="stream", deadline=60, settle=0.5)
        assert not report.failed, [o.error for o in report.failed]
        assert report.sessions[0].state == "settled"
        assert_exact(store, emu, [live])
        streams = [r for r in server.requests if r.path.endswith("/stream")]
        if "times=5" in spec:
            assert len(streams) > 3, "the recorder reconnected after each drop"
    emu.close()


# ------------------------------------------------------------------------------ randomized trials

FAULT_MENU = [
    "rate_limit={n},retry_after=0.02",
    "server_error={n}",
    "overloaded={n},retry_after=0.01",
    "drop_after={n},times={k},on=list",
    "drop_after={n},times={k},on=stream",
    "end_after={n},times={k},on=stream",
    "duplicate={n}",
    "slow_first_byte=0.05,times={k}",
]


def random_faults(rng: random.Random) -> str:
    chosen = rng.sample(FAULT_MENU, rng.randint(1, 3))
    spec = ",".join(item.format(n=rng.randint(1, 6), k=rng.randint(1, 4)) for item in chosen)
    # several shaping faults share one `times`/`on`: keep the last of each key
    items = dict(part.split("=", 1) if "=" in part else (part, "") for part in spec.split(","))
    return ",".join(f"{key}={value}" if value else key for key, value in items.items())


def run_trial(store: EventStore, seed: int) -> None:
    rng = random.Random(seed)
    emu = Emulator(seed=seed, heartbeat=0.1)
    scenarios = rng.sample(["tool_use", "multi_agent", "interrupts", "unicode", "budget", "errors"], 2)
    sids = [emu.add_session(name) for name in scenarios]
    live = emu.add_session("live", interval=0.01, autostart=False)
    for sid in [*sids, live]:
        emu.set_faults(sid, random_faults(rng))
    mode = rng.choice(["auto", "stream", "poll"])
    with emu.serve() as server:
        emu.start(live)
        report = record(store, server, [*sids, live], follow=True, mode=mode, poll_interval=0.05,
                        page_size=rng.choice([7, 100, 1000]), deadline=90, settle=rng.choice([0.2, 0.5, 1.0]))
        assert not report.failed, (seed, [o.error for o in report.failed])
        assert_exact(store, emu, [*sids, live])
    emu.close()


def test_randomized_fault_trials(store: EventStore) -> None:
    for seed in range(3):
        run_trial(store, 1000 + seed)


@pytest.mark.soak
def test_randomized_fault_trials_soak(sqlite_url: str, tmp_path) -> None:
    from recorder.store import migrate

    trials = int(os.environ.get("RECORDER_SOAK_TRIALS", "100"))
    for seed in range(trials):
        url = f"sqlite:///{tmp_path / f'trial{seed}.db'}"
        migrate.upgrade(url)
        with EventStore(url) as store:
            try:
                run_trial(store, 5000 + seed)
            except AssertionError as err:
                raise AssertionError(f"fault trial {5000 + seed}: {err}") from err
