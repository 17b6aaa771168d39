"""Group commit: the appends of every stream of a process, gathered into few transactions.

Each small append (a few live events of one session) costs a whole transaction: the log's write lock, the stream
lookups, the commit and its fsync. With hundreds of live sessions that cost, not the API, is the ceiling. So one
committer thread per recording process takes every append request, lets a group gather for a short window, and
commits the group with one :meth:`EventStore.append_many` call:

- a group is committed when ``window`` seconds (default 15 ms) have passed since its first request arrived, or as
  soon as it holds ``max_events`` events (a catch-up page goes at once), whichever comes first; while one group
  commits, the next one gathers (a commit that took longer than the window is followed at once by the next);
- each caller gets its own result: a request whose lease fence failed gets :class:`LeaseLost` (raised to that
  caller only) and writes nothing, the others commit;
- a failed transaction (:class:`StoreError`, or anything else) fails every request of that group with the same
  error; nothing of the group was written, and each caller retries or stops as it would after its own append;
- a request handed over is committed whole or not at all, never abandoned: a caller cancelled while waiting (the
  run's deadline, Ctrl-C, its session stopping) still waits for its group's outcome, then lets the cancellation
  go on (see :func:`recorder.ingest.writer.finish_even_if_cancelled`).

The committer is a thread, not an asyncio task, so that its window does not depend on how busy the event loop is
and so that shutting the loop down cannot abandon a group in the middle; it is a daemon and :meth:`close` drains
what was handed over before it returns.

Handing results back is cheap because it happens per group, not per request: an asyncio caller waits on a plain
asyncio future of its own loop, and the committer resolves all of a loop's futures of a group with one
``call_soon_threadsafe`` (one wake-up of that loop), instead of a ``concurrent.futures.Future`` per request, each
with its own lock and its own wake-up. Handing a request over takes the committer's lock once and wakes the
committer only when it is idle or the group just became full.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Sequence

from recorder.errors import LeaseLost
from recorder.store import AppendRequest, AppendResult, EventStore

DEFAULT_WINDOW = 0.015  # seconds a group gathers after its first request
DEFAULT_MAX_EVENTS = 500  # a group this large is committed without waiting out the window

Outcome = AppendResult | LeaseLost
# one request handed over: the request, and who waits for it (an asyncio future on its loop, or a thread's future)
_Waiter = asyncio.Future[Outcome] | concurrent.futures.Future[Outcome]
_Pending = tuple[AppendRequest, asyncio.AbstractEventLoop | None, _Waiter]


class GroupCommitter:
    """One thread that commits the append requests of a whole process in groups (see the module docstring)."""

    def __init__(
        self, store: EventStore, *, window: float = DEFAULT_WINDOW, max_events: int = DEFAULT_MAX_EVENTS
    ) -> None:
        if window < 0 or max_events < 1:
            raise ValueError("window cannot be negative and max_events must be positive")
        self.store = store
        self.window = window
        self.max_events = max_events
        self.transactions = 0  # append_many calls made (committed or failed)
        self.requests = 0  # requests committed or failed through them
        self._pending: list[_Pending] = []
        self._events = 0  # events in _pending
        self._first_at = 0.0  # time.monotonic() when the first request of _pending arrived
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    # ---- the callers' side

    def _hand_over(self, pending: _Pending) -> None:
        with self._cond:
            if self._closing:
                raise RuntimeError("the group committer is closed")
            if not self._pending:
                self._first_at = time.monotonic()
            self._pending.append(pending)
            events = self._events = self._events + len(pending[0].events)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="recorder-group-commit", daemon=True)
                self._thread.start()
            if len(self._pending) == 1 or events >= self.max_events:  # (otherwise the committer is not waiting
                self._cond.notify()  # for requests: it is in a window, which only a full group cuts short)

    def submit(self, request: AppendRequest) -> concurrent.futures.Future[Outcome]:
        """Hand a request over (from any thread); the future gets its AppendResult or LeaseLost, or the error that
        failed its group."""
        future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        if not request.events and not request.checkpoints:
            future.set_result(AppendResult(0, 0))
            return future
        self._hand_over((request, None, future))
        return future

    async def append(
        self, request: AppendRequest, committed: Callable[[AppendResult], object] | None = None
    ) -> AppendResult:
        """Append through the next group; LeaseLost (this request's fence) or the group's error is raised. If the
        awaiting task is cancelled, it first waits for the group's outcome, then the cancellation goes on.
        ``committed`` gets the result of a request that committed, whether or not its caller was cancelled
        meanwhile (who counts what was written must count that too)."""
        if not request.events and not request.checkpoints:
            return AppendResult(0, 0)
        loop = asyncio.get_running_loop()
        waiting: asyncio.Future[Outcome] = loop.create_future()
        self._hand_over((request, loop, waiting))
        try:
            outcome = await asyncio.shield(waiting)
        except asyncio.CancelledError:
            with contextlib.suppress(BaseException):  # the group's outcome is known: now let the cancellation go on
                late = await waiting
                if committed is not None and isinstance(late, AppendResult):
                    committed(late)
            raise
        if isinstance(outcome, LeaseLost):
            raise outcome
        if committed is not None:
            committed(outcome)
        return outcome

    def close(self) -> None:
        """Commit what was handed over, then stop the thread (later submits are refused)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # ---- the committer's side

    def _take_group(self) -> list[_Pending] | None:
        """Wait for a group to be due and take it (None: closed and drained)."""
        with self._cond:
            while not self._pending:
                if self._closing:
                    return None
                self._cond.wait()
            due = self._first_at + self.window
            while not self._closing and self._events < self.max_events:
                left = due - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            group, self._pending, self._events = self._pending, [], 0
            return group

    def _run(self) -> None:
        while (group := self._take_group()) is not None:
            self._commit(group)

    def _commit(self, group: Sequence[_Pending]) -> None:
        live = [item for item in group
                if item[1] is not None or _thread_future(item[2]).set_running_or_notify_cancel()]
        if not live:
            return
        self.transactions += 1
        self.requests += len(live)
        try:
            outcomes = self.store.append_many([item[0] for item in live])
        except BaseException as err:  # the whole group failed: nothing of it was written
            _resolve(live, [None] * len(live), err)
            if not isinstance(err, Exception):
                raise
            return
        _resolve(live, outcomes, None)


def _thread_future(waiter: _Waiter) -> concurrent.futures.Future[Outcome]:
    assert isinstance(waiter, concurrent.futures.Future)
    return waiter


def _resolve(live: Sequence[_Pending], outcomes: Sequence[Outcome | None], error: BaseException | None) -> None:
    """Give every request its outcome (or the group's ``error``): threads' futures at once, each loop's futures in
    one call on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Waiter, Outcome | None]]] = {}
    for (_, loop, waiter), outcome in zip(live, outcomes, strict=True):
        if loop is None:
            _settle(waiter, outcome, error)
        else:
            by_loop.setdefault(loop, []).append((waiter, outcome))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting on it any more
            loop.call_soon_threadsafe(_deliver, items, error)


def _deliver(items: Sequence[tuple[_Waiter, Outcome | None]], error: BaseException | None) -> None:
    """On the callers' loop: settle its futures of one group."""
    for waiter, outcome in items:
        if not waiter.done():
            _settle(waiter, outcome, error)


def _settle(waiter: _Waiter, outcome: Outcome | None, error: BaseException | None) -> None:
    if error is not None:
        waiter.set_exception(error)
    else:
        assert outcome is not None
        waiter.set_result(outcome)
