"""Stopping a session's tasks: the tasks' cleanup always runs to its end, and a cancellation of the one stopping
them (SIGTERM, Ctrl-C) is never swallowed."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from recorder.ingest.writer import LogWriter
from recorder.record import _cancel, _cancel_all
from recorder.store import Holder, Lease, Leases, utcnow
from tests.helpers import cancel_once_started


def test_a_caller_cancelled_while_stopping_a_task_is_still_cancelled_after_its_cleanup() -> None:
    """The old ``_cancel`` swallowed the caller's own cancellation: a ``record --all --follow`` sent SIGTERM at that
    moment went on running, idle, for ever."""

    async def scenario() -> tuple[list[str], bool]:
        cleaned: list[str] = []

        async def child() -> None:
            try:
                await asyncio.sleep(30)
            finally:
                await asyncio.sleep(0.05)  # cleanup that takes a while (a commit, a lease release)
                cleaned.append("done")

        task = asyncio.ensure_future(child())
        await asyncio.sleep(0)

        async def caller() -> str:
            await _cancel(task)
            return "went on"

        stopping = asyncio.ensure_future(caller())
        await asyncio.sleep(0.01)
        stopping.cancel()
        try:
            await stopping
        except asyncio.CancelledError:
            return cleaned, True
        return cleaned, False

    cleaned, cancelled = asyncio.run(scenario())
    assert cleaned == ["done"], "the task's cleanup ran to its end before the caller went on"
    assert cancelled, "the caller's cancellation was swallowed"


def test_stopping_tasks_drops_their_outcomes_and_waits_for_all() -> None:
    async def scenario() -> list[str]:
        order: list[str] = []

        async def fails() -> None:
            raise ValueError("its own failure")

        async def slow() -> None:
            try:
                await asyncio.sleep(30)
            finally:
                await asyncio.sleep(0.02)
                order.append("slow stopped")

        tasks = [asyncio.ensure_future(fails()), asyncio.ensure_future(slow())]
        await asyncio.sleep(0)
        await _cancel_all(tasks)
        order.append("returned")
        return order

    assert asyncio.run(scenario()) == ["slow stopped", "returned"]


def test_an_uncancelled_caller_goes_on() -> None:
    async def scenario() -> str:
        task = asyncio.ensure_future(asyncio.sleep(30))
        await _cancel(task)
        return "went on" if task.cancelled() else "task still running"

    assert asyncio.run(scenario()) == "went on"


def test_a_lease_taken_while_its_taker_was_cancelled_is_given_up(sqlite_url: str, make_store: Any) -> None:
    """SIGTERM right after a run starts cancels a session's task while its lease is being taken. The take
    finishes (a write is never abandoned), but nobody held the lease to release it: it stayed held until it
    expired, and the hardening soak's SIGTERM trial 20040 found it held after the exit."""
    store = make_store(sqlite_url)
    entered = threading.Event()

    class SlowLeases(Leases):
        def acquire(self, session_id: str) -> Lease | Holder:
            entered.set()
            time.sleep(0.2)  # the take is in progress when the cancellation comes
            return super().acquire(session_id)

    writer = LogWriter(store, None, SlowLeases(store))

    async def scenario() -> bool:
        return await cancel_once_started(asyncio.ensure_future(writer.acquire("sesn_a")), entered)

    assert asyncio.run(scenario()), "the cancellation goes on after the take"
    writer.close()
    holder = Leases(store).holder("sesn_a")
    assert holder is None or holder.expires_at <= utcnow(), "the lease taken meanwhile was given up"
