"""The SQL behind compliance (:mod:`recorder.compliance`): consistent reads for verification and export, legal
holds, the hash-chained audit trail, the retention path (the only code that deletes from the log) and the
PostgreSQL roles.

Reads for verification and export run in one read transaction (:meth:`ComplianceStore.reading`): a consistent
snapshot (SQLite's WAL read transaction; REPEATABLE READ, READ ONLY on PostgreSQL), so a verification running
while recorders append sees one state of the log. The scans of the events table bypass SQLAlchemy's row
processing (plain DBAPI cursors: ``fetchmany`` on SQLite with the file memory-mapped, a server-side cursor on
PostgreSQL) and return payloads as UTF-8 bytes, ready to hash: verification reads millions of rows.

The audit trail is a hash chain like the event log's streams::

    entry_hash = sha256(prev_hash ‖ canonical JSON of [at, action, session_id, actor, reason, details, version])

with ``prev_hash`` of the first entry = ``AUDIT_GENESIS``. Every writer of the trail takes the log's write lock,
so entries are chained in ``audit_id`` order.

Retention (see :meth:`ComplianceStore.prune_session`): in one transaction under the log's write lock, re-check that
the session is still past the cutoff, not held and not being recorded; write the audit entry (what goes: event
counts and chain heads per stream, files with their sha256, snapshots, positions), the removed global positions
(``pruned_ranges``) and the session's ``retention_guard`` row; delete the session's rows; delete the guard row.
The append-only triggers of migration 0002 let a DELETE through only while that guard row exists (and never for
a session under legal hold).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from recorder import __version__
from recorder.errors import ConfigError, NotFound, StoreError
from recorder.events import SURROGATE_PREFIX, display_text, format_time
from recorder.store import schema as t
from recorder.store.log import EventStore, stream_key, utcnow
from recorder.store.sql import make_engine, translate, translated

AUDIT_GENESIS = hashlib.sha256(b"recorder-audit-v1").hexdigest()
SCAN_BATCH = 5000
SQLITE_MMAP_BYTES = 1 << 40  # map the whole file for the scan (reads become memory copies); reset afterwards
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


# ------------------------------------------------------------------------------------------ rows


@dataclass(frozen=True, slots=True)
class StreamRow:
    stream_id: int
    session_id: str
    thread_id: str | None
    stream_key: str
    last_seq: int
    head_hash: str


@dataclass(frozen=True, slots=True)
class Hold:
    session_id: str
    reason: str
    held_by: str
    held_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    audit_id: int
    at: datetime
    action: str
    session_id: str | None
    actor: str
    reason: str
    details: str
    tool_version: str
    prev_hash: str
    entry_hash: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.details)


@dataclass(frozen=True, slots=True)
class SessionActivity:
    """When a session last saw activity, and whether something keeps it from being pruned."""

    session_id: str
    last_activity: datetime
    held: bool
    leased_until: datetime | None


@dataclass(frozen=True, slots=True)
class FileRow:
    session_id: str
    file_id: str
    filename: str
    mime_type: str | None
    size_bytes: int
    sha256: str
    metadata: str
    blob_size: int | None
    content: bytes | None


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    snapshot_id: int
    session_id: str
    thread_id: str | None
    taken_at: datetime
    payload: str
    payload_hash: str


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


# ---------------------------------------------------------------------------------------- audit


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


def position_runs(positions: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted positions as maximal runs of consecutive integers: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and position == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


# -------------------------------------------------------------------------------------- reading


def _as_datetime(value: Any) -> datetime | None:
    """A DATETIME column read through a plain DBAPI cursor: SQLite gives its text, PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class LogReader:
    """Reads inside one consistent read transaction (see :meth:`ComplianceStore.reading`)."""

    def __init__(self, conn: Connection, dialect: str, url: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.url = url
        self._ph = "?" if dialect == "sqlite" else "%s"

    # ---- plain DBAPI scans

    def _scan(self, sql: str, params: Sequence[Any] = (), batch: int = SCAN_BATCH) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of ``sql`` in batches, through the driver's own cursor; driver errors become StoreErrors."""
        try:
            yield from self._driver_scan(sql, params, batch)
        except self.conn.dialect.loaded_dbapi.Error as err:
            raise translate(err, self.url) from None

    def _driver_scan(self, sql: str, params: Sequence[Any], batch: int) -> Iterator[list[tuple[Any, ...]]]:
        driver = self.conn.connection.driver_connection
        if self.dialect == "postgresql":
            with driver.cursor(name=f"recorder_scan_{uuid.uuid4().hex[:12]}") as cursor:
                cursor.itersize = batch
                cursor.execute(sql, tuple(params))
                while rows := cursor.fetchmany(batch):
                    yield rows
            return
        cursor = driver.cursor()
        try:
            cursor.execute(sql, tuple(params))
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()

    def _payload_bytes(self) -> str:
        return "CAST(payload AS BLOB)" if self.dialect == "sqlite" else "convert_to(payload, 'UTF8')"

    def event_batches(
        self, session_id: str | None = None, *, derived: bool = False, first: int | None = None,
        last: int | None = None, batch: int = SCAN_BATCH,
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Events in global position order (all, or one session's), in batches of plain tuples::

            (position, stream_id, seq, payload bytes, payload_hash, chain_hash)

        and with ``derived`` also ``session_id, thread_id, event_id, event_key, type, processed_at`` (a datetime,
        or SQLite's text). ``first``/``last`` bound the positions.
        """
        extra = ", session_id, thread_id, event_id, event_key, type, processed_at" if derived else ""
        conditions, params = [], []
        for column, value in (("session_id =", session_id), ("position >=", first), ("position <=", last)):
            if value is not None:
                conditions.append(f"{column} {self._ph}")
                params.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = (
            f"SELECT position, stream_id, seq, {self._payload_bytes()}, payload_hash, chain_hash{extra} "
            f"FROM events{where} ORDER BY position"
        )
        yield from self._scan(sql, params, batch)

    def stream_rows(self, stream: StreamRow, batch: int = SCAN_BATCH) -> Iterator[list[tuple[Any, ...]]]:
        """One stream's events up to its recorded head, in sequence order, for export::

        (seq, event_id, type, processed_at datetime, payload bytes, payload_hash, chain_hash)
        """
        sql = (
            f"SELECT seq, event_id, type, processed_at, {self._payload_bytes()}, payload_hash, chain_hash "
            f"FROM events WHERE stream_id = {self._ph} AND seq <= {self._ph} ORDER BY seq"
        )
        for rows in self._scan(sql, (stream.stream_id, stream.last_seq), batch):
            if self.dialect == "sqlite":
                rows = [(r[0], r[1], r[2], _as_datetime(r[3]), *r[4:]) for r in rows]
            yield rows

    # ---- small reads

    def max_position(self) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(t.events.c.position), 0))).scalar_one())

    def log_head(self) -> int:
        return int(self.conn.execute(select(t.log_head.c.last_position).where(t.log_head.c.id == 1)).scalar_one())

    def streams(self, session_ids: Sequence[str] | None = None) -> list[StreamRow]:
        c = t.streams.c
        query = select(c.stream_id, c.session_id, c.thread_id, c.stream_key, c.last_seq, c.head_hash).order_by(
            c.stream_id
        )
        if session_ids is not None:
            query = query.where(c.session_id.in_(list(session_ids)))
        return [StreamRow(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5]) for r in self.conn.execute(query)]

    def session_ids(self, wanted: Sequence[str] | None = None) -> list[str]:
        query = select(t.sessions.c.session_id).order_by(t.sessions.c.session_id)
        if wanted is not None:
            query = query.where(t.sessions.c.session_id.in_(list(wanted)))
        return list(self.conn.execute(query).scalars())

    def pruned_ranges(self) -> list[tuple[int, int, int]]:
        c = t.pruned_ranges.c
        rows = self.conn.execute(select(c.first_position, c.last_position, c.audit_id).order_by(c.first_position))
        return [(int(a), int(b), int(audit)) for a, b, audit in rows]

    def guard_rows(self) -> list[tuple[str, int]]:
        return [(s, int(a)) for s, a in self.conn.execute(select(t.retention_guard.c.session_id,
                                                                  t.retention_guard.c.audit_id))]

    def first_event_in_pruned_range(self) -> tuple[int, str, str | None, int] | None:
        e, r = t.events.c, t.pruned_ranges.c
        row = self.conn.execute(
            select(e.position, e.session_id, e.thread_id, e.seq)
            .select_from(t.pruned_ranges.join(
                t.events, and_(e.position >= r.first_position, e.position <= r.last_position)))
            .order_by(e.position)
            .limit(1)
        ).first()
        return None if row is None else (int(row[0]), row[1], row[2], int(row[3]))

    def files(self, session_ids: Sequence[str] | None = None, *, content: bool = True) -> Iterator[FileRow]:
        f, b = t.session_files.c, t.file_blobs.c
        query = (
            select(f.session_id, f.file_id, f.filename, f.mime_type, f.size_bytes, f.sha256, f.metadata,
                   b.size_bytes, b.content if content else func.length(b.content))
            .select_from(t.session_files.outerjoin(t.file_blobs, b.sha256 == f.sha256))
            .order_by(f.session_id, f.file_id)
        )
        if session_ids is not None:
            query = query.where(f.session_id.in_(list(session_ids)))
        for row in self.conn.execution_options(stream_results=True, yield_per=64).execute(query):
            yield FileRow(*row[:8], bytes(row[8]) if content and row[8] is not None else None)

    def file(self, session_id: str, file_id: str) -> FileRow:
        """One archived file, with its content (None when its blob is missing)."""
        f, b = t.session_files.c, t.file_blobs.c
        row = self.conn.execute(
            select(f.session_id, f.file_id, f.filename, f.mime_type, f.size_bytes, f.sha256, f.metadata,
                   b.size_bytes, b.content)
            .select_from(t.session_files.outerjoin(t.file_blobs, b.sha256 == f.sha256))
            .where(and_(f.session_id == session_id, f.file_id == file_id))
        ).one()
        return FileRow(*row[:8], bytes(row[8]) if row[8] is not None else None)

    def snapshots(self, session_ids: Sequence[str] | None = None) -> Iterator[SnapshotRow]:
        s = t.session_snapshots.c
        query = select(s.snapshot_id, s.session_id, s.thread_id, s.taken_at, s.payload, s.payload_hash).order_by(
            s.session_id, s.snapshot_id
        )
        if session_ids is not None:
            query = query.where(s.session_id.in_(list(session_ids)))
        for row in self.conn.execute(query):
            yield SnapshotRow(*row)

    def audit_entries(self, session_id: str | None = None) -> list[AuditEntry]:
        return _audit_entries(self.conn, session_id)

    def held_sessions(self) -> set[str]:
        return {row[0] for row in self.conn.execute(select(t.legal_holds.c.session_id))}


def _audit_entries(conn: Connection, session_id: str | None = None, action: str | None = None) -> list[AuditEntry]:
    a = t.compliance_audit.c
    query = select(a.audit_id, a.at, a.action, a.session_id, a.actor, a.reason, a.details, a.tool_version,
                   a.prev_hash, a.entry_hash).order_by(a.audit_id)
    if session_id is not None:
        query = query.where(a.session_id == session_id)
    if action is not None:
        query = query.where(a.action == action)
    return [AuditEntry(*row) for row in conn.execute(query)]


# ----------------------------------------------------------------------------------- the store


# Fast SQL prefilter (SQLite) for what the hashes do not cover: returns every row whose session/thread are not its
# stream's, or whose event_id, event_key, type or processed_at might not be what its payload says. A superset,
# decided row by row by the caller (the rule of recorder.events.raw_event). One JSON parse per row: json_extract of
# the three fields as a JSON array, compared as text with the array the columns give — equal for the API's usual
# events (string id and type, processed_at in the canonical RFC 3339 form with microseconds and "Z"); anything else
# is returned for the exact check. A payload that is not JSON at all makes json_extract fail the statement: then it
# runs again with {valid} = "NOT json_valid(e.payload)" (one more parse per row), which returns such rows instead.
_SQLITE_DERIVED_CANDIDATES = f"""
SELECT e.position, e.stream_id, e.seq, e.session_id, e.thread_id, e.event_id, e.event_key, e.type, e.processed_at,
       e.payload, e.payload_hash
FROM events e LEFT JOIN streams s ON s.stream_id = e.stream_id
WHERE e.position BETWEEN ? AND ? {{session}} AND CASE
    WHEN s.session_id IS NOT e.session_id OR s.thread_id IS NOT e.thread_id THEN 1
    WHEN {{valid}} THEN 1
    WHEN e.event_key IS NOT CASE WHEN e.event_id = '' THEN '{SURROGATE_PREFIX}' || e.payload_hash
                                 ELSE e.event_id END THEN 1
    WHEN json_extract(e.payload, '$.id', '$.type', '$.processed_at') IS NOT json_array(e.event_id, e.type,
        CASE WHEN e.processed_at IS NULL THEN NULL
             ELSE substr(e.processed_at, 1, 10) || 'T' || substr(e.processed_at, 12) || 'Z' END) THEN 1
    ELSE 0 END = 1
ORDER BY e.position
"""


class ComplianceStore:
    """Compliance reads and writes on an :class:`~recorder.store.EventStore`."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.dialect = store.dialect

    # ---- consistent reads

    @contextlib.contextmanager
    def reading(self) -> Iterator[LogReader]:
        """One read transaction over a consistent snapshot of the log."""
        with self.store._read() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield LogReader(conn, self.dialect, self.store.url)
                return
            conn.exec_driver_sql(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
            try:
                yield LogReader(conn, self.dialect, self.store.url)
            finally:
                with contextlib.suppress(Exception):
                    conn.exec_driver_sql("PRAGMA mmap_size = 0")

    def derived_candidates(
        self, max_position: int, session_id: str | None = None, min_position: int = 1
    ) -> list[tuple[Any, ...]]:
        """SQLite only: rows whose derived columns may disagree with their payload (see the query above).

        Runs as one statement that returns few rows, so SQLite does the JSON work without holding the GIL:
        verification runs it in a thread beside its hashing.
        """
        if self.dialect != "sqlite":
            raise NotImplementedError("derived-column prefilter is SQLite only")
        sql = _SQLITE_DERIVED_CANDIDATES.replace("{session}", "AND e.session_id = ?" if session_id else "")
        params = (min_position, max_position, session_id) if session_id else (min_position, max_position)
        with self.reading() as reader:
            try:
                return [row for rows in reader._scan(sql.replace("{valid}", "0"), params) for row in rows]
            except StoreError as err:
                if "malformed json" not in str(err).lower():
                    raise
            valid = sql.replace("{valid}", "NOT json_valid(e.payload)")
            return [row for rows in reader._scan(valid, params) for row in rows]

    # ---- audit trail

    def audit_entries(self, session_id: str | None = None, action: str | None = None) -> list[AuditEntry]:
        with self.store._read() as conn:
            return _audit_entries(conn, session_id, action)

    def _append_audit(
        self, conn: Connection, *, action: str, session_id: str | None, actor: str, reason: str,
        details: dict[str, Any], now: datetime,
    ) -> int:
        """Add one entry to the audit chain. The caller holds the log's write lock."""
        a = t.compliance_audit.c
        prev = conn.execute(select(a.entry_hash).order_by(a.audit_id.desc()).limit(1)).scalar() or AUDIT_GENESIS
        actor, reason = display_text(actor) or "", display_text(reason) or ""
        text = json.dumps(details, ensure_ascii=True, separators=(",", ":"))
        digest = audit_entry_hash(prev, now, action, session_id, actor, reason, text, __version__)
        return int(
            conn.execute(
                insert(t.compliance_audit).values(
                    at=now, action=action, session_id=session_id, actor=actor, reason=reason, details=text,
                    tool_version=__version__, prev_hash=prev, entry_hash=digest,
                )
            ).inserted_primary_key[0]
        )

    # ---- legal holds

    def holds(self, session_id: str | None = None) -> list[Hold]:
        h = t.legal_holds.c
        query = select(h.session_id, h.reason, h.held_by, h.held_at).order_by(h.session_id)
        if session_id is not None:
            query = query.where(h.session_id == session_id)
        with self.store._read() as conn:
            return [Hold(*row) for row in conn.execute(query)]

    def add_hold(self, session_id: str, *, reason: str, actor: str) -> tuple[Hold, bool]:
        """Put a session under legal hold. Returns (the hold, True if it is new); holding again changes nothing."""
        now = utcnow()
        h = t.legal_holds.c
        with self.store._write() as conn:
            self.store._lock_log(conn)
            if conn.execute(select(t.sessions.c.session_id).where(t.sessions.c.session_id == session_id)).first() \
                    is None:
                raise NotFound(_missing_session(conn, session_id))
            existing = conn.execute(
                select(h.session_id, h.reason, h.held_by, h.held_at).where(h.session_id == session_id)
            ).first()
            if existing is not None:
                return Hold(*existing), False
            hold = Hold(session_id, display_text(reason) or "", display_text(actor) or "", now)
            conn.execute(insert(t.legal_holds).values(
                session_id=session_id, reason=hold.reason, held_by=hold.held_by, held_at=now))
            self._append_audit(conn, action="hold", session_id=session_id, actor=actor, reason=reason,
                               details={}, now=now)
            return hold, True

    def release_hold(self, session_id: str, *, reason: str, actor: str) -> Hold:
        """Release a session's legal hold; returns the hold that was released."""
        now = utcnow()
        h = t.legal_holds.c
        with self.store._write() as conn:
            self.store._lock_log(conn)
            row = conn.execute(
                select(h.session_id, h.reason, h.held_by, h.held_at).where(h.session_id == session_id)
            ).first()
            if row is None:
                raise NotFound(f"session {session_id} is not under legal hold; `recorder hold list` shows the holds")
            hold = Hold(*row)
            # The audit entry first: the legal_holds trigger (0003) lets a hold row go only right after its release.
            self._append_audit(
                conn, action="release", session_id=session_id, actor=actor, reason=reason, now=now,
                details={"held_at": format_time(hold.held_at), "held_by": hold.held_by, "hold_reason": hold.reason},
            )
            conn.execute(delete(t.legal_holds).where(h.session_id == session_id))
            return hold

    # ---- retention

    def activity(self) -> list[SessionActivity]:
        """Every session's last activity: the latest of the last time the recorder wrote anything for it (an
        event, a snapshot, a file) and the latest ``processed_at`` among its events."""
        with self.store._read() as conn:
            return [row for row in self._activity(conn, None)]

    def _activity(self, conn: Connection, session_id: str | None) -> list[SessionActivity]:
        s, e, sn, f, h, le = (t.sessions.c, t.events.c, t.session_snapshots.c, t.session_files.c, t.legal_holds.c,
                              t.leases.c)
        events = select(e.session_id, func.max(e.processed_at).label("at")).group_by(e.session_id)
        snaps = select(sn.session_id, func.max(sn.taken_at).label("at")).group_by(sn.session_id)
        files = select(f.session_id, func.max(f.archived_at).label("at")).group_by(f.session_id)
        if session_id is not None:
            events, snaps, files = (q.where(q.selected_columns[0] == session_id) for q in (events, snaps, files))
        events, snaps, files = events.subquery(), snaps.subquery(), files.subquery()
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
        with self.store._read() if dry_run else self.store._write() as conn:
            if not dry_run:
                self.store._lock_log(conn)
            [activity] = self._activity(conn, session_id) or [None]
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
            plan.audit_id = self._append_audit(
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
        if blob_hashes:
            still_used = select(t.session_files.c.sha256).where(t.session_files.c.sha256.in_(blob_hashes))
            conn.execute(
                delete(t.file_blobs).where(
                    and_(t.file_blobs.c.sha256.in_(blob_hashes), t.file_blobs.c.sha256.not_in(still_used))
                )
            )

    def missing_session_message(self, session_id: str) -> str:
        with self.store._read() as conn:
            return _missing_session(conn, session_id)


def _missing_session(conn: Connection, session_id: str) -> str:
    """Why a session is not in the log: pruned (when, by whom) or never recorded."""
    pruned = _audit_entries(conn, session_id, "prune")
    if pruned:
        entry = pruned[-1]
        return (f"session {session_id} was pruned on {format_time(entry.at)} by {entry.actor} "
                f"(audit entry {entry.audit_id}); `recorder audit --session {session_id}` shows what was removed")
    return f"session {session_id} is not in the log; `recorder sessions` lists what is recorded"


# ---------------------------------------------------------------------------------- PostgreSQL roles

# What the recorder's writer needs: read everything, append events, extend streams and the log head (the triggers
# allow nothing else), keep the recorder's own bookkeeping (sessions, threads, snapshots, checkpoints, runs, leases,
# files). No DELETE anywhere, no TRUNCATE, no DDL; holds, the audit trail and the retention guard are read-only.
WRITER_TABLE_PRIVILEGES = {
    "events": "SELECT, INSERT",
    "streams": "SELECT, INSERT, UPDATE",
    "log_head": "SELECT, UPDATE",
    "sessions": "SELECT, INSERT, UPDATE",
    "threads": "SELECT, INSERT, UPDATE",
    "checkpoints": "SELECT, INSERT, UPDATE",
    "session_snapshots": "SELECT, INSERT",
    "recording_runs": "SELECT, INSERT, UPDATE",
    "leases": "SELECT, INSERT, UPDATE",
    "session_files": "SELECT, INSERT",
    "file_blobs": "SELECT, INSERT",
    "legal_holds": "SELECT",
    "compliance_audit": "SELECT",
    "pruned_ranges": "SELECT",
    "retention_guard": "SELECT",
    "alembic_version": "SELECT",
}


def role_statements(writer: str, reader: str) -> list[str]:
    """SQL creating (if missing) the NOLOGIN roles ``writer`` and ``reader`` and granting their privileges on the
    current database. Grant them to login roles: ``GRANT recorder_writer TO alice``."""
    for name in (writer, reader):
        if not ROLE_NAME.fullmatch(name):
            raise ConfigError(f"bad role name {name!r}: use lowercase letters, digits and _")
    if writer == reader:
        raise ConfigError("the writer and reader roles must differ")
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} NOLOGIN; END IF; END $$"
        for name in (writer, reader)
    ]
    tables = sorted(WRITER_TABLE_PRIVILEGES)
    statements.append(f"REVOKE ALL ON {', '.join(tables)} FROM {writer}, {reader}")
    statements += [f"GRANT {privileges} ON {table} TO {writer}" for table, privileges in
                   sorted(WRITER_TABLE_PRIVILEGES.items())]
    statements.append(f"GRANT SELECT ON {', '.join(tables)} TO {reader}")
    statements.append(
        f"GRANT USAGE ON SEQUENCE streams_stream_id_seq, recording_runs_run_id_seq, "
        f"session_snapshots_snapshot_id_seq TO {writer}"
    )
    statements.append(f"GRANT USAGE ON SCHEMA public TO {writer}, {reader}")
    return statements


def grant_roles(url: str, writer: str, reader: str) -> list[str]:
    """Run :func:`role_statements` on the PostgreSQL database at ``url`` (as its owner); returns the statements."""
    statements = role_statements(writer, reader)
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise ConfigError("database roles exist on PostgreSQL only; a SQLite log is protected by file permissions")
        with translated(url), engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return statements


__all__ = [
    "AUDIT_GENESIS",
    "AuditEntry",
    "ComplianceStore",
    "FileRow",
    "Hold",
    "LogReader",
    "PrunedSession",
    "SessionActivity",
    "SnapshotRow",
    "StreamRow",
    "audit_entry_hash",
    "entry_is_intact",
    "grant_roles",
    "position_runs",
    "role_statements",
    "stream_key",
]
