"""Fixtures for the replay tests: one SQLite event log holding every emulator scenario, recorded as the recorder
records (see ``support.py``), shared read-only by the whole run; and the emulator itself as the ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder.emulator import Emulator
from recorder.store import EventStore
from tests.replay.support import LONG_EVENTS, SEED, record_all


@dataclass
class Recorded:
    emu: Emulator
    store: EventStore
    url: str
    names: dict[str, str]  # scenario -> session id

    def sid(self, scenario: str) -> str:
        return self.names[scenario]


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Recorded]:
    path = tmp_path_factory.mktemp("replay") / "log.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    emu = Emulator(seed=SEED, heartbeat=0.1)
    sids = emu.add_standard_sessions(long_events=LONG_EVENTS)
    with EventStore(url) as store:
        record_all(emu, store)
        yield Recorded(emu, store, url, {emu.scenario(sid): sid for sid in sids})
    emu.close()


SCENARIOS = ("tool_use", "mcp", "custom_tool", "confirmation", "multi_agent", "errors", "budget", "interrupts",
             "compaction", "unknown_types", "large_results", "unicode", "outcome", "self_hosted", "workflows",
             "error_catalog", "long")


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param
