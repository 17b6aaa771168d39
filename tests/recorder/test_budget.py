"""The request budget: a token bucket that never lets more than rate x (window + 1 s) through, and backs off on 429."""

from __future__ import annotations

import asyncio

import pytest

from recorder.ingest.budget import PENALTY_SECONDS, RequestBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _drain(budget: RequestBudget, clock: Clock, seconds: float, step: float = 0.01) -> list[float]:
    """Take tokens as fast as the bucket allows for ``seconds``; returns the times they were taken."""
    taken: list[float] = []
    end = clock.now + seconds
    while clock.now < end:
        while budget.take_now():
            taken.append(clock.now)
        clock.now += step
    return taken


def test_no_ten_second_window_carries_more_than_rate_allows() -> None:
    clock = Clock()
    budget = RequestBudget(300, clock=clock)
    taken = _drain(budget, clock, 60.0)
    assert 295 <= len(taken) <= 306
    worst = max(sum(1 for t in taken if start <= t < start + 10.0) for start in taken)
    assert worst <= 60, f"{worst} requests in one 10 s window"


def test_a_429_halves_the_rate_for_a_while() -> None:
    clock = Clock()
    budget = RequestBudget(300, clock=clock)
    _drain(budget, clock, 5.0)
    budget.throttled()
    assert budget.rpm == 150
    taken = _drain(budget, clock, 20.0)
    assert len(taken) <= 20 * 150 / 60 + 3
    clock.now += PENALTY_SECONDS
    assert budget.rpm == 300
    assert budget.throttles == 1


def test_recent_rate_counts_the_last_minute() -> None:
    clock = Clock()
    budget = RequestBudget(120, clock=clock)
    _drain(budget, clock, 30.0)
    assert 58 <= budget.recent_rpm() <= 63
    clock.now += 61
    assert budget.recent_rpm() == 0


def test_waiters_are_served_at_the_rate() -> None:
    budget = RequestBudget(600)  # 10 a second, a bucket of 10

    async def main() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(budget.take() for _ in range(15)))
        return loop.time() - started

    elapsed = asyncio.run(main())
    assert 0.35 <= elapsed < 2.0
    assert budget.requests == 15


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RequestBudget(0)


def test_the_progress_line_shows_the_request_rate() -> None:
    import io

    from recorder.progress import Terminal

    clock = Clock()
    budget = RequestBudget(300, clock=clock)
    _drain(budget, clock, 2.0)
    terminal = Terminal(io.StringIO())
    terminal.budget(budget)
    assert f"· {budget.recent_rpm()}/300 req/min" in terminal._line()
    budget.throttled()
    assert "/150 req/min" in terminal._line()
