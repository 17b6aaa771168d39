"""Compliance writes and reads (:mod:`recorder.compliance`): legal holds, the audit trail, and retention, the only
code that deletes from the log. The consistent scans for verification and export are :mod:`recorder.store.scans`;
the audit chain's hashing is :mod:`recorder.store.audit`; the PostgreSQL roles :mod:`recorder.store.roles`.

Retention (see :meth:`ComplianceStore.prune_session`): in one transaction under the log's write lock, re-check that
the session is still past the cutoff, not held and not being recorded; write the audit entry (what goes: event
counts and chain heads per stream, files with their sha256, snapshots, positions), the removed global positions
(``pruned_ranges``) and the session's ``retention_guard`` row; delete the session's rows; delete the guard row.
The append-only triggers of migration 0002 let a DELETE through only while that guard row exists (and never for
a session under legal hold).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from recorder.errors import NotFound
from recorder.events import display_text, format_time
from recorder.store import schema as t
from recorder.store.audit import append_audit, audit_entries, missing_session
from recorder.store.database import Database, utcnow
from recorder.store.rows import AuditEntry, EventColumns, Hold, SessionActivity
from recorder.store.scans import LogReader, derived_candidates, reading


@dataclass(slots=True)
class PrunedSession:
    """What one prune removed (or, dry run, would remove)."""

    session_id: str
    last_activity: datetime
    events: int
    streams: list[dict[str, Any]]
    files: list[dict[str, Any]]
    snapshots: int
    ranges: list[tuple[int, int]] = field(default_factory=list)
    audit_id: int | None = None


def position_runs(positions: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted positions as maximal runs of consecutive integers: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and position == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


class ComplianceStore:
    """Compliance reads and writes on the log's :class:`Database` (an :class:`~recorder.store.EventStore` is one)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = db.dialect

    # ---- consistent reads

    def reading(self) -> AbstractContextManager[LogReader]:
        """One read transaction over a consistent snapshot of the log (see :mod:`recorder.store.scans`)."""
        return reading(self.db)

    def derived_candidates(
        self, max_position: int, session_id: str | None = None, min_position: int = 1
    ) -> list[EventColumns]:
        """SQLite only: rows whose derived columns may disagree with their payload."""
        return derived_candidates(self.db, max_position, session_id, min_position)

    # ---- audit trail

    def audit_entries(self, session_id: str | None = None, action: str | None = None) -> list[AuditEntry]:
        with self.db.read() as conn:
            return audit_entries(conn, session_id, action)

    def missing_session_message(self, session_id: str) -> str:
        with self.db.read() as conn:
            return missing_session(conn, session_id)

    # ---- legal holds

    def holds(self, session_id: str | None = None) -> list[Hold]:
        h = t.legal_holds.c
        query = select(h.session_id, h.reason, h.held_by, h.held_at).order_by(h.session_id)
        if session_id is not None:
            query = query.where(h.session_id == session_id)
        with self.db.read() as conn:
            return [Hold(*row) for row in conn.execute(query)]

    def add_hold(self, session_id: str, *, reason: str, actor: str) -> tuple[Hold, bool]:
        """Put a session under legal hold. Returns (the hold, True if it is new); holding again changes nothing."""
        now = utcnow()
        h = t.legal_holds.c
        with self.db.write() as conn:
            self.db.lock_log(conn)
            if conn.execute(select(t.sessions.c.session_id).where(t.sessions.c.session_id == session_id)).first() \
                    is None:
                raise NotFound(missing_session(conn, session_id))
            existing = conn.execute(
                select(h.session_id, h.reason, h.held_by, h.held_at).where(h.session_id == session_id)
            ).first()
            if existing is not None:
                return Hold(*existing), False
            hold = Hold(session_id, display_text(reason) or "", display_text(actor) or "", now)
            conn.execute(insert(t.legal_holds).values(
                session_id=session_id, reason=hold.reason, held_by=hold.held_by, held_at=now))
            append_audit(conn, action="hold", session_id=session_id, actor=actor, reason=reason, details={},
                         now=now)
            return hold, True

    def release_hold(self, session_id: str, *, reason: str, actor: str) -> Hold:
        """Release a session's legal hold; returns the hold that was released."""
        now = utcnow()
        h = t.legal_holds.c
        with self.db.write() as conn:
            self.db.lock_log(conn)
            row = conn.execute(
                select(h.session_id, h.reason, h.held_by, h.held_at).where(h.session_id == session_id)
            ).first()
            if row is None:
                raise NotFound(f"session {session_id} is not under legal hold; `recorder hold list` shows the holds")
            hold = Hold(*row)
            # The audit entry first: the legal_holds trigger (0003) lets a hold row go only right after its release.
            append_audit(
                conn, action="release", session_id=session_id, actor=actor, reason=reason, now=now,
                details={"held_at": format_time(hold.held_at), "held_by": hold.held_by, "hold_reason": hold.reason},
            )
            conn.execute(delete(t.legal_holds).where(h.session_id == session_id))
            return hold

    # ---- retention

    def activity(self) -> list[SessionActivity]:
        """Every session's last activity: the latest of the last time the recorder wrote anything for it (an
        event, a snapshot, a file) and the latest ``processed_at`` among its events."""
        with self.db.read() as conn:
            return [row for row in self._activity(conn, None)]

    def _activity(self, conn: Connection, session_id: str | None) -> list[SessionActivity]:
        s, e, sn, f, h, le = (t.sessions.c, t.events.c, t.session_snapshots.c, t.session_files.c, t.legal_holds.c,
                              t.leases.c)
        latest = [
            select(e.session_id, func.max(e.processed_at).label("at")).group_by(e.session_id),
            select(sn.session_id, func.max(sn.taken_at).label("at")).group_by(sn.session_id),
            select(f.session_id, func.max(f.archived_at).label("at")).group_by(f.session_id),
        ]
        if session_id is not None:
            latest = [q.where(q.selected_columns[0] == session_id) for q in latest]
        events, snaps, files = (q.subquery() for q in latest)
        query = (
            select(s.session_id, s.last_recorded_at, events.c.at, snaps.c.at, files.c.at, h.session_id, le.expires_at)
            .select_from(
                t.sessions.outerjoin(events, events.c.session_id == s.session_id)
                .outerjoin(snaps, snaps.c.session_id == s.session_id)
                .outerjoin(files, files.c.session_id == s.session_id)
                .outerjoin(t.legal_holds, h.session_id == s.session_id)
                .outerjoin(t.leases, le.session_id == s.session_id)
            )
            .order_by(s.session_id)
        )
        if session_id is not None:
            query = query.where(s.session_id == session_id)
        out = []
        for sid, recorded, event_at, snap_at, file_at, held, lease in conn.execute(query):
            last = max(x for x in (recorded, event_at, snap_at, file_at) if x is not None)
            out.append(SessionActivity(sid, last, held is not None, lease))
        return out

    def prune_session(
        self, session_id: str, *, cutoff: datetime, actor: str, reason: str, criteria: dict[str, Any],
        dry_run: bool = False,
    ) -> PrunedSession | None:
        """Remove one whole session if, checked under the log's write lock, it is still past ``cutoff``, not held
        and not being recorded (no unexpired lease). Returns what was removed (dry run: what would be), or None."""
        now = utcnow()
        with self.db.read() if dry_run else self.db.write() as conn:
            if not dry_run:
                self.db.lock_log(conn)
            found = self._activity(conn, session_id)
            activity = found[0] if found else None
            if activity is None or activity.held or activity.last_activity >= cutoff:
                return None
            if activity.leased_until is not None and activity.leased_until > now:
                return None
            plan = self._plan(conn, activity)
            if dry_run:
                return plan
            details = {
                **criteria,
                "cutoff": format_time(cutoff),
                "last_activity": format_time(activity.last_activity),
                "events": plan.events,
                "streams": plan.streams,
                "files": plan.files,
                "snapshots": plan.snapshots,
                "positions": {
                    "ranges": len(plan.ranges),
                    "first": plan.ranges[0][0] if plan.ranges else None,
                    "last": plan.ranges[-1][1] if plan.ranges else None,
                },
            }
            plan.audit_id = append_audit(
                conn, action="prune", session_id=session_id, actor=actor, reason=reason, details=details, now=now
            )
            if plan.ranges:
                conn.execute(insert(t.pruned_ranges), [
                    {"first_position": a, "last_position": b, "audit_id": plan.audit_id} for a, b in plan.ranges
                ])
            conn.execute(insert(t.retention_guard).values(session_id=session_id, audit_id=plan.audit_id))
            self._delete_session(conn, session_id, [f["sha256"] for f in plan.files])
            conn.execute(delete(t.retention_guard).where(t.retention_guard.c.session_id == session_id))
            return plan

    def _plan(self, conn: Connection, activity: SessionActivity) -> PrunedSession:
        sid = activity.session_id
        s, e, f = t.streams.c, t.events.c, t.session_files.c
        streams = [
            {"thread_id": thread, "events": int(last_seq), "head_hash": head}
            for thread, last_seq, head in conn.execute(
                select(s.thread_id, s.last_seq, s.head_hash).where(s.session_id == sid).order_by(s.stream_id)
            )
        ]
        positions = conn.execute(select(e.position).where(e.session_id == sid).order_by(e.position)).scalars()
        ranges = position_runs(int(p) for p in positions)
        files = [
            {"file_id": file_id, "sha256": digest, "size_bytes": int(size)}
            for file_id, digest, size in conn.execute(
                select(f.file_id, f.sha256, f.size_bytes).where(f.session_id == sid).order_by(f.file_id)
            )
        ]
        snapshots = conn.execute(
            select(func.count()).select_from(t.session_snapshots).where(t.session_snapshots.c.session_id == sid)
        ).scalar_one()
        return PrunedSession(
            session_id=sid, last_activity=activity.last_activity, events=sum(r[1] - r[0] + 1 for r in ranges),
            streams=streams, files=files, snapshots=int(snapshots), ranges=ranges,
        )

    def _delete_session(self, conn: Connection, session_id: str, blob_hashes: list[str]) -> None:
        """Delete every row of one session, children first. Only inside :meth:`prune_session`. The session's
        lease row stays (expired): its fencing token must keep counting up if the session is recorded again."""
        stream_ids = select(t.streams.c.stream_id).where(t.streams.c.session_id == session_id).scalar_subquery()
        conn.execute(delete(t.events).where(t.events.c.session_id == session_id))
        conn.execute(delete(t.checkpoints).where(t.checkpoints.c.stream_id.in_(stream_ids)))
        conn.execute(delete(t.streams).where(t.streams.c.session_id == session_id))
        conn.execute(delete(t.session_snapshots).where(t.session_snapshots.c.session_id == session_id))
        conn.execute(delete(t.session_files).where(t.session_files.c.session_id == session_id))
        conn.execute(delete(t.threads).where(t.threads.c.session_id == session_id))
        conn.execute(delete(t.sessions).where(t.sessions.c.session_id == session_id))
        # what the recorder knew of its life upstream goes too: a pruned session is known by its tombstone only
        conn.execute(delete(t.session_lifecycle).where(t.session_lifecycle.c.session_id == session_id))
        if blob_hashes:
            still_used = select(t.session_files.c.sha256).where(t.session_files.c.sha256.in_(blob_hashes))
            conn.execute(
                delete(t.file_blobs).where(
                    and_(t.file_blobs.c.sha256.in_(blob_hashes), t.file_blobs.c.sha256.not_in(still_used))
                )
            )
