"""The reads behind ``recorder ui``: a page of sessions (sorted, filtered, paged in the database), one session's
threads, status changes and a window of its events, legal holds and the audit trail.

Everything the list sorts or filters on is a column: the log's ``sessions`` and ``threads`` tables, and the
totals of the UI's read model (``ui_sessions``, kept by :mod:`recorder.store.search`). A page is read in two
steps: the ids of the page (sorted and limited in SQL), then the rows of those ids only, so the snapshot JSON of
the page's sessions is all that is parsed, however many sessions the log holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from recorder.events import format_time
from recorder.money import money_amount
from recorder.store import schema as t
from recorder.store.eventstore import EventStore
from recorder.store.rows import StoredEvent
from recorder.store.search import db_time, read_time
from recorder.vocabulary import TOKEN_FIELDS

# The events table's columns in StoredEvent's field order (the table's own order).
_COLUMNS = list(t.events.columns)

_ACTIVITY = "coalesce(u.last_event_at, s.last_recorded_at)"
SORTS = {
    "id": "s.session_id",
    "title": "s.title",
    "agent": "s.agent_name",
    "model": "s.model",
    "status": "s.status",
    "started": "coalesce(s.created_at, u.first_event_at)",
    "last_activity": _ACTIVITY,
    "events": "coalesce(u.events, 0)",
    "threads": "coalesce(t.threads, 0)",
    "tokens": "coalesce(u.tokens, 0)",
    "list_cost": "list_cost",  # see Browser._cost
}
# PostgreSQL's json operators refuse a document holding the escape \u0000 (valid JSON, not storable as text).
_PG_PARSABLE = "strpos(s.snapshot, '\\u0000') = 0"


@dataclass(frozen=True, slots=True)
class SessionFilter:
    status: str | None = None  # a status, or "archived" / "deleted" (upstream)
    agent: str | None = None
    model: str | None = None
    since: datetime | None = None  # last activity at or after
    until: datetime | None = None  # last activity before
    session_ids: Sequence[str] | None = None


@dataclass(slots=True)
class SessionRow:
    session_id: str
    title: str | None
    agent: str | None
    model: str | None
    status: str | None
    archived_at: str | None
    deleted_at: datetime | None
    started_at: datetime | None
    last_activity_at: datetime | None
    events: int
    threads: int
    model_requests: int
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    tokens: int
    list_cost: str | None
    currency: str | None

    def to_json(self) -> dict[str, Any]:
        """Field names as ``recorder sessions --format json`` and ``usage --format json`` have them."""
        return {
            "session_id": self.session_id, "title": self.title, "agent": self.agent, "model": self.model,
            "status": self.status, "archived_at": self.archived_at, "deleted_at": format_time(self.deleted_at),
            "created_at": format_time(self.started_at), "last_event_at": format_time(self.last_activity_at),
            "events": self.events, "threads": self.threads, "model_requests": self.model_requests,
            **{name: getattr(self, name) for name in TOKEN_FIELDS}, "tokens": self.tokens,
            "list_cost": self.list_cost, "currency": self.currency,
        }


@dataclass(slots=True)
class SessionPage:
    total: int
    rows: list[SessionRow]
    totals: dict[str, Any] = field(default_factory=dict)  # over every matching session, not just the page


@dataclass(slots=True)
class ThreadRow:
    thread_id: str
    parent_thread_id: str | None
    agent: str | None
    model: str | None
    status: str | None
    model_requests: int
    tokens: dict[str, int]
    list_cost: str | None
    currency: str | None

    def to_json(self) -> dict[str, Any]:
        return {"thread_id": self.thread_id, "parent_thread_id": self.parent_thread_id, "agent": self.agent,
                "model": self.model, "status": self.status, "model_requests": self.model_requests, **self.tokens,
                "list_cost": self.list_cost, "currency": self.currency}


def _json(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _usage_cost(snapshot: dict[str, Any]) -> tuple[str | None, str | None]:
    usage = snapshot.get("usage")
    amount, currency = money_amount(usage.get("list_cost") if isinstance(usage, dict) else None)
    return (None if amount is None else str(amount)), currency


class Browser:
    """Read-only queries for the UI over an :class:`EventStore` at the schema's head."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.dialect = store.dialect

    def _cost(self) -> str:
        """The list cost a row shows: the latest session.usage event's, else the snapshot's (minor units unless the
        amount has a decimal point, as :func:`recorder.money.money_amount` reads it; USD exponent)."""
        if self.dialect == "postgresql":
            amount = (f"(CASE WHEN s.snapshot LIKE '%list_cost%' AND {_PG_PARSABLE} THEN "
                      "(s.snapshot::json #>> '{usage,list_cost,amount}') END)")
            snapshot = (f"(CASE WHEN {amount} ~ '^[0-9]+$' THEN {amount}::numeric / 100 "
                        f"WHEN {amount} ~ '^[0-9]*[.][0-9]+$' THEN {amount}::numeric END)::float")
        else:
            amount = "(CASE WHEN json_valid(s.snapshot) THEN json_extract(s.snapshot, '$.usage.list_cost.amount') END)"
            snapshot = (f"(CASE WHEN instr({amount}, '.') > 0 THEN CAST({amount} AS REAL) "
                        f"ELSE CAST({amount} AS REAL) / 100 END)")
        return f"coalesce(u.list_cost_value, {snapshot})"

    def _archived(self) -> str:
        if self.dialect == "postgresql":
            return (f"(CASE WHEN s.snapshot LIKE '%archived_at%' AND {_PG_PARSABLE} THEN "
                    "(s.snapshot::json ->> 'archived_at') END)")
        return "(CASE WHEN json_valid(s.snapshot) THEN json_extract(s.snapshot, '$.archived_at') END)"

    # ----------------------------------------------------------------------------------- sessions

    def _where(self, flt: SessionFilter, params: dict[str, Any]) -> str:
        clauses = []
        if flt.status == "archived":
            clauses.append(f"({self._archived()} IS NOT NULL OR l.archived_at IS NOT NULL)")
        elif flt.status == "deleted":
            clauses.append("(u.deleted_at IS NOT NULL OR l.deleted_at IS NOT NULL)")
        elif flt.status:
            clauses.append("s.status = :status")
            params["status"] = flt.status
        if flt.agent:
            clauses.append("s.agent_name = :agent")
            params["agent"] = flt.agent
        if flt.model:
            clauses.append("s.model = :model")
            params["model"] = flt.model
        if flt.since is not None:
            clauses.append(f"{_ACTIVITY} >= :since")
            params["since"] = db_time(flt.since, self.dialect)
        if flt.until is not None:
            clauses.append(f"{_ACTIVITY} < :until")
            params["until"] = db_time(flt.until, self.dialect)
        if flt.session_ids is not None:
            names = [f"id{n}" for n in range(len(flt.session_ids))] or ["id_none"]
            clauses.append(f"s.session_id IN ({', '.join(':' + n for n in names)})")
            params.update(zip(names, [*flt.session_ids] or [""], strict=False))
        return ("WHERE " + " AND ".join(clauses)) if clauses else ""

    _FROM = ("FROM sessions s LEFT JOIN ui_sessions u ON u.session_id = s.session_id "
             "LEFT JOIN (SELECT session_id, count(*) AS threads FROM threads GROUP BY session_id) t "
             "ON t.session_id = s.session_id "
             # the recorder's lifecycle record: archived upstream, deleted upstream (a 404, or session.deleted)
             "LEFT JOIN session_lifecycle l ON l.session_id = s.session_id ")

    def sessions(self, flt: SessionFilter | None = None, *, sort: str = "last_activity", descending: bool = True,
                 limit: int = 50, offset: int = 0) -> SessionPage:
        """One page of sessions; ``sort`` is a key of :data:`SORTS`."""
        flt = flt or SessionFilter()
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}")
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        where = self._where(flt, params)
        direction = "DESC" if descending else "ASC"
        nulls = "NULLS LAST"
        key = self._cost() if sort == "list_cost" else SORTS[sort]
        order = f"{key} {direction} {nulls}, s.session_id {direction}"
        with self.store.read() as conn:
            totals = conn.execute(text(
                f"SELECT count(*), coalesce(sum(u.tokens), 0), sum({self._cost()}), coalesce(sum(u.events), 0) "
                f"{self._FROM} {where}"), params).one()
            ids = list(conn.execute(text(f"SELECT s.session_id {self._FROM} {where} ORDER BY {order} "
                                         "LIMIT :limit OFFSET :offset"), params).scalars())
            rows = self._rows(conn, ids)
        return SessionPage(int(totals[0]), rows, {"sessions": int(totals[0]), "tokens": int(totals[1]),
                                                  "list_cost": totals[2], "events": int(totals[3])})

    def session(self, session_id: str) -> SessionRow | None:
        with self.store.read() as conn:
            rows = self._rows(conn, [session_id])
        return rows[0] if rows else None

    def _rows(self, conn: Connection, ids: list[str]) -> list[SessionRow]:
        if not ids:
            return []
        names = {f"id{n}": value for n, value in enumerate(ids)}
        found = conn.execute(text(
            "SELECT s.session_id, s.title, s.agent_name, s.model, s.status, s.snapshot, "
            "coalesce(u.deleted_at, l.deleted_at), "
            "coalesce(s.created_at, u.first_event_at), " + _ACTIVITY + ", coalesce(u.events, 0), "
            "coalesce(t.threads, 0), coalesce(u.model_requests, 0), coalesce(u.input_tokens, 0), "
            "coalesce(u.output_tokens, 0), coalesce(u.cache_read_input_tokens, 0), "
            "coalesce(u.cache_creation_input_tokens, 0), coalesce(u.tokens, 0), u.list_cost, u.currency, l.archived_at "
            + self._FROM + f"WHERE s.session_id IN ({', '.join(':' + n for n in names)})"), names).all()
        by_id = {}
        for row in found:
            snapshot = _json(row[5])
            cost, currency = row[17], row[18]
            if cost is None:
                cost, currency = _usage_cost(snapshot)
            archived = snapshot.get("archived_at")
            if not isinstance(archived, str) and row[19] is not None:
                archived = format_time(read_time(row[19]))
            counts = [int(v) for v in row[9:17]]
            by_id[row[0]] = SessionRow(
                row[0], row[1], row[2], row[3], row[4], archived if isinstance(archived, str) else None,
                read_time(row[6]), read_time(row[7]), read_time(row[8]), *counts, cost, currency)  # type: ignore[arg-type, call-arg]
        return [by_id[i] for i in ids if i in by_id]

    def facets(self) -> dict[str, list[str]]:
        """The values the list can be filtered by."""
        with self.store.read() as conn:
            out = {}
            for name, column in (("status", "status"), ("agent", "agent_name"), ("model", "model")):
                out[name] = [v for v in conn.execute(text(
                    f"SELECT DISTINCT {column} FROM sessions WHERE {column} IS NOT NULL ORDER BY {column}"
                )).scalars()]
        out["status"] += ["archived", "deleted"]
        return out

    # ----------------------------------------------------------------------------- one session

    def threads(self, session_id: str) -> list[ThreadRow]:
        """The session's threads (the primary first) with their own model requests, tokens and list cost.

        Requests read from the session stream only (thread "" in the read model) belong to the primary thread.
        """
        with self.store.read() as conn:
            meta = conn.execute(text(
                "SELECT thread_id, parent_thread_id, agent_name, model, status, snapshot FROM threads "
                "WHERE session_id = :s ORDER BY created_at, thread_id"), {"s": session_id}).all()
            sums = {r[0]: r[1:] for r in conn.execute(text(
                "SELECT thread_id, model_requests, input_tokens, output_tokens, cache_read_input_tokens, "
                "cache_creation_input_tokens FROM ui_threads WHERE session_id = :s"), {"s": session_id})}
        primary = next((r[0] for r in meta if r[1] is None), None)
        rows = []
        for thread_id, parent, agent, model, status, snapshot in meta:
            values = [0] * 5
            for key in (thread_id, "") if thread_id == primary else (thread_id,):
                for n, value in enumerate(sums.pop(key, (0,) * 5)):
                    values[n] += int(value)
            cost, currency = _usage_cost(_json(snapshot))
            rows.append(ThreadRow(thread_id, parent, agent, model, status, values[0],
                                  dict(zip(TOKEN_FIELDS, values[1:], strict=True)), cost, currency))
        rows.sort(key=lambda r: (r.parent_thread_id is not None, 0))
        return rows

    def events_of_types(self, session_id: str, prefix: str, limit: int = 200) -> tuple[list[StoredEvent], int]:
        """The latest ``limit`` distinct events of the session whose type starts with ``prefix`` (in order), and
        how many there are in all."""
        with self.store.read() as conn:
            params = {"s": session_id, "p": prefix + "%", "n": limit}
            positions = list(conn.execute(text(
                "SELECT position FROM ui_docs WHERE session_id = :s AND type LIKE :p ORDER BY position DESC "
                "LIMIT :n"), params).scalars())
            total = len(positions)
            if total == limit:
                total = int(conn.execute(text(
                    "SELECT count(*) FROM ui_docs WHERE session_id = :s AND type LIKE :p"), params).scalar_one())
        return self._by_positions(sorted(positions)), total

    def _by_positions(self, positions: list[int]) -> list[StoredEvent]:
        if not positions:
            return []
        with self.store.read() as conn:
            rows = conn.execute(select(*_COLUMNS).where(t.events.c.position.in_(positions))
                                .order_by(t.events.c.position)).all()
        return [StoredEvent(*row) for row in rows]

    def window_keys(self, session_id: str, index: int, size: int) -> list[str]:
        """The keys of window ``index`` (of ``size`` distinct events, in log order) of a session."""
        with self.store.read() as conn:
            first = conn.execute(text(
                "SELECT position FROM ui_docs WHERE session_id = :s ORDER BY position LIMIT 1 OFFSET :o"),
                {"s": session_id, "o": index * size}).scalar()
            if first is None:
                return []
            return list(conn.execute(text(
                "SELECT event_key FROM ui_docs WHERE session_id = :s AND position >= :p ORDER BY position "
                "LIMIT :n"), {"s": session_id, "p": first, "n": size}).scalars())

    def event_window(self, session_id: str, event_id: str, size: int) -> int | None:
        """Which window of ``size`` events holds the event ``event_id`` (None: not indexed)."""
        with self.store.read() as conn:
            position = conn.execute(text(
                "SELECT min(position) FROM ui_docs WHERE session_id = :s AND event_id = :e"),
                {"s": session_id, "e": event_id}).scalar()
            if position is None:
                return None
            before = conn.execute(text("SELECT count(*) FROM ui_docs WHERE session_id = :s AND position < :p"),
                                  {"s": session_id, "p": position}).scalar_one()
        return int(before) // size

    def copies(self, session_id: str, keys: Sequence[str]) -> list[StoredEvent]:
        """Every stored copy (all streams) of the session's events with these keys, in log order.

        Asked by key alone (the unique key's index; keys are event ids) and filtered by session here: asked with
        the session too, SQLite prefers the (session, position) index and reads the whole session."""
        c = t.events.c
        out: list[StoredEvent] = []
        with self.store.read() as conn:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                rows = conn.execute(select(*_COLUMNS).where(c.event_key.in_(chunk))).all()
                out.extend(e for e in (StoredEvent(*row) for row in rows) if e.session_id == session_id)
        out.sort(key=lambda e: e.position)
        return out

    def events_after(self, session_id: str, after: int, limit: int = 500) -> list[StoredEvent]:
        """The session's distinct events indexed after log position ``after`` (for live pages)."""
        with self.store.read() as conn:
            positions = list(conn.execute(text(
                "SELECT position FROM ui_docs WHERE session_id = :s AND position > :a ORDER BY position LIMIT :n"),
                {"s": session_id, "a": after, "n": limit}).scalars())
        return self._by_positions(positions)

    def last_position(self, session_id: str) -> int:
        with self.store.read() as conn:
            return int(conn.execute(text("SELECT coalesce(max(position), 0) FROM ui_docs WHERE session_id = :s"),
                                    {"s": session_id}).scalar_one())

    # ------------------------------------------------------------------------------ compliance

    def holds(self) -> list[dict[str, Any]]:
        """Legal holds, as ``recorder hold list --format json`` prints them."""
        with self.store.read() as conn:
            rows = conn.execute(text(
                "SELECT session_id, held_at, held_by, reason FROM legal_holds ORDER BY held_at, session_id")).all()
        return [{"session_id": r[0], "held_at": format_time(read_time(r[1])), "held_by": r[2], "reason": r[3]}
                for r in rows]

    def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest audit entries, as ``recorder audit --format json`` prints them."""
        with self.store.read() as conn:
            rows = conn.execute(text(
                "SELECT audit_id, at, action, session_id, actor, reason, details, tool_version, entry_hash "
                "FROM compliance_audit ORDER BY audit_id DESC LIMIT :n"), {"n": limit}).all()
        return [{"audit_id": r[0], "at": format_time(read_time(r[1])), "action": r[2], "session_id": r[3],
                 "actor": r[4], "reason": r[5], "details": _json(r[6]), "tool_version": r[7],
                 "entry_hash": r[8]} for r in rows]

    # ----------------------------------------------------------------------------------- files

    def files(self, session_id: str) -> list[dict[str, Any]]:
        """The files archived for a session (without their content)."""
        with self.store.read() as conn:
            rows = conn.execute(text(
                "SELECT file_id, filename, mime_type, size_bytes, sha256, archived_at FROM session_files "
                "WHERE session_id = :s ORDER BY filename, file_id"), {"s": session_id}).all()
        return [{"file_id": r[0], "filename": r[1], "mime_type": r[2], "size_bytes": int(r[3]), "sha256": r[4],
                 "archived_at": format_time(read_time(r[5]))} for r in rows]

    def file_content(self, session_id: str, file_id: str) -> tuple[str, bytes] | None:
        """(filename, content) of one archived file, or None."""
        with self.store.read() as conn:
            row = conn.execute(text(
                "SELECT f.filename, b.content FROM session_files f JOIN file_blobs b ON b.sha256 = f.sha256 "
                "WHERE f.session_id = :s AND f.file_id = :f"), {"s": session_id, "f": file_id}).first()
        return None if row is None else (row[0], bytes(row[1]))
