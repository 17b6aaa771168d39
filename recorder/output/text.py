"""Small wording helpers shared by every command's plain-text output."""

from __future__ import annotations


def counted(count: int, one: str, many: str | None = None) -> str:
    """``1 event``, ``2 events``, ``1,000 audit entries``."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
