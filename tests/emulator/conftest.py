"""Shared fixtures for the emulator tests: one served emulator with every scenario, and an SDK client for it.

Every test talks to the emulator through the installed ``anthropic`` SDK over loopback HTTP (raw ``httpx2`` only
where the point is the bytes on the wire, e.g. heartbeats).
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from recorder.emulator import ApiServer, Emulator
from tests.emulator.support import LONG_EVENTS, SEED, sdk


@pytest.fixture(scope="session")
def standard() -> Iterator[tuple[Emulator, dict[str, str], ApiServer]]:
    """A served emulator with one finished session of every scenario; ``names`` maps scenario → session id.
    Read-only: tests that change faults or add sessions build their own emulator."""
    emu = Emulator(seed=SEED, heartbeat=0.1)
    sids = emu.add_standard_sessions(long_events=LONG_EVENTS)
    names = {emu.scenario(sid): sid for sid in sids}
    with emu.serve() as server:
        yield emu, names, server
    emu.close()


@pytest.fixture
def client(standard: tuple[Emulator, dict[str, str], ApiServer]) -> anthropic.Anthropic:
    return sdk(standard[2])
