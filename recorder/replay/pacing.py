"""Re-emitting recorded events with their original pacing, scaled.

The gap between two events is the difference of their ``processed_at``, divided by ``speed`` (2 = twice as fast;
0 = no waiting at all), and at most ``max_gap`` seconds of wall time when given (a session that sat idle for an
hour need not make the replay wait an hour). Waits are scheduled against the monotonic clock from the first
event, so slow consumers and sleep jitter do not add up to drift. Events without a time, or whose time goes
backwards, follow the previous one at once. ``clock`` and ``sleep`` are injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from recorder.errors import ConfigError

T = TypeVar("T")


MAX_SLEEP = 3600.0


def check_pace(speed: float, max_gap: float | None) -> None:
    if speed < 0:
        raise ConfigError("--speed cannot be negative (0 replays as fast as possible)")
    if max_gap is not None and max_gap < 0:
        raise ConfigError("--max-gap cannot be negative")


class Pace:
    """The pacing rule, in one place: when each event of a stream is due, in seconds after the first one.

    Feed it every event's time in order (:meth:`due`). A gap is the time difference divided by ``speed``, capped at
    ``max_gap``; ``speed`` 0 means never wait; a missing time or one that goes backwards adds nothing (and a time
    going backwards does not move the reference either)."""

    def __init__(self, speed: float = 1.0, max_gap: float | None = None) -> None:
        check_pace(speed, max_gap)
        self.speed = speed
        self.max_gap = max_gap
        self._due = 0.0
        self._previous: datetime | None = None

    def due(self, when: datetime | None) -> float:
        """Seconds after the first event at which the event at ``when`` (the next one) is due."""
        previous = self._previous
        if self.speed > 0 and when is not None and previous is not None and when > previous:
            gap = (when - previous).total_seconds() / self.speed
            self._due += gap if self.max_gap is None else min(gap, self.max_gap)
        if when is not None and (previous is None or when > previous):
            self._previous = when
        return self._due


def paced(items: Iterable[T], time_of: Callable[[T], datetime | None], *, speed: float = 1.0,
          max_gap: float | None = None, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[T]:
    """Yield ``items`` at the pace of their times (``time_of``) scaled by ``speed``."""
    pace = Pace(speed, max_gap)
    started: float | None = None
    for item in items:
        due = pace.due(time_of(item))
        if started is None:
            started = clock()
        else:
            wait = due - (clock() - started)
            while wait > 1e-6:  # in slices: a wait of 1e300 s (a tiny --speed) is legal, but not for sleep()
                sleep(min(wait, MAX_SLEEP))
                wait = due - (clock() - started)
        yield item


def schedule(times: Iterable[datetime | None], *, speed: float = 1.0, max_gap: float | None = None) -> list[float]:
    """When (seconds after the first) each of ``times`` is due at this pace: what :func:`paced` waits for."""
    pace = Pace(speed, max_gap)
    return [pace.due(when) for when in times]
