"""``record --all --follow``: the recorder as a service, until its deadline or a signal.

A session takes a worker (``--concurrency`` of them) only while it is active: each run of a session follows it
until it is settled, closed or deleted, and then frees its worker. What puts a session on the queue:

- the **sweep** (every ``--sweep-interval`` seconds, and at the start): ``sessions.list`` with archived sessions
  included; a session whose status, ``updated_at`` or ``archived_at`` differ from what the log last recorded (or
  that the log does not know) is queued; one that did not change costs nothing beyond its place on a list page;
- a **webhook** (``--listen``): the delivery was kept before it was acknowledged; its session is queued at once;
  deliveries kept but not yet handled when the service last stopped are queued at the start.

With a ``shard`` (I, N) (``--workers``, :mod:`recorder.workers`) only the sessions whose stable hash falls to
worker I are queued: every worker sweeps the whole list and takes its own part; leases are still taken.

A session already queued is not queued twice; one named again while it is being recorded runs once more right after
(its run may have been about to settle). A delivery is marked handled when a run of its session that began after
it arrived has finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from recorder.ingest.api import Api
from recorder.ingest.lifecycle import unchanged
from recorder.ingest.webhooks import WebhookListener
from recorder.ingest.writer import LogWriter
from recorder.workers import in_shard


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Outcome(Protocol):
    session_id: str
    error: str | None


class Service:
    """Schedules session runs from sweeps and webhooks onto a fixed number of workers."""

    def __init__(
        self,
        api: Api,
        writer: LogWriter,
        record_one: Callable[[str], Awaitable[Outcome]],
        *,
        concurrency: int,
        sweep_interval: float,
        list_filters: dict[str, Any] | None = None,
        listener: WebhookListener | None = None,
        notice: Callable[[str], None] = lambda _text: None,
        admit: Callable[[list[str]], Awaitable[list[str]]] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.shard = shard  # (I, N): only worker I of N's sessions
        self.api = api
        self.writer = writer
        self.record_one = record_one
        self.concurrency = concurrency
        self.sweep_interval = sweep_interval
        self.list_filters = list_filters or {}
        self.listener = listener
        self.notice = notice
        self.admit = admit  # which sessions may be recorded (None: all); e.g. not those pruned from the log
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.queued: set[str] = set()
        self.running: set[str] = set()
        self.again: set[str] = set()
        self.sweeps = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- queueing

    def wake(self, session_id: str) -> None:
        """Queue a session (on the event loop's thread)."""
        if self.shard is not None and not in_shard(session_id, *self.shard):
            return
        if session_id in self.running:
            self.again.add(session_id)
        elif session_id not in self.queued:
            self.queued.add(session_id)
            self.queue.put_nowait(session_id)

    def wake_threadsafe(self, session_id: str | None, _kind: str | None = None) -> None:
        """Queue a session from another thread (the webhook listener's)."""
        if session_id is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake, session_id)

    # ---- the loop

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        for delivery in await asyncio.to_thread(self.writer.lifecycle.pending_deliveries):
            if delivery.session_id is not None:
                self.wake(delivery.session_id)
        tasks = [asyncio.ensure_future(self._worker()) for _ in range(self.concurrency)]
        tasks.append(asyncio.ensure_future(self._sweeper()))
        try:
            if self.listener is not None:
                host, port = await asyncio.to_thread(self.listener.start)
                self.notice(f"listening for webhooks on http://{host}:{port}/webhooks")
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            if self.listener is not None:
                await asyncio.to_thread(self.listener.stop)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            session_id = await self.queue.get()
            self.queued.discard(session_id)
            if self.admit is not None and not await self.admit([session_id]):
                continue
            self.running.add(session_id)
            began = utcnow()
            try:
                outcome = await self.record_one(session_id)
            finally:
                self.running.discard(session_id)
            if outcome.error is None:
                await self.writer.mark_handled(session_id, began)
            if session_id in self.again:
                self.again.discard(session_id)
                self.wake(session_id)

    async def _sweeper(self) -> None:
        while True:
            await self.sweep()
            await self.api.deadline.sleep(self.sweep_interval)

    async def sweep(self) -> None:
        """One pass over ``sessions.list`` (archived included): queue what changed since it was recorded."""
        known = await self.writer.states()
        async for session in self.api.list_sessions(include_archived=True, **self.list_filters):
            session_id = session.get("id")
            if not isinstance(session_id, str) or not session_id:
                continue
            if session_id in self.running or session_id in self.queued:
                continue
            if not unchanged(session, known.get(session_id)):
                self.wake(session_id)
        self.sweeps += 1
        await self.writer.mark_handled(None, utcnow())  # deliveries naming no session need nothing more
