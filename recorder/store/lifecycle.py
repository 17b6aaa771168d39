"""Where each session is in its life, as the log knows it, and the webhook deliveries the recorder accepted.

States (``session_lifecycle.state``):

- ``active`` — running, rescheduling, or idle waiting for the client (``requires_action``);
- ``settled`` — idle for another reason and quiet for the settle time, caught up as of that moment; it may run
  again later (a new user message), and is then ``active`` again;
- ``closed`` — terminated or archived: nothing more can come (its streams are also marked complete);
- ``deleted`` — deleted upstream: the log keeps everything recorded, the deletion is entered once in the
  compliance audit trail (action ``deleted_upstream``), and the state never changes again.

Beside the state, the row keeps what the API said when the session was last recorded (status, ``updated_at``,
``archived_at``): a ``sessions.list`` entry saying the same means nothing new happened (:meth:`Lifecycle.unchanged`).

Webhook deliveries are kept by ``webhook-id`` before they are acknowledged (:meth:`Lifecycle.accept_delivery`), so
an acknowledged delivery survives a crash; ``handled_at`` is set once its session was recorded after it arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update

from recorder.store import schema as t
from recorder.store.audit import append_audit
from recorder.store.database import Database, utcnow
from recorder.store.leases import Lease, release_in

STATES = ("active", "settled", "closed", "deleted")
DELETED_ACTION = "deleted_upstream"


@dataclass(frozen=True, slots=True)
class SessionState:
    session_id: str
    state: str
    upstream_status: str | None
    upstream_updated_at: datetime | None
    archived_at: datetime | None
    deleted_at: datetime | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    webhook_id: str
    received_at: datetime
    event_type: str | None
    session_id: str | None
    payload: str


_STATE_COLUMNS = (
    t.session_lifecycle.c.session_id,
    t.session_lifecycle.c.state,
    t.session_lifecycle.c.upstream_status,
    t.session_lifecycle.c.upstream_updated_at,
    t.session_lifecycle.c.archived_at,
    t.session_lifecycle.c.deleted_at,
    t.session_lifecycle.c.changed_at,
)


class Lifecycle:
    """Lifecycle states and webhook deliveries on a :class:`~recorder.store.Database` (an ``EventStore`` is one)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- states

    def state(self, session_id: str) -> SessionState | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(*_STATE_COLUMNS).where(t.session_lifecycle.c.session_id == session_id)
            ).first()
        return SessionState(*row) if row is not None else None

    def states(self) -> dict[str, SessionState]:
        with self.db.read() as conn:
            return {row[0]: SessionState(*row) for row in conn.execute(select(*_STATE_COLUMNS))}

    def set_state(
        self,
        session_id: str,
        state: str,
        *,
        upstream_status: str | None,
        upstream_updated_at: datetime | None,
        archived_at: datetime | None,
        release: Lease | None = None,
    ) -> bool:
        """Record a session's state and what the API said. A session marked deleted stays so (False then).
        ``release``: give this lease up in the same transaction (the last write of a session's recording)."""
        if state not in STATES or state == "deleted":
            raise ValueError(f"state must be one of active, settled, closed (got {state!r})")
        values: dict[str, Any] = {
            "state": state,
            "upstream_status": upstream_status,
            "upstream_updated_at": upstream_updated_at,
            "archived_at": archived_at,
            "changed_at": utcnow(),
        }
        c = t.session_lifecycle.c
        with self.db.write() as conn:
            conn.execute(
                self.db.upsert(t.session_lifecycle)
                .values(session_id=session_id, **values)
                .on_conflict_do_nothing(index_elements=["session_id"])
            )
            result = conn.execute(
                update(t.session_lifecycle)
                .where(and_(c.session_id == session_id, c.state != "deleted"))
                .values(**values)
                .returning(c.session_id)
            )
            changed = result.first() is not None
            if release is not None:
                release_in(conn, release)
            return changed

    def mark_deleted(self, session_id: str, *, actor: str, reason: str, details: dict[str, Any]) -> bool:
        """The session was deleted upstream: mark it and enter the deletion in the audit trail, once, in one
        transaction. True when this call marked it (False: it was marked before)."""
        now = utcnow()
        c = t.session_lifecycle.c
        with self.db.write() as conn:
            self.db.lock_log(conn)
            row = conn.execute(select(c.state).where(c.session_id == session_id)).first()
            if row is not None and row.state == "deleted":
                return False
            if row is None:
                conn.execute(
                    self.db.upsert(t.session_lifecycle).values(
                        session_id=session_id, state="deleted", deleted_at=now, changed_at=now
                    )
                )
            else:
                conn.execute(
                    update(t.session_lifecycle)
                    .where(c.session_id == session_id)
                    .values(state="deleted", deleted_at=now, changed_at=now)
                )
            append_audit(
                conn, action=DELETED_ACTION, session_id=session_id, actor=actor, reason=reason, details=details,
                now=now,
            )
            return True

    # ---- webhook deliveries

    def accept_delivery(
        self, webhook_id: str, *, event_type: str | None, session_id: str | None, payload: str
    ) -> bool:
        """Keep one delivery (committed when this returns). False when this ``webhook_id`` was kept before."""
        with self.db.write() as conn:
            result = conn.execute(
                self.db.upsert(t.webhook_deliveries)
                .values(webhook_id=webhook_id, received_at=utcnow(), event_type=event_type, session_id=session_id,
                        payload=payload)
                .on_conflict_do_nothing(index_elements=["webhook_id"])
                .returning(t.webhook_deliveries.c.webhook_id)
            )
            return result.first() is not None

    def pending_deliveries(self) -> list[Delivery]:
        """Deliveries whose session has not been recorded since they arrived, oldest first."""
        d = t.webhook_deliveries.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(d.webhook_id, d.received_at, d.event_type, d.session_id, d.payload)
                .where(d.handled_at.is_(None))
                .order_by(d.received_at, d.webhook_id)
            ).all()
        return [Delivery(*row) for row in rows]

    def deliveries(self) -> list[Delivery]:
        d = t.webhook_deliveries.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(d.webhook_id, d.received_at, d.event_type, d.session_id, d.payload)
                .order_by(d.received_at, d.webhook_id)
            ).all()
        return [Delivery(*row) for row in rows]

    def mark_handled(self, session_id: str | None, received_before: datetime) -> int:
        """Deliveries about ``session_id`` (None: those naming no session) that arrived before
        ``received_before`` are handled: the session was recorded after them."""
        d = t.webhook_deliveries.c
        which = d.session_id.is_(None) if session_id is None else d.session_id == session_id
        with self.db.write() as conn:
            result = conn.execute(
                update(t.webhook_deliveries)
                .where(and_(which, d.handled_at.is_(None), d.received_at <= received_before))
                .values(handled_at=utcnow())
                .returning(d.webhook_id)
            )
            return len(result.all())
