"""Fixtures for the replay tests: one SQLite event log holding every emulator scenario, recorded as the recorder
records (see ``support.py``), shared read-only by the whole run; and the emulator itself as the ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder.emulator import Emulator
from recorder.events import raw_event
from recorder.store import EventStore
from tests.emulator.support import Reader, sdk
from tests.replay.support import LONG_EVENTS, SEED, record_all, record_session


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


@pytest.fixture(scope="session")
def deleted(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Recorded]:
    """A session deleted while followed, as a follower records it: its history, then the ``session.deleted`` that
    each of its open streams (session and threads) received from the emulator's delete flow. No scenario holds that
    event: a deleted session's history answers 404. ``names`` maps ``"deleted"`` to the session."""
    path = tmp_path_factory.mktemp("deleted") / "log.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    emu = Emulator(seed=SEED, heartbeat=0.05)
    sid = emu.add_session("multi_agent")  # idle: its streams stay open until it is deleted
    threads = emu.thread_ids(sid)
    with EventStore(url) as store:
        record_session(emu, store, sid)
        with emu.serve() as server:
            client = sdk(server)
            readers = {None: Reader(lambda: client.beta.sessions.events.stream(sid))}
            for tid in threads:
                readers[tid] = Reader(lambda tid=tid: client.beta.sessions.threads.events.stream(tid, session_id=sid))
            client.beta.sessions.delete(sid)
            for tid, reader in readers.items():
                reader.join(5)
                assert [e["type"] for e in reader.events] == ["session.deleted"], tid
                store.append([raw_event(e, sid, tid) for e in reader.events])
        yield Recorded(emu, store, url, {"deleted": sid})
    emu.close()


SCENARIOS = ("tool_use", "mcp", "custom_tool", "confirmation", "multi_agent", "errors", "budget", "interrupts",
             "compaction", "unknown_types", "large_results", "unicode", "outcome", "self_hosted", "workflows",
             "error_catalog", "long")


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param
