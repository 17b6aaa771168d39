"""Events wrapped once: the same JSON text read on two streams of a session is checked and wrapped one time.

A session's primary thread lists the very events of the session stream, byte for byte, and a backfill reads
both (the log keeps each stream). Wrapping an event — the secret pre-check, scrubbing, its id, key, type and time
(:func:`recorder.events.raw_event`) — depends only on its text and the scrub rules in force, so the second stream
can take the first one's result, with its own thread id. Nothing else changes: each stream still appends its own
rows, in its own order, through the store's idempotency.

Kept by text, in two generations of at most ``limit_chars`` characters of text each (the older generation is
dropped when the newer fills): memory stays bounded whatever the sessions' size, and streams read side by side
(the session stream and its threads are caught up concurrently) find each other's events well within that.
A miss only costs the wrapping the event would have had anyway.
"""

from __future__ import annotations

from recorder.events import RawEvent
from recorder.ingest.scrub import Rules

DEFAULT_LIMIT_CHARS = 8_000_000  # per generation: at most about twice that is held


class Wrapped:
    """Recently wrapped events by their JSON text (see the module docstring)."""

    def __init__(self, limit_chars: int = DEFAULT_LIMIT_CHARS) -> None:
        self.limit_chars = limit_chars
        self._current: dict[str, tuple[Rules, RawEvent]] = {}
        self._previous: dict[str, tuple[Rules, RawEvent]] = {}
        self._chars = 0

    def get(self, text: str, session_id: str, thread_id: str | None, rules: Rules) -> RawEvent | None:
        """The event ``text`` was wrapped as for ``session_id`` under the same ``rules`` (as an event of
        ``thread_id``'s stream), or None."""
        hit = self._current.get(text) or self._previous.get(text)
        if hit is None or hit[0] is not rules:
            return None
        event = hit[1]
        if event.session_id != session_id:
            return None
        if event.thread_id == thread_id:
            return event
        return RawEvent(session_id, thread_id, event.event_id, event.event_key, event.type, event.processed_at,
                        event.payload, event.scrubbed)

    def put(self, text: str, rules: Rules, event: RawEvent) -> None:
        """Remember how ``text`` was wrapped under ``rules``."""
        if self._chars + len(text) > self.limit_chars:
            self._previous, self._current, self._chars = self._current, {}, 0
        self._current[text] = (rules, event)
        self._chars += len(text)

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)
