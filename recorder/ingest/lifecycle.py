"""A session's life as the API documents it, read from what the recorder sees (snapshots, status events, lists).

- Sessions start ``idle`` and go ``running`` ↔ ``idle``; ``rescheduling`` is transient. A finished session is
  ``idle``, not ``terminated``: it may run again days later.
- ``session.status_idle`` carries ``stop_reason``. ``requires_action`` waits for the client (the session is still
  *active*); any other reason waits for a new message: once quiet for the settle time the session is *settled*.
- ``terminated`` (an unrecoverable error) and archived sessions take nothing more: *closed*.
- A deleted session answers 404 everywhere; an open stream receives ``session.deleted`` and ends.

The session object carries no ``stop_reason``: only the latest ``session.status_idle`` event tells whether an
idle session waits for the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder.events import parse_time
from recorder.store import SessionState

ACTIVE, SETTLED, CLOSED, DELETED = "active", "settled", "closed", "deleted"
END_EVENT_TYPES = frozenset({"session.status_terminated", "session.deleted"})
RUN_EVENT_TYPES = frozenset({"session.status_running", "session.status_rescheduled"})
DEFAULT_SETTLE = 5.0
DEFAULT_SWEEP_INTERVAL = 60.0
# Output files show up in files.list one to three seconds after the session goes idle.
FILE_INDEX_LAG = 3.5


def is_closed(session: dict[str, Any]) -> bool:
    """Terminated or archived: nothing more can come."""
    return session.get("status") == "terminated" or bool(session.get("archived_at"))


@dataclass
class Upstream:
    """What the API said about a session, as far as its lifecycle goes."""

    status: str | None
    updated_at: datetime | None
    archived_at: datetime | None

    @classmethod
    def of(cls, session: dict[str, Any]) -> Upstream:
        status = session.get("status")
        return cls(status if isinstance(status, str) else None, parse_time(session.get("updated_at")),
                   parse_time(session.get("archived_at")))


def unchanged(listed: dict[str, Any], known: SessionState | None) -> bool:
    """True when ``listed`` (an entry of ``sessions.list``) says what the API said when the session was last
    recorded whole, and that was a resting state: recording it again would find nothing new."""
    if known is None or known.state not in (SETTLED, CLOSED, ACTIVE):
        return False
    if known.upstream_status not in ("idle", "terminated"):
        return False  # running or rescheduling when last seen: events may have come without a status change
    now = Upstream.of(listed)
    return (now.status, now.updated_at, now.archived_at) == (
        known.upstream_status, known.upstream_updated_at, known.archived_at
    )


@dataclass
class Watch:
    """Follows one session's status from the events of its session stream."""

    status: str | None = None
    requires_action: bool = False
    idle_at: datetime | None = None  # processed_at of the latest session.status_idle
    deleted: bool = False
    ended: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self, session: dict[str, Any]) -> None:
        status = session.get("status")
        if isinstance(status, str):
            self.status = status
        if is_closed(session):
            self.ended = True

    def see(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.status_idle":
            self.status = "idle"
            reason = event.get("stop_reason")
            self.requires_action = isinstance(reason, dict) and reason.get("type") == "requires_action"
            self.idle_at = parse_time(event.get("processed_at"))
        elif kind in RUN_EVENT_TYPES:
            self.status = "running" if kind == "session.status_running" else "rescheduling"
            self.requires_action = False
        elif kind in END_EVENT_TYPES:
            self.ended = True
            if kind == "session.deleted":
                self.deleted = True
            else:
                self.status = "terminated"

    @property
    def resting(self) -> bool:
        """Idle and waiting for a new message (not for the client)."""
        return self.status == "idle" and not self.requires_action


def state_of(session: dict[str, Any], watch: Watch) -> str:
    """The lifecycle state a session recorded whole up to ``session`` (a snapshot) is in."""
    if is_closed(session):
        return CLOSED
    if session.get("status") == "idle" and not watch.requires_action:
        return SETTLED
    return ACTIVE
