"""The compliance audit trail: a hash chain of every hold, release and prune, like the event log's streams::

    entry_hash = sha256(prev_hash ‖ canonical JSON of [at, action, session_id, actor, reason, details, version])

with ``prev_hash`` of the first entry = ``AUDIT_GENESIS``. Every writer of the trail holds the log's write lock
(:meth:`Database.lock_log`), so entries are chained in ``audit_id`` order.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from recorder import __version__
from recorder.events import display_text, format_time
from recorder.store import schema as t
from recorder.store.database import inserted_id
from recorder.store.rows import AuditEntry

AUDIT_GENESIS = hashlib.sha256(b"recorder-audit-v1").hexdigest()


def audit_entry_hash(
    prev_hash: str,
    at: datetime,
    action: str,
    session_id: str | None,
    actor: str,
    reason: str,
    details: str,
    tool_version: str,
) -> str:
    canonical = json.dumps(
        [format_time(at), action, session_id, actor, reason, details, tool_version],
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical.encode("ascii")).hexdigest()


def entry_is_intact(entry: AuditEntry) -> bool:
    return entry.entry_hash == audit_entry_hash(
        entry.prev_hash, entry.at, entry.action, entry.session_id, entry.actor, entry.reason, entry.details,
        entry.tool_version,
    )


def audit_entries(conn: Connection, session_id: str | None = None, action: str | None = None) -> list[AuditEntry]:
    a = t.compliance_audit.c
    query = select(a.audit_id, a.at, a.action, a.session_id, a.actor, a.reason, a.details, a.tool_version,
                   a.prev_hash, a.entry_hash).order_by(a.audit_id)
    if session_id is not None:
        query = query.where(a.session_id == session_id)
    if action is not None:
        query = query.where(a.action == action)
    return [AuditEntry(**row._asdict()) for row in conn.execute(query)]


def append_audit(
    conn: Connection, *, action: str, session_id: str | None, actor: str, reason: str, details: dict[str, Any],
    now: datetime,
) -> int:
    """Add one entry to the audit chain; returns its ``audit_id``. The caller holds the log's write lock."""
    a = t.compliance_audit.c
    prev = conn.execute(select(a.entry_hash).order_by(a.audit_id.desc()).limit(1)).scalar() or AUDIT_GENESIS
    actor, reason = display_text(actor) or "", display_text(reason) or ""
    text = json.dumps(details, ensure_ascii=True, separators=(",", ":"))
    digest = audit_entry_hash(prev, now, action, session_id, actor, reason, text, __version__)
    return inserted_id(
        conn.execute(
            insert(t.compliance_audit).values(
                at=now, action=action, session_id=session_id, actor=actor, reason=reason, details=text,
                tool_version=__version__, prev_hash=prev, entry_hash=digest,
            )
        )
    )


def missing_session(conn: Connection, session_id: str) -> str:
    """Why a session is not in the log: pruned (when, by whom) or never recorded."""
    pruned = audit_entries(conn, session_id, "prune")
    if pruned:
        entry = pruned[-1]
        return (f"session {session_id} was pruned on {format_time(entry.at)} by {entry.actor} "
                f"(audit entry {entry.audit_id}); `recorder audit --session {session_id}` shows what was removed")
    return f"session {session_id} is not in the log; `recorder sessions` lists what is recorded"
