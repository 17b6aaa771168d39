"""A request budget: a token bucket over every API request the process makes.

The read endpoints allow 1,200 requests per minute per organization, and that budget is shared with the
customer's own production agents, so the recorder stays well under it (``--max-rpm``, 300 by default). Every
request (a page, a retrieve, a stream being opened, a download, each retry) first takes one token. Tokens refill
at ``rate / 60`` per second; the bucket holds one second's worth (at least one token), so no window of ``w``
seconds carries more than ``rate * (w + 1) / 60`` requests.

An HTTP 429 means the organization is over its limit, whatever our own count says: the rate halves (down to a
floor) and recovers to the configured rate after :data:`PENALTY_SECONDS` without another 429.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

DEFAULT_MAX_RPM = 300
PENALTY_SECONDS = 60.0
MIN_RPM = 6.0


class RequestBudget:
    """A token bucket shared by all of a process's API requests (one event loop)."""

    def __init__(self, max_rpm: float = DEFAULT_MAX_RPM, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_rpm <= 0:
            raise ValueError("max_rpm must be positive")
        self.max_rpm = float(max_rpm)
        self.clock = clock
        self._rpm = self.max_rpm
        self._tokens = self.capacity
        self._filled_at = clock()
        self._penalty_until = 0.0
        self._lock = asyncio.Lock()
        self._recent: collections.deque[float] = collections.deque()
        self.requests = 0
        self.throttles = 0

    @property
    def capacity(self) -> float:
        return max(1.0, self._rpm / 60.0)

    @property
    def rpm(self) -> float:
        """The rate allowed now (lower than ``max_rpm`` for a while after a 429)."""
        self._recover()
        return self._rpm

    def recent_rpm(self) -> int:
        """Requests made in the last 60 seconds."""
        now = self.clock()
        while self._recent and self._recent[0] <= now - 60.0:
            self._recent.popleft()
        return len(self._recent)

    def _recover(self) -> None:
        if self._rpm < self.max_rpm and self.clock() >= self._penalty_until:
            self._refill()
            self._rpm = self.max_rpm

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._filled_at) * self._rpm / 60.0)
        self._filled_at = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0: one is)."""
        self._recover()
        self._refill()
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) * 60.0 / self._rpm

    def take_now(self) -> bool:
        """Take a token if one is available."""
        if self.wait_time() > 0:
            return False
        self._tokens -= 1.0
        self.requests += 1
        self._recent.append(self.clock())
        return True

    async def take(self) -> None:
        """Wait for a token and take it. Waiters are served one at a time, in order."""
        async with self._lock:
            while not self.take_now():
                await asyncio.sleep(self.wait_time())

    def throttled(self) -> None:
        """The API answered 429: halve the rate for a while and empty the bucket."""
        self._refill()
        self.throttles += 1
        self._rpm = max(MIN_RPM, min(self._rpm, self.max_rpm) / 2.0)
        self._tokens = min(self._tokens, 0.0)
        self._penalty_until = self.clock() + PENALTY_SECONDS
