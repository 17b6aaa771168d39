"""Turning recorded values into text a person reads: safe characters, truncation, times, numbers, money.

``clean`` is the one place that decides how recorded text is shown. The log keeps every character as delivered;
a transcript must still be a valid UTF-8 file and must not let recorded text drive a terminal. So: ``\\r\\n``
becomes ``\\n``; C0 and C1 control characters other than newline and tab are shown as escapes (``\\x00``,
``\\x1b``, ``\\x85``); a lone surrogate (valid JSON, not encodable as UTF-8) is shown as ``\\ud800``. With
``terminal=True`` the bidirectional controls (U+202A..U+202E, U+2066..U+2069), which can reorder what a
terminal displays, are escaped too. Everything else (emoji, combining marks, right-to-left text, U+2028) is kept.
"""

from __future__ import annotations

import re
from datetime import datetime

from recorder.money import format_money

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)}
_BIDI = {c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_TERMINAL = {**_CONTROLS, **_BIDI}
_SURROGATE = re.compile("[\ud800-\udfff]")


_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean(text: str, *, terminal: bool = False) -> str:
    """Recorded text made safe to write (see the module docstring)."""
    if not _SUSPECT.search(text):  # the common case: nothing to do
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    text = text.translate(_TERMINAL if terminal else _CONTROLS)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def truncate(text: str, max_chars: int, max_lines: int | None = None) -> tuple[str, str | None]:
    """``text`` cut to at most ``max_chars`` characters and ``max_lines`` lines (0 or None: no limit), and a note
    saying what was left out (None when nothing was)."""
    if max_chars <= 0 and not max_lines:
        return text, None
    cut = text[:max_chars] if max_chars > 0 else text
    if max_lines:
        at = -1
        for _ in range(max_lines):
            at = cut.find("\n", at + 1)
            if at < 0:
                break
        if at >= 0:
            cut = cut[:at]
    if len(cut) == len(text):
        return text, None
    lines = text.count("\n") + 1
    return cut, (f"truncated: showing {len(cut):,} of {len(text):,} characters ({lines:,} line"
                 f"{'' if lines == 1 else 's'}); the full text is in the log")


def number(value: int | float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def clock(value: datetime | None) -> str:
    """``HH:MM:SS`` (UTC) of a log time."""
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}" if value is not None else "--:--:--"


def stamp(value: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC`` of a log time."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "unknown"


def duration(seconds: float | None) -> str:
    """A short human duration: ``340 ms``, ``2.1 s``, ``5m 12s``, ``3h 04m``."""
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def money(amount: str | None, currency: str | None) -> str:
    """An amount in major units for people, in the project's one money format (:func:`recorder.money.format_money`)."""
    if amount is None:
        return "unknown"
    shown = format_money(amount, currency)
    return amount if shown == "—" else shown
