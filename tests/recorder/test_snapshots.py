"""A session's snapshots go to the store only when they differ from the last one its recorder kept (under the
session's lease nobody else keeps them): a follow that retrieves the same session again, or lists the same
threads again, sends nothing; what changed is kept, in order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from recorder.emulator import Emulator
from recorder.ingest.writer import LogWriter
from recorder.store import EventStore
from tests.recorder.support import assert_exact, record


def test_an_unchanged_snapshot_is_not_sent_again(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str | None, str]] = []
    real = LogWriter.snapshots

    async def spy(self: LogWriter, session_id: str, snapshots: Any) -> list[bool]:
        sent.extend((session_id, thread_id, repr(sorted(obj.items()))) for thread_id, obj in snapshots)
        return await real(self, session_id, snapshots)

    monkeypatch.setattr(LogWriter, "snapshots", spy)
    emu = Emulator(seed=85, heartbeat=0.1)
    sid = emu.add_session("multi_agent")
    with emu.serve() as server:
        report = record(store, server, [sid], follow=True, settle=0.3, deadline=60)
    assert not report.failed
    assert_exact(store, emu, [sid])
    repeated = [key for key, count in Counter(sent).items() if count > 1]
    assert sent and not repeated, repeated
    threads = {thread_id for _, thread_id, _ in sent if thread_id is not None}
    assert threads and all(store.latest_snapshot(sid, t) is not None for t in threads)
    assert store.latest_snapshot(sid) is not None
    emu.close()
