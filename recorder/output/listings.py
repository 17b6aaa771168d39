"""What the listing commands print (``sessions``, ``hold list``, ``audit``): one function per listing for
scripts (JSON-ready records, the field names scripts rely on) and one for people (a table through the one table
renderer, :func:`recorder.output.formats.simple_table`). The CLI only picks one and prints it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from recorder.events import format_time
from recorder.output.formats import simple_table


# What the listings read of the store's rows (read-only, so frozen dataclasses fit).
class SessionLike(Protocol):
    @property
    def session_id(self) -> str: ...

    @property
    def status(self) -> str | None: ...

    @property
    def title(self) -> str | None: ...

    @property
    def agent_name(self) -> str | None: ...

    @property
    def model(self) -> str | None: ...

    @property
    def created_at(self) -> datetime | None: ...

    @property
    def events(self) -> int: ...

    @property
    def threads(self) -> int: ...

    @property
    def first_event_at(self) -> datetime | None: ...

    @property
    def last_event_at(self) -> datetime | None: ...

    @property
    def last_recorded_at(self) -> datetime: ...


class HoldLike(Protocol):
    @property
    def session_id(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def held_by(self) -> str: ...

    @property
    def held_at(self) -> datetime: ...


class AuditLike(Protocol):
    @property
    def audit_id(self) -> int: ...

    @property
    def at(self) -> datetime: ...

    @property
    def action(self) -> str: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def actor(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def tool_version(self) -> str: ...

    @property
    def entry_hash(self) -> str: ...


    @property
    def data(self) -> Any: ...


def short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


class StateLike(Protocol):
    @property
    def state(self) -> str: ...
    @property
    def archived_at(self) -> datetime | None: ...
    @property
    def deleted_at(self) -> datetime | None: ...


CAUGHT_UP_STATES = ("settled", "closed", "deleted")


def _pending(session_id: str, complete: Collection[str], states: Mapping[str, StateLike]) -> bool:
    """Not known to be caught up: neither complete nor settled, closed or deleted when last recorded."""
    state = states.get(session_id)
    return session_id not in complete and (state is None or state.state not in CAUGHT_UP_STATES)


def sessions_json(rows: Sequence[SessionLike], complete: Collection[str],
                  states: Mapping[str, StateLike] | None = None) -> list[dict[str, Any]]:
    """One object per session; ``state`` is the lifecycle state in the log (active, settled, closed, deleted),
    ``archived_at`` / ``deleted_at`` null when not."""
    states = states or {}
    out = []
    for r in rows:
        state = states.get(r.session_id)
        out.append({
            "session_id": r.session_id, "status": r.status, "state": state.state if state else None,
            "archived_at": format_time(state.archived_at) if state else None,
            "deleted_at": format_time(state.deleted_at) if state else None,
            "title": r.title, "agent": r.agent_name,
            "model": r.model, "created_at": format_time(r.created_at), "events": r.events,
            "threads": r.threads, "first_event_at": format_time(r.first_event_at),
            "last_event_at": format_time(r.last_event_at), "last_recorded_at": format_time(r.last_recorded_at),
            "complete": r.session_id in complete,
        })
    return out


def any_pending(rows: Sequence[SessionLike], complete: Collection[str],
                states: Mapping[str, StateLike] | None = None) -> bool:
    return any(_pending(r.session_id, complete, states or {}) for r in rows)


def sessions_table(rows: Sequence[SessionLike], complete: Collection[str],
                   states: Mapping[str, StateLike] | None = None) -> str:
    """The table; a session not known to be caught up has a ``*`` after its status."""
    states = states or {}

    def state_of(session_id: str) -> str:
        state = states.get(session_id)
        return state.state if state else "-"

    return simple_table(
        ("SESSION", "STATUS", "STATE", "EVENTS", "THREADS", "LAST EVENT", "RECORDED", "AGENT", "TITLE"),
        [(r.session_id, (r.status or "?") + ("*" if _pending(r.session_id, complete, states) else ""),
          state_of(r.session_id), f"{r.events:,}",
          str(r.threads), short_time(r.last_event_at), short_time(r.last_recorded_at),
          " / ".join(x for x in (r.agent_name, r.model) if x), (r.title or "")[:40])
         for r in rows],
        numeric=("EVENTS", "THREADS"),
    )


def holds_json(holds: Sequence[HoldLike]) -> list[dict[str, Any]]:
    return [{"session_id": h.session_id, "held_at": format_time(h.held_at), "held_by": h.held_by,
             "reason": h.reason} for h in holds]


def holds_table(holds: Sequence[HoldLike]) -> str:
    return simple_table(("SESSION", "HELD SINCE", "BY", "REASON"),
                        [(h.session_id, format_time(h.held_at) or "", h.held_by, h.reason) for h in holds])


def audit_json(entries: Sequence[AuditLike]) -> list[dict[str, Any]]:
    return [{"audit_id": e.audit_id, "at": format_time(e.at), "action": e.action, "session_id": e.session_id,
             "actor": e.actor, "reason": e.reason, "details": e.data, "tool_version": e.tool_version,
             "entry_hash": e.entry_hash} for e in entries]


def audit_table(entries: Sequence[AuditLike]) -> str:
    return simple_table(
        ("ID", "AT", "ACTION", "SESSION", "BY", "REASON", "REMOVED"),
        [(str(e.audit_id), format_time(e.at) or "", e.action, e.session_id or "-", e.actor, e.reason,
          f"{e.data.get('events', 0):,} events" if e.action == "prune" else "") for e in entries],
        numeric=("ID",),
    )
