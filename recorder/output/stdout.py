"""Standard output that fails in one line: a full disk (``> /dev/full``), an I/O error or a closed pipe while
writing the output becomes :class:`~recorder.errors.OutputError`, not a traceback (and not a second complaint
from the interpreter flushing the same buffer again at exit)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from typing import Any

from recorder.errors import OutputError


class StdoutFailed(OutputError):
    """Writing standard output failed (``errno`` says why)."""

    def __init__(self, err: OSError) -> None:
        super().__init__(f"cannot write to standard output: {err.strerror or err}")
        self.errno = err.errno


class GuardedStream:
    """A text stream whose write errors are :class:`StdoutFailed` (but a closed pipe stays ``BrokenPipeError``, so
    ``recorder events ... | head`` ends quietly); everything else is the wrapped stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise
        except OSError as err:
            raise StdoutFailed(err) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as err:
            raise StdoutFailed(err) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def silence() -> None:
    """After a failed write: point file descriptor 1 at /dev/null so the interpreter's own flush at exit does not
    fail again with a second message."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())  # type: ignore[union-attr]
        os.close(devnull)
