"""The garbage collector's settings for a recording process.

CPython's cyclic collector walks every tracked object of a generation when it collects it. A recording process
holds some 190,000 long-lived objects from its imports alone (the SDK's typed models, SQLAlchemy, click), and
its own state grows with the sessions it follows. With the default thresholds (700, 10, 10) the events' parsed
JSON (many small dicts and lists) set off a young collection every few hundred allocations, and a full one every
few seconds: measured in ``record --all --follow`` of 150 live sessions, 19 full collections of 50–500 ms and 154
middle ones, 8.6 s of pauses in 90 s, each one a stall of every stream's capture (they made the latency's p99).

:func:`tuned_for_recording` moves what exists once the imports are done into the permanent generation
(``gc.freeze``: it is never walked again; what it holds is the program itself, not garbage), and raises the
young generation's threshold so that the events in flight, which die young by reference counting, rarely start a
collection. Cycles are still collected; they are just looked for less often. Called by the ``record`` command
only, never by the library (it is the process's setting, not a module's).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 50_000  # allocations (net of deallocations) of tracked objects before a young collection
OLDER_THRESHOLDS = (20, 10)  # young collections per middle one, middle ones per full one (CPython's rule)


@contextlib.contextmanager
def tuned_for_recording() -> Iterator[None]:
    """Within the block: what existed at its start is frozen, and the young threshold is raised. Both are undone
    at its end (a command run in-process, by a test, leaves the interpreter as it found it)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
