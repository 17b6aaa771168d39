"""Checks for the values a user types on the command line, in one place and without click.

Every number, port, duration and database URL the CLI takes goes through one of these functions (``recorder/cli.py``
wraps them in click parameter types, so each command gets the same rule and the same one-line message). They raise
:class:`ValueError` with a message meant for a person; the CLI turns it into a usage error (exit 2).

Why a module of its own: click's ``FLOAT`` accepts ``nan`` and ``inf`` (``nan`` passes every range check, and
``--deadline inf`` means no deadline at all), ``INT`` accepts any port, and durations such as ``99999999d``
overflow :class:`datetime.timedelta` deep inside a command. Checking at the edge keeps the commands simple.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

MAX_URL_CHARS = 4096
"""No database URL is longer (PostgreSQL's connection strings stay far below; a path longer than PATH_MAX cannot be
opened anyway). A longer one is refused with one line instead of failing in the driver."""

MAX_SECONDS = 10 * 365 * 86400.0
"""No time in seconds on the command line is longer (ten years): a longer deadline, timeout, lease or interval
means "never" in practice, and would overflow timers, sleeps and date arithmetic (``sleep(1e300)`` fails)."""

MAX_DURATION = timedelta(days=365 * 1000)
"""Longer durations mean "everything" in any real use, and would overflow date arithmetic near year 1 or 9999."""

_DURATION = re.compile(r"(\d+)\s*([smhdwy])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def finite_float(value: object, *, minimum: float | None = None, minimum_open: bool = False,
                 maximum: float | None = None) -> float:
    """A finite float (no ``nan``, no ``inf``) within the bounds, from a string or a number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    if minimum is not None and (number < minimum or (minimum_open and number == minimum)):
        raise ValueError(f"{value!r} must be {'greater than' if minimum_open else 'at least'} {minimum:g}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{value!r} must be at most {maximum:,.0f}" if maximum >= 1e6 else
                         f"{value!r} must be at most {maximum:g}")
    return number


def port(value: object) -> int:
    """A TCP port: 0 (any free port) to 65535."""
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,5}", text) or int(text) > 65535:
        raise ValueError(f"{str(value)[:20]!r} is not a port: use 0 (any free port) to 65535")
    return int(text)


def duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``, ``1y`` (365 days), ``30m`` (minutes), ``45s``, or a sum such as ``1y30d``; longer
    than zero and at most :data:`MAX_DURATION`."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"bad duration {shown!r}: use a number and a unit (s, m, h, d, w, y), e.g. 90d or 1y")
    if any(len(number) > 15 for number, _ in parts):
        raise ValueError(f"duration {shown!r} is too long (at most 1000y)")
    seconds = sum(int(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"bad duration {shown!r}: it must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {shown!r} is too long (at most 1000y)")
    return timedelta(seconds=seconds)


def database_url(url: str) -> str:
    """A database URL short enough to be one; the URL itself is checked when the store opens it."""
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"database URL is {len(url):,} characters long (at most {MAX_URL_CHARS:,}): "
                         f"{url[:40]}...")
    if "\x00" in url:
        raise ValueError("database URL contains a NUL character")
    return url
