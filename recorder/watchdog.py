"""The process-level guard of ``--deadline``.

Inside a recording run the deadline is cooperative and exact (asyncio timeouts; see recorder.ingest.deadline).
Outside it nothing can be cancelled: importing the SDK alone takes seconds on a busy machine. This watchdog thread
covers that: if the deadline passes before the run has begun, nothing has been recorded, so it exits at once with
status 3. Once the run has begun it only backs it up: should the run fail to stop within ``grace`` seconds of the
deadline, it exits anyway — database transactions are atomic, so what was committed stays exact and a batch in
flight is simply not there.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time


class DeadlineWatchdog:
    def __init__(self, seconds: float, started: float, *, grace: float = 2.0) -> None:
        self.deadline_at = started + seconds
        self.seconds = seconds
        self.grace = grace
        self._running = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="deadline-watchdog", daemon=True)
        self._thread.start()

    def running(self) -> None:
        """The recording run has begun: from now on it stops itself at the deadline."""
        self._running.set()

    def done(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(max(0.0, self.deadline_at - time.monotonic())):
            return
        if not self._running.is_set():
            self._exit(
                "before recording began; nothing new was recorded — run the same command again to resume "
                "(with a longer --deadline if this keeps happening)"
            )
        if self._done.wait(self.grace):
            return
        self._exit("and the run did not stop in time; what was committed is kept — run the same command again to "
                   "resume")

    def _exit(self, how: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        message = f"recorder: the deadline of {self.seconds:g} s was reached {how}\n"
        try:
            os.write(2, message.encode("utf-8"))
        finally:
            os._exit(3)
