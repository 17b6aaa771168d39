"""Lists that lead nowhere: a cursor that comes back, or pages that bring nothing new yet point further.

A list API answering with a ``next_page`` that leads back to a page already read would be followed forever (21
requests a second, no progress, and a deadline only turns that into "run the same command again", which loops
again). Every cursor-paginated read of the recorder goes through :class:`Progress`, which stops it with one line.
"""

from __future__ import annotations

from typing import Any

from recorder.errors import StreamStopped

IDLE_PAGES = 3  # pages in a row that bring nothing new (yet point further) before a list is called looping


class Progress:
    """Detects a list that leads nowhere: a cursor already followed, or pages in a row that bring no item not
    already seen in this pass. A cursor leading back to itself would otherwise be followed forever."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.cursors: set[str] = set()
        self.items: set[tuple[str, ...]] = set()
        self.idle = 0

    def page(self, items: list[Any], next_page: str | None) -> None:
        """Account for one page; StreamStopped if following ``next_page`` would go round in circles."""
        keys = {_item_key(item) for item in items}
        new = keys - self.items
        self.items |= keys
        if not next_page:
            return
        if next_page in self.cursors:
            raise StreamStopped(f"{self.what}: the API's cursor {next_page[:60]!r} leads back to a page already "
                                "read (a loop); this stream stops, everything before it is recorded")
        self.cursors.add(next_page)
        self.idle = 0 if new else self.idle + 1
        if self.idle >= IDLE_PAGES:
            raise StreamStopped(f"{self.what}: {self.idle} pages in a row brought nothing new although the API "
                                "points to more (a loop); this stream stops, everything before it is recorded")


def _item_key(item: Any) -> tuple[str, ...]:
    """What tells items apart: id, type and time. Three strings as they are (the common case, no ``repr``);
    anything else as four (or two) texts, so that the kinds never compare equal."""
    if isinstance(item, dict):
        event_id, kind, at = item.get("id"), item.get("type"), item.get("processed_at")
        if type(event_id) is str and type(kind) is str and type(at) is str:
            return (event_id, kind, at)
        return ("", repr(event_id), repr(kind), repr(at))
    return ("", repr(item)[:200])
