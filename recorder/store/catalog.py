"""The catalog: what the log knows about sessions and threads (rows, snapshots) and the recording runs.

``ensure_session`` / ``ensure_thread`` create the catalog rows other tables point at; the event log, the file
archive and snapshots call them inside their own transactions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from recorder.errors import NotFound
from recorder.events import display_text, dump_json, parse_time
from recorder.store import schema as t
from recorder.store.database import Database, inserted_id, utcnow
from recorder.store.rows import LatestSnapshot, RunRow, SessionSummary


def ensure_session(db: Database, conn: Connection, session_id: str, now: datetime) -> None:
    conn.execute(
        db.upsert(t.sessions)
        .values(session_id=session_id, first_recorded_at=now, last_recorded_at=now)
        .on_conflict_do_nothing(index_elements=["session_id"])
    )


def ensure_thread(db: Database, conn: Connection, session_id: str, thread_id: str, now: datetime) -> None:
    conn.execute(
        db.upsert(t.threads)
        .values(session_id=session_id, thread_id=thread_id, first_recorded_at=now)
        .on_conflict_do_nothing(index_elements=["session_id", "thread_id"])
    )


class Catalog:
    """Sessions, threads, their snapshots, and the recording runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- sessions and threads

    def session_ids(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.execute(select(t.sessions.c.session_id).order_by(t.sessions.c.session_id)).scalars())

    def has_session(self, session_id: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(t.sessions.c.session_id).where(t.sessions.c.session_id == session_id)).first() \
                is not None

    def require_session(self, session_id: str) -> None:
        if not self.has_session(session_id):
            raise NotFound(f"session {session_id} is not in the log; `recorder sessions` lists what is recorded")

    def thread_ids(self, session_id: str) -> list[str]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(t.threads.c.thread_id)
                    .where(t.threads.c.session_id == session_id)
                    .order_by(t.threads.c.created_at, t.threads.c.thread_id)
                ).scalars()
            )

    def sessions(self) -> list[SessionSummary]:
        """Every recorded session with its status, distinct event and thread counts and times."""
        counts = (
            select(
                t.events.c.session_id.label("session_id"),
                # distinct: the same event can sit in several streams of a session (a thread's and the session's)
                func.count(t.events.c.event_key.distinct()).label("events"),
                func.min(t.events.c.processed_at).label("first_event_at"),
                func.max(t.events.c.processed_at).label("last_event_at"),
            )
            .group_by(t.events.c.session_id)
            .subquery()
        )
        thread_counts = (
            select(t.threads.c.session_id.label("session_id"), func.count().label("threads"))
            .group_by(t.threads.c.session_id)
            .subquery()
        )
        query = (
            select(
                t.sessions.c.session_id,
                t.sessions.c.status,
                t.sessions.c.title,
                t.sessions.c.agent_name,
                t.sessions.c.model,
                t.sessions.c.created_at,
                func.coalesce(counts.c.events, 0),
                func.coalesce(thread_counts.c.threads, 0),
                counts.c.first_event_at,
                counts.c.last_event_at,
                t.sessions.c.last_recorded_at,
            )
            .outerjoin(counts, counts.c.session_id == t.sessions.c.session_id)
            .outerjoin(thread_counts, thread_counts.c.session_id == t.sessions.c.session_id)
            .order_by(t.sessions.c.created_at, t.sessions.c.session_id)
        )
        with self.db.read() as conn:
            return [SessionSummary(*row) for row in conn.execute(query)]

    # ---- snapshots

    def record_snapshot(
        self, session_id: str, snapshot: dict[str, Any], *, thread_id: str | None = None, run_id: int | None = None
    ) -> bool:
        """Keep what the API said about a session (or one of its threads), if it changed. True when it did.

        The caller scrubs secrets first. Summary columns (status, title, agent, model) follow the snapshot.
        """
        return self.record_snapshots(session_id, [(thread_id, snapshot)], run_id=run_id)[0]

    def record_snapshots(
        self, session_id: str, snapshots: Sequence[tuple[str | None, dict[str, Any]]], *, run_id: int | None = None
    ) -> list[bool]:
        """:meth:`record_snapshot` for several snapshots of one session (``(thread_id, snapshot)``, None for the
        session itself) in one transaction: a session's snapshot and its threads' cost one commit."""
        if not snapshots:
            return []
        now = utcnow()
        with self.db.write() as conn:
            ensure_session(self.db, conn, session_id, now)
            return [self._snapshot(conn, session_id, thread_id, snapshot, run_id, now)
                    for thread_id, snapshot in snapshots]

    def _snapshot(self, conn: Connection, session_id: str, thread_id: str | None, snapshot: dict[str, Any],
                  run_id: int | None, now: datetime) -> bool:
        payload = dump_json(snapshot)
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        summary = _summary_columns(snapshot)
        if thread_id is not None:
            ensure_thread(self.db, conn, session_id, thread_id, now)
        last = conn.execute(
            select(t.session_snapshots.c.payload_hash)
            .where(
                and_(
                    t.session_snapshots.c.session_id == session_id,
                    t.session_snapshots.c.thread_id.is_(None)
                    if thread_id is None
                    else t.session_snapshots.c.thread_id == thread_id,
                )
            )
            .order_by(t.session_snapshots.c.snapshot_id.desc())
            .limit(1)
        ).scalar()
        if last == digest:
            return False
        conn.execute(
            insert(t.session_snapshots).values(
                session_id=session_id,
                thread_id=thread_id,
                taken_at=now,
                status=summary.get("status"),
                payload=payload,
                payload_hash=digest,
                run_id=run_id,
            )
        )
        if thread_id is None:
            conn.execute(
                update(t.sessions)
                .where(t.sessions.c.session_id == session_id)
                .values(snapshot=payload, **summary)
            )
        else:
            summary.pop("title", None)
            summary.pop("agent_id", None)
            conn.execute(
                update(t.threads)
                .where(and_(t.threads.c.session_id == session_id, t.threads.c.thread_id == thread_id))
                .values(
                    snapshot=payload, parent_thread_id=display_text(snapshot.get("parent_thread_id")), **summary
                )
            )
        return True

    def latest_snapshot(self, session_id: str, thread_id: str | None = None) -> dict[str, Any] | None:
        table = t.sessions if thread_id is None else t.threads
        condition = t.sessions.c.session_id == session_id
        if thread_id is not None:
            condition = and_(t.threads.c.session_id == session_id, t.threads.c.thread_id == thread_id)
        with self.db.read() as conn:
            payload = conn.execute(select(table.c.snapshot).where(condition)).scalar()
        return json.loads(payload) if payload else None

    def latest_snapshots(self) -> list[LatestSnapshot]:
        """The latest snapshot of every session (thread None) and thread that has one."""
        with self.db.read() as conn:
            sessions = conn.execute(
                select(t.sessions.c.session_id, t.sessions.c.snapshot).where(t.sessions.c.snapshot.is_not(None))
            ).all()
            threads = conn.execute(
                select(t.threads.c.session_id, t.threads.c.thread_id, t.threads.c.snapshot).where(
                    t.threads.c.snapshot.is_not(None)
                )
            ).all()
        return [LatestSnapshot(s, None, p) for s, p in sessions] + [LatestSnapshot(s, th, p) for s, th, p in threads]

    # ---- recording runs

    def start_run(self, *, mode: str, command: str, user: str, host: str, pid: int, version: str) -> int:
        with self.db.write() as conn:
            return inserted_id(
                conn.execute(
                    insert(t.recording_runs).values(
                        started_at=utcnow(),
                        user_name=user,
                        host=host,
                        pid=pid,
                        version=version,
                        mode=mode,
                        command=command,
                        sessions_count=0,
                        events_added=0,
                        outcome="running",
                    )
                )
            )

    def finish_run(
        self, run_id: int, *, outcome: str, sessions_count: int, events_added: int, error: str | None = None
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(t.recording_runs)
                .where(t.recording_runs.c.run_id == run_id)
                .values(
                    finished_at=utcnow(),
                    outcome=outcome,
                    sessions_count=sessions_count,
                    events_added=events_added,
                    error=error,
                )
            )

    def runs(self, limit: int = 50) -> list[RunRow]:
        """The latest recording runs, newest first."""
        r = t.recording_runs.c
        query = select(r.run_id, r.started_at, r.finished_at, r.user_name, r.host, r.pid, r.version, r.mode,
                       r.command, r.sessions_count, r.events_added, r.outcome, r.error)
        with self.db.read() as conn:
            return [RunRow(**row._asdict()) for row in conn.execute(query.order_by(r.run_id.desc()).limit(limit))]


def _summary_columns(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The few columns of ``sessions``/``threads`` kept beside a snapshot, from the API's object."""
    agent: dict[str, Any] = raw if isinstance(raw := snapshot.get("agent"), dict) else {}
    model = agent.get("model")
    if isinstance(model, dict):
        model = model.get("id")
    return {
        "status": display_text(snapshot.get("status")),
        "title": display_text(snapshot.get("title")),
        "agent_id": display_text(agent.get("id")),
        "agent_name": display_text(agent.get("name")),
        "model": display_text(model) if isinstance(model, str) else None,
        "created_at": parse_time(snapshot.get("created_at")),
        "updated_at": parse_time(snapshot.get("updated_at")),
    }
