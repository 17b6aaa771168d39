"""The time window of a report: ``--since`` / ``--until`` as a user types them.

Accepted: an RFC 3339 / ISO 8601 time (``2026-03-02T10:00:00Z``, offsets converted to UTC; no offset means
UTC), a date (``2026-03-02``, midnight UTC), ``today`` / ``yesterday`` (midnight UTC), or a duration before now
(``90m``, ``36h``, ``7d``, ``2w``). The window is half-open: ``since <= t < until``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from recorder.errors import ConfigError
from recorder.events import parse_time

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Window:
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None

    def describe(self) -> str:
        if not self.bounded:
            return "all time"
        since = self.since.isoformat(sep=" ", timespec="seconds") if self.since else "the beginning"
        until = self.until.isoformat(sep=" ", timespec="seconds") if self.until else "now"
        return f"{since} to {until} UTC"


def parse_point(value: str, option: str, now: datetime | None = None) -> datetime:
    """One end of a window as naive UTC; ConfigError naming ``option`` when it is not understood."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    text = value.strip()
    lowered = text.lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if lowered == "now":
        return now
    if lowered == "today":
        return midnight
    if lowered == "yesterday":
        return midnight - timedelta(days=1)
    match = _DURATION.match(text)
    if match:
        amount, unit = float(match.group(1)), _UNITS[match.group(2).lower()]
        try:
            return now - timedelta(**{unit: amount})
        except (OverflowError, ValueError):  # 99999999d: before year 1
            raise ConfigError(f"{option} {value!r} reaches back before year 1; use a shorter duration or a date") \
                from None
    parsed = parse_time(text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text)
    if parsed is None:
        raise ConfigError(
            f"{option} {value!r}: expected a time like 2026-03-02T10:00:00Z, a date like 2026-03-02, "
            "today, or a duration before now like 36h or 7d"
        )
    return parsed


def window(since: str | None, until: str | None, now: datetime | None = None) -> Window:
    start = parse_point(since, "--since", now) if since else None
    end = parse_point(until, "--until", now) if until else None
    if start is not None and end is not None and start >= end:
        raise ConfigError(f"--since ({since}) must be before --until ({until})")
    return Window(start, end)
