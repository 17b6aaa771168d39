"""Opening the read model for a report: find its file, bring it up to date with the log, hand it over.

What the CLI calls; kept here so the command functions stay thin. ``update=False`` opens the file read-only
as it is, without reading the log (an analytics file copied elsewhere, or a log that is unreachable).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from recorder.store import open_read_only

from . import location
from .projection import Progress, Projection, UpdateResult

Notice = Callable[[str], None]


@contextlib.contextmanager
def opened(
    db_url: str,
    analytics_db: str | Path | None = None,
    *,
    update: bool = True,
    progress: Progress | None = None,
    notice: Notice | None = None,
) -> Iterator[Projection]:
    """The read model for the log at ``db_url``, updated first unless ``update`` is false."""
    path = location.resolve(db_url, analytics_db)
    if not update:
        with Projection(path, read_only=True) as projection:
            yield projection
        return
    with open_read_only(db_url) as store, Projection(path) as projection:
        result = projection.update(store, progress=progress, workers=None)
        if result.rebuilt and notice is not None:
            notice(result.rebuilt)
        yield projection


def update(db_url: str, analytics_db: str | Path | None = None, *, rebuild: bool = False,
           progress: Progress | None = None) -> tuple[Path, UpdateResult]:
    """Bring the read model up to date (or rebuild it from scratch); returns its path and what was done."""
    path = location.resolve(db_url, analytics_db)
    with open_read_only(db_url) as store, Projection(path) as projection:
        run = projection.rebuild if rebuild else projection.update
        result = run(store, progress=progress, workers=None)
    return path, result
