"""The data behind the HTTP API: a small protocol the server reads from, so the same HTTP layer can serve
generated scenarios (the emulator) or recorded sessions (a store-backed source for ``recorder serve``).

The HTTP layer owns everything that is about the wire: routing, authentication, query parsing, cursors,
paging, sorting and filtering of sessions/threads/files, SSE framing, heartbeats and fault injection. A source
only answers questions about data:

* objects (sessions, threads, file metadata) as JSON-ready dicts, shaped like the API's;
* a stream's events (``thread_id=None`` is the session stream), in list order, as :class:`EventRecord` — the
  exact JSON text to put on the wire plus the few fields the server needs to filter and page;
* a subscription to a stream's *new* events (the API's stream has no replay);
* file contents.

Event positions. Every event of a stream has an integer ``position``: increasing in list order (``asc``), never
reused, and stable once the event is processed, so a cursor can say "after position p". Positions need not be
dense (a store can use its sequence numbers). Events that are queued (``processed_at`` is null) come after all
processed ones; their position is provisional (it is where they would land if processed now), so the server
never moves a cursor past a queued event.

Missing objects raise :class:`recorder.errors.NotFound`; the server turns that into a 404.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event of one stream as the server puts it on the wire."""

    position: int
    type: str
    processed_at: str | None  # canonical RFC 3339 (see ``wire.format_micros``); None while queued
    json: str  # the event object, exactly as delivered (compact JSON text)

    @property
    def queued(self) -> bool:
        return self.processed_at is None


@dataclass(frozen=True, slots=True)
class EventQuery:
    """What a list request asks of a stream. Time bounds are canonical timestamps compared with
    ``processed_at`` (a queued event matches no time bound); ``types`` None means every type."""

    order: Literal["asc", "desc"] = "asc"
    after: int | None = None  # resume strictly after this position (in ``order``'s direction)
    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    types: frozenset[str] | None = None

    def has_time_bounds(self) -> bool:
        return any(v is not None for v in (self.gt, self.gte, self.lt, self.lte))

    def matches(self, record: EventRecord) -> bool:
        """Whether ``record`` passes the type and time filters (not the position bound)."""
        if self.types is not None and record.type not in self.types:
            return False
        if not self.has_time_bounds():
            return True
        t = record.processed_at
        if t is None:
            return False
        return ((self.gt is None or t > self.gt) and (self.gte is None or t >= self.gte)
                and (self.lt is None or t < self.lt) and (self.lte is None or t <= self.lte))


class Subscription(Protocol):
    """New events of one stream, from the moment of subscribing."""

    def get(self, timeout: float) -> EventRecord | None:
        """The next new event, or None if none arrived within ``timeout`` seconds (or the stream finished)."""

    @property
    def finished(self) -> bool:
        """True once the stream has ended (terminated) and every event of it has been handed out."""

    def close(self) -> None:
        """Stop receiving; idempotent."""


class Source(Protocol):
    """Everything the HTTP layer needs to know about sessions. Methods may be called from many threads."""

    def sessions(self) -> Sequence[dict[str, Any]]:
        """Every session object (any order; the server filters, sorts and pages)."""

    def session(self, session_id: str) -> dict[str, Any]:
        """One session object, as of now."""

    def threads(self, session_id: str) -> Sequence[dict[str, Any]]:
        """The session's thread objects: the primary thread (``parent_thread_id`` null) and its children."""

    def thread(self, session_id: str, thread_id: str) -> dict[str, Any]:
        """One thread object."""

    def events(self, session_id: str, thread_id: str | None, query: EventQuery) -> Iterator[EventRecord]:
        """The stream's events that match ``query``, lazily, in ``query.order``. The server stops reading once it
        has a page, so an implementation should not materialize the stream."""

    def subscribe(self, session_id: str, thread_id: str | None) -> Subscription:
        """A subscription to events emitted from now on (the stream has no replay)."""

    def files(self, scope_id: str | None) -> Sequence[dict[str, Any]]:
        """File metadata objects, all of them or those of one scope (a session id)."""

    def file(self, file_id: str) -> dict[str, Any]:
        """One file's metadata object."""

    def file_content(self, file_id: str) -> bytes:
        """One file's bytes."""


class SessionControl(Protocol):
    """The API's writes, for a server whose source can change (the emulator). Without one, write routes answer
    405. Missing sessions raise NotFound; a refused change raises :class:`recorder.errors.ConfigError`
    (answered 400)."""

    def archive_session(self, session_id: str) -> dict[str, Any]:
        """Archive a session; the archived session object."""

    def delete_session(self, session_id: str) -> dict[str, Any]:
        """Delete a session, its events and its files; ``{"id": ..., "type": "session_deleted"}``."""

    def send_events(self, session_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Send user events to a session; ``{"data": [the events as accepted]}``."""
