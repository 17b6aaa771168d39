"""What a backfill costs per session: API requests and database transactions (issue 15).

Before: ``record --all`` asked ``sessions.retrieve`` for every session it had just read in ``sessions.list`` (the
same object), and a finished ``tool_use`` session (two streams, three output files) cost 14 transactions: one per
snapshot, one per file, the lifecycle state and the lease release apart, a resume-time read for a stream never
recorded. Then 9: a checkpoint read per stream and a read of the archived file ids apart. Now 7: what the log holds
of the session (every stream's checkpoint, the archived file ids) is one read, right after its lease is taken.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from recorder.emulator import ApiServer, Emulator
from recorder.record import RecordOptions, clients_for, make_client, run_recording
from recorder.store import EventStore
from tests.recorder.support import API_KEY, FAST_RETRY, assert_exact

SESSIONS = 3


@pytest.fixture(scope="module")
def tool_use() -> Iterator[tuple[Emulator, list[str], ApiServer]]:
    emu = Emulator(seed=5)
    sids = [emu.add_session("tool_use") for _ in range(SESSIONS)]
    with emu.serve() as server:
        yield emu, sids, server
    emu.close()


def _record(store: EventStore, server: ApiServer, sids: list[str], discover: bool,
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, Counter[str]]:
    """Record; returns the transactions begun (the run's own start and finish left out) and the requests made."""
    requests: Counter[str] = Counter()

    async def count(request: Any) -> None:
        parts = request.url.path.strip("/").split("/")
        requests["retrieve" if parts[1:2] == ["sessions"] and len(parts) == 3 else parts[-1]] += 1

    begun = [0]

    def counted(door: Callable[[], Any]) -> Callable[[], Any]:
        def transaction() -> Any:
            begun[0] += 1
            return door()

        return transaction

    # Every store module opens its transactions through these two doors of the store.
    monkeypatch.setattr(store, "read", counted(store.read))
    monkeypatch.setattr(store, "write", counted(store.write))
    report = run_recording(
        store, [] if discover else sids, RecordOptions(max_rpm=None, retry=FAST_RETRY), discover=discover,
        client_factory=lambda: make_client(api_key=API_KEY, base_url=server.base_url,
                                           http_client=httpx2.AsyncClient(event_hooks={"request": [count]})))
    monkeypatch.undo()
    assert report.outcome == "ok" and len(report.sessions) == len(sids)
    assert all(o.files_added == 3 and o.state == "settled" for o in report.sessions), report.sessions
    run_bookkeeping = 2 + (3 if discover else 0)  # start and finish; discovery reads states, ids, tombstones
    return begun[0] - run_bookkeeping, requests


@pytest.mark.parametrize("discover", [False, True], ids=["by-id", "discovery"])
def test_a_backfilled_session_costs_one_snapshot_request_and_seven_transactions(
    store: EventStore, tool_use: tuple[Emulator, list[str], ApiServer], discover: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu, sids, server = tool_use
    transactions, requests = _record(store, server, sids, discover, monkeypatch)
    assert_exact(store, emu, sids)
    # lease; the session's checkpoints and archived file ids (one read); snapshots; two appends; files; state with
    # the lease release (at most: group commit may put the appends of several sessions in one transaction; the
    # code before issue 15 took 14, and 9 before the checkpoints and file ids were read at once)
    assert transactions <= 7 * SESSIONS, transactions / SESSIONS
    assert requests["retrieve"] == (0 if discover else SESSIONS), requests
    assert requests["content"] == 3 * SESSIONS and requests["threads"] == SESSIONS
    for sid in sids:
        snapshot = store.latest_snapshot(sid)
        assert snapshot is not None and snapshot["id"] == sid and snapshot["status"] == "idle"
        assert store.latest_snapshot(sid, emu.thread_ids(sid)[0]) is not None


def test_clients_for_gives_one_connection_pool_per_four_sessions_at_once() -> None:
    assert [clients_for(c) for c in (1, 4, 5, 32, 128, 10_000)] == [1, 1, 2, 8, 32, 32]


def test_short_requests_are_dealt_over_one_client_per_four_sessions(
    store: EventStore, tool_use: tuple[Emulator, list[str], ApiServer],
) -> None:
    """At concurrency 32 the run's short requests go through eight clients (eight connection pools) in turn, so no
    pool holds (and probes on every request) the idle connections of the whole run; the log is as exact."""
    emu, sids, server = tool_use
    made: list[Counter[str]] = []

    def factory() -> Any:
        requests: Counter[str] = Counter()
        made.append(requests)

        async def count(request: Any) -> None:
            requests[request.url.path] += 1

        return make_client(api_key=API_KEY, base_url=server.base_url, event_hooks={"request": [count]})

    report = run_recording(store, sids, RecordOptions(max_rpm=None, retry=FAST_RETRY, concurrency=32),
                           client_factory=factory)
    assert report.outcome == "ok" and len(report.sessions) == len(sids)
    assert_exact(store, emu, sids)
    assert len(made) == 8, len(made)
    assert all(sum(requests.values()) > 0 for requests in made), made
