"""Tombstones of pruned sessions: retention must not be undone by the next ``record --all``.

A prune removes a session's rows but leaves its audit entry (``compliance_audit``, action ``prune``, append-only
and hash-chained): that entry is the tombstone. A session is *tombstoned* while it has such an entry and no row in
``sessions`` (recording it again, on explicit request, brings the row back and lifts the tombstone). No schema
change is needed: the audit trail already says, in a form no one can quietly edit, which sessions were pruned.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, select

from recorder.store import schema as t
from recorder.store.database import Database

CHUNK = 500


def pruned_sessions(store: Database, session_ids: Iterable[str] | None = None) -> dict[str, datetime]:
    """Tombstoned sessions (among ``session_ids``, or all) with when they were last pruned."""
    a = t.compliance_audit.c
    base = (
        select(a.session_id, func.max(a.at))
        .where(and_(a.action == "prune", a.session_id.is_not(None),
                    ~select(t.sessions.c.session_id).where(t.sessions.c.session_id == a.session_id).exists()))
        .group_by(a.session_id)
    )
    found: dict[str, datetime] = {}
    with store.read() as conn:
        if session_ids is None:
            return {sid: at for sid, at in conn.execute(base)}
        wanted = list(dict.fromkeys(session_ids))
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            found.update({sid: at for sid, at in conn.execute(base.where(a.session_id.in_(chunk)))})
    return found
