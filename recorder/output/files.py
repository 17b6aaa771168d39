"""The one way a command writes a file (``transcript -o``, ``anchor -o``, ``usage -o``, ``analytics report -o``...).

``-`` means standard output, everywhere. Anything else is written atomically:

- into a temporary file in the target's own directory (so the rename cannot cross file systems), flushed and
  fsynced, then renamed over the target: a reader sees the old file or the whole new one, and a failure (a full
  disk, a killed process) never leaves a 0-byte or partial file where the output belongs;
- a symlink is written *through*: the file it points to is replaced (the same way), the link itself stays;
- a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written into as a stream, never
  replaced; a directory, a block device or a socket is refused;
- every ``OSError`` (missing directory, a directory as target, no space left, permission) removes the temporary
  file and becomes one :class:`~recorder.errors.OutputError` naming the path.

A replaced file keeps its permission bits; a new one gets the usual ``0o666 & ~umask``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from recorder.errors import OutputError

STDOUT = "-"

PathLike = str | os.PathLike[str]


def is_stdout(path: PathLike | None) -> bool:
    return path is None or str(path) == STDOUT


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _make_temp(directory: str, name: str) -> tuple[int, str]:
    """The file-opening seam: a new temporary file beside the target (tests inject failures here)."""
    return tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)


def resolve(path: PathLike) -> tuple[Path, os.stat_result | None]:
    """Where writing ``path`` really goes (symlinks followed) and what is there now (None: nothing).

    Raises OutputError for a target that must not be written: a directory, a block device, a socket."""
    target = Path(os.path.realpath(os.fspath(path)))
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    if info is not None:
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(f"cannot write {path}: it is a directory")
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise OutputError(f"cannot write {path}: not a regular file (refusing to replace it)")
    return target, info


@contextlib.contextmanager
def _stdout(binary: bool) -> Iterator[IO[Any]]:
    stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
    try:
        yield stream
        stream.flush()
    except OSError as err:
        raise OutputError(f"cannot write to standard output: {_reason(err)}") from None


@contextlib.contextmanager
def _stream_into(path: PathLike, target: Path, binary: bool) -> Iterator[IO[Any]]:
    """A character device or FIFO: written into, never replaced."""
    try:
        handle: IO[Any] = open(target, "wb") if binary else open(target, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    try:
        with handle:
            yield handle
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None


@contextlib.contextmanager
def opened(path: PathLike | None, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A stream whose contents become ``path`` only when the ``with`` block ends without an exception.

    ``None`` or ``"-"``: standard output. On any exception the target is left as it was."""
    if is_stdout(path):
        with _stdout(binary) as stream:
            yield stream
        return
    assert path is not None
    target, info = resolve(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        with _stream_into(path, target, binary) as stream:
            yield stream
        return
    try:
        handle, temp = _make_temp(str(target.parent), target.name)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    try:
        if info is not None:
            os.chmod(temp, stat.S_IMODE(info.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        temporary: IO[Any] = (os.fdopen(handle, "wb") if binary
                              else os.fdopen(handle, "w", encoding="utf-8", newline=""))
        with temporary:
            yield temporary
            temporary.flush()
            os.fsync(temporary.fileno())
        os.replace(temp, target)
    except OSError as err:
        _discard(temp)
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    except BaseException:
        _discard(temp)
        raise


def _discard(temp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)


def write_text(path: PathLike | None, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, or to standard output for ``-``/None."""
    with opened(path) as stream:
        stream.write(text)


def write_bytes(path: PathLike | None, data: bytes) -> None:
    with opened(path, binary=True) as stream:
        stream.write(data)


def write_via(path: PathLike, produce: Callable[[Path], object]) -> None:
    """For writers that need a path, not a stream (DuckDB's ``COPY ... TO``): ``produce`` writes the temporary
    file, which then replaces ``path`` like any other output. Not for standard output."""
    target, info = resolve(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputError(f"cannot write {path}: not a regular file (refusing to replace it)")
    try:
        handle, temp = _make_temp(str(target.parent), target.name)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    try:
        os.close(handle)
        os.unlink(temp)  # the producer creates it
        produce(Path(temp))
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        if info is not None:
            os.chmod(temp, stat.S_IMODE(info.st_mode))
        os.replace(temp, target)
    except OSError as err:
        _discard(temp)
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    except BaseException:
        _discard(temp)
        raise
