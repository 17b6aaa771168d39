"""Wall-clock deadlines on the monotonic clock, for a whole run and for each request.

HTTP read timeouts are per chunk: a response that trickles one byte at a time, or a stream that sends only
heartbeats, never times out by itself. So every request runs inside an ``asyncio.timeout`` scope bounded by both
its own limit and what is left of the run: when either runs out, the awaiting read is cancelled at once, however
the bytes arrive. Running out of the *run* deadline raises :class:`DeadlineReached` (the CLI exits 3); running out
of a *request*'s limit raises :class:`RequestTimedOut`, which the retry policy treats as a transient failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from recorder.errors import ApiError, DeadlineReached


class RequestTimedOut(ApiError):
    """One request took longer than its own wall-clock limit (retried while the run has time left)."""


class Deadline:
    """A moment on the monotonic clock (or none: no limit)."""

    def __init__(
        self, seconds: float | None, clock: Callable[[], float] = time.monotonic, *, started: float | None = None
    ) -> None:
        """``started``: when the clock started (a ``clock()`` reading), if before now — e.g. the command's start."""
        self.seconds = seconds
        self._clock = clock
        self._at = None if seconds is None else (clock() if started is None else started) + seconds

    def remaining(self) -> float | None:
        return None if self._at is None else max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        return self._at is not None and self._clock() >= self._at

    def check(self) -> None:
        if self.expired:
            raise self.reached()

    def reached(self) -> DeadlineReached:
        return DeadlineReached(f"the deadline of {self.seconds:g} s was reached")

    def bound(self, limit: float | None) -> float | None:
        """The shorter of ``limit`` and what is left of this deadline (None: no limit at all)."""
        left = self.remaining()
        if left is None:
            return limit
        return left if limit is None else min(left, limit)

    @asynccontextmanager
    async def scope(self, limit: float | None = None, what: str = "request") -> AsyncIterator[None]:
        """Run a block within ``limit`` seconds and this deadline, whichever comes first."""
        self.check()
        budget = self.bound(limit)
        try:
            async with asyncio.timeout(budget):
                yield
        except TimeoutError:
            if self.expired:
                raise self.reached() from None
            raise RequestTimedOut(f"{what} took longer than {limit:g} s") from None

    async def sleep(self, seconds: float) -> None:
        """Sleep, but not past the deadline (raises DeadlineReached if it would)."""
        left = self.remaining()
        if left is not None and seconds >= left:
            await asyncio.sleep(left)
            raise self.reached()
        await asyncio.sleep(seconds)
