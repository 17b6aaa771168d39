"""Opening the analytics DuckDB file, and the one place DuckDB errors become :mod:`recorder.errors`.

DuckDB lets one process at a time open a file for writing. A second report started meanwhile waits (up to
``wait`` seconds) for the first to finish instead of failing at once; after that it says who holds the file.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from recorder.errors import StoreError, StoreFull, StoreReadOnly, StoreUnavailable

LOCK_WAIT_SECONDS = 30.0
_LOCKED = "could not set lock"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def translate(err: BaseException, path: Path) -> StoreError:
    """The project's error for a DuckDB or OS error on the analytics file: one line that says what to do."""
    message = _first_line(err)
    lowered = message.lower()
    if "no space left" in lowered or "disk is full" in lowered or getattr(err, "errno", None) == 28:
        return StoreFull(f"the disk holding the analytics file {path} is full ({message}); free space and run again")
    if "permission denied" in lowered or "read-only" in lowered or "readonly" in lowered:
        return StoreReadOnly(
            f"cannot write the analytics file {path} ({message}); choose a writable place with --analytics-db "
            "or RECORDER_ANALYTICS_DB"
        )
    if _LOCKED in lowered:
        pid = re.search(r"PID (\d+)", message)
        holder = f"process {pid.group(1)}" if pid else "another process"
        return StoreUnavailable(
            f"the analytics file {path} is in use by {holder}; run again when it has finished"
        )
    if "not a valid duckdb database" in lowered or "storage version" in lowered or "newer version" in lowered \
            or "older version" in lowered or "serializ" in lowered:
        return StoreError(
            f"{path} is not an analytics file this version can read ({message}); delete it (it is rebuilt from "
            "the log) or choose another with --analytics-db"
        )
    return StoreError(f"analytics file {path}: {message}")


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    """Run a block, turning DuckDB and OS errors into the project's StoreError family."""
    try:
        yield
    except duckdb.Error as err:
        raise translate(err, path) from None
    except OSError as err:
        raise translate(err, path) from None


def discard_new(path: Path) -> None:
    """Remove a file this process just created and failed to initialize (and DuckDB's write-ahead log beside it),
    so that a full disk does not leave a 0-byte or half-made file that blocks the next run."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(OSError):
            leftover.unlink()


def connect(path: Path, *, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open (creating it and its directory unless ``read_only``) the DuckDB file at ``path``. A file this call
    creates is removed again when opening fails."""
    if read_only and not path.exists():
        raise StoreUnavailable(f"there is no analytics file at {path}; any report creates it from the log")
    if not read_only:
        with translated(path):
            path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as err:
            if _LOCKED not in str(err).lower() or time.monotonic() >= deadline:
                if not existed and not read_only:
                    discard_new(path)
                raise translate(err, path) from None
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
