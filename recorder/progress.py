"""What `recorder record` shows while it works.

On a terminal: one status line on stderr, redrawn at most a few times a second (sessions done and running,
events recorded and the rate, threads, API requests in the last minute against the request budget), with
notices (a retry, a dropped stream, a lease wait) printed above it. Elsewhere: nothing while it works; the CLI
prints one JSON object per session at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from recorder.ingest.budget import RequestBudget
from recorder.record import Observer, SessionOutcome


class Counting(Observer):
    """Counts what happened; the base of both displays."""

    def __init__(self) -> None:
        self.started_at = time.monotonic()
        self.running = 0
        self.finished = 0
        self.events = 0
        self.threads = 0
        self.notices = 0
        self.request_budget: RequestBudget | None = None
        self.on_finished: Callable[[SessionOutcome], None] | None = None  # e.g. print the session's line
        self.run_id: int | None = None

    def budget(self, budget: RequestBudget) -> None:
        self.request_budget = budget

    @property
    def rate_text(self) -> str:
        """Requests in the last minute against the budget's current rate, e.g. ``42/300 req/min``."""
        if self.request_budget is None:
            return ""
        return f" · {self.request_budget.recent_rpm():,}/{self.request_budget.rpm:,.0f} req/min"

    def run_started(self, run_id: int | None) -> None:
        self.run_id = run_id

    def session_started(self, session_id: str, mode: str) -> None:
        self.running += 1

    def session_finished(self, outcome: SessionOutcome) -> None:
        self.finished += 1
        if outcome.mode is not None:
            self.running = max(0, self.running - 1)
        if self.on_finished is not None:
            self.clear()
            self.on_finished(outcome)

    def events_added(self, count: int) -> None:
        self.events += count

    def threads_found(self, count: int) -> None:
        self.threads += count

    def notice(self, text: str) -> None:
        self.notices += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at


class Quiet(Counting):
    """Not a terminal: say nothing while working (notices only with ``verbose``, one line each on stderr)."""

    def __init__(self, verbose: bool = False, stream: TextIO | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stderr

    def notice(self, text: str) -> None:
        super().notice(text)
        if self.verbose:
            print(f"recorder: {text}", file=self.stream, flush=True)

    def warning(self, text: str) -> None:
        super().notice(text)
        print(f"recorder: {text}", file=self.stream, flush=True)


class Terminal(Counting):
    """A terminal: a live status line on stderr, notices above it."""

    REDRAW_SECONDS = 0.2

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self._drawn_at = 0.0
        self._width = 0

    def _line(self) -> str:
        rate = self.events / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"recording: {self.finished} done, {self.running} running · {self.events:,} new events"
            f" ({rate:,.0f}/s) · {self.threads} threads{self.rate_text} · {self.elapsed:,.0f} s"
        )

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < self.REDRAW_SECONDS:
            return
        self._drawn_at = now
        line = self._line()
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def session_started(self, session_id: str, mode: str) -> None:
        super().session_started(session_id, mode)
        self._draw()

    def session_finished(self, outcome: SessionOutcome) -> None:
        super().session_finished(outcome)
        self._draw(force=True)

    def events_added(self, count: int) -> None:
        super().events_added(count)
        self._draw()

    def threads_found(self, count: int) -> None:
        super().threads_found(count)
        self._draw()

    def notice(self, text: str) -> None:
        super().notice(text)
        self.clear()
        print(text, file=self.stream, flush=True)
        self._draw(force=True)
