"""Stopping a session's tasks: the tasks' cleanup always runs to its end, and a cancellation of the one stopping
them (SIGTERM, Ctrl-C) is never swallowed."""

from __future__ import annotations

import asyncio

from recorder.record import _cancel, _cancel_all


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
