"""The event log's tables (SQLAlchemy Core). alembic owns creating them: see ``migrations/``.

The log is append-only. Its shape:

- ``log_head`` — one row holding the last global position handed out. Every append transaction locks it first
  (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` already serializes SQLite), so positions are
  gapless and committed in order: a reader tailing ``events.position`` can never skip a late-committing event.
- ``streams`` — one per (session, thread); the session-level stream has ``thread_id`` NULL. Holds the stream's
  last sequence number and head of its hash chain.
- ``events`` — the API's JSON object as delivered (``payload``), plus the indexed columns. ``(stream_id,
  event_key)`` is unique: appending an event already stored is a no-op. ``seq`` is contiguous per stream.
  ``chain_hash`` = sha256(previous chain hash ‖ seq ‖ payload hash), see ``recorder.store.chain``.
- ``checkpoints`` — where recording of a stream got to; written in the same transaction as the events.
- ``sessions``, ``threads``, ``session_snapshots`` — what the API said about sessions and threads (status, usage,
  stats, agent), secrets scrubbed; a snapshot row is added only when something changed.
- ``recording_runs`` — the audit trail: who recorded what, from which host, with which version, how it ended.
- ``leases`` — one recorder at a time per session, with expiry and a fencing token.
- ``session_files``, ``file_blobs`` — files a session wrote, content-addressed by sha256.

Times are naive UTC datetimes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# INTEGER PRIMARY KEY is SQLite's rowid; BIGINT elsewhere.
Position = BigInteger().with_variant(Integer(), "sqlite")
Id = String(255)
Hash = String(64)

log_head = Table(
    "log_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_position", BigInteger, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", Id, primary_key=True),
    Column("status", String(32)),
    Column("title", Text),
    Column("agent_id", Id),
    Column("agent_name", Text),
    Column("model", String(255)),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    Column("snapshot", Text),
    Column("first_recorded_at", DateTime, nullable=False),
    Column("last_recorded_at", DateTime, nullable=False),
)

threads = Table(
    "threads",
    metadata,
    Column("session_id", Id, ForeignKey("sessions.session_id"), primary_key=True),
    Column("thread_id", Id, primary_key=True),
    Column("parent_thread_id", Id),
    Column("status", String(32)),
    Column("agent_name", Text),
    Column("model", String(255)),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    Column("snapshot", Text),
    Column("first_recorded_at", DateTime, nullable=False),
)

recording_runs = Table(
    "recording_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("user_name", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(64), nullable=False),
    Column("mode", String(32), nullable=False),
    Column("command", Text, nullable=False),
    Column("sessions_count", Integer, nullable=False, default=0),
    Column("events_added", BigInteger, nullable=False, default=0),
    Column("outcome", String(32), nullable=False),
    Column("error", Text),
)

streams = Table(
    "streams",
    metadata,
    Column("stream_id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("sessions.session_id"), nullable=False),
    Column("thread_id", Id),
    # session_id + "/" + (thread_id or ""): unique even where thread_id is NULL.
    Column("stream_key", String(520), nullable=False, unique=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("head_hash", Hash, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index(None, "session_id", "thread_id"),
)

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    # No foreign keys on this hot table (each costs a trigger per inserted row): the append path creates the
    # stream first, and verification walks streams and chains, which is what proves the log whole.
    Column("stream_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("session_id", Id, nullable=False),
    Column("thread_id", Id),
    Column("event_id", Id, nullable=False),
    Column("event_key", Id, nullable=False),
    Column("type", String(255), nullable=False),
    Column("processed_at", DateTime),
    Column("recorded_at", DateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Column("payload_hash", Hash, nullable=False),
    Column("chain_hash", Hash, nullable=False),
    Column("run_id", Integer),
    # JSON list of the JSON pointers whose secrets the recorder replaced before storing (null: nothing altered).
    Column("scrubbed", Text),
    # Led by event_key: the idempotency lookup asks by key alone, so no other index can look better to a
    # planner working from stale statistics (a freshly filled table), which would scan the whole stream.
    UniqueConstraint("event_key", "stream_id"),
    UniqueConstraint("stream_id", "seq"),
    Index(None, "session_id", "position"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("stream_id", Integer, ForeignKey("streams.stream_id"), primary_key=True),
    Column("last_processed_at", DateTime),
    Column("last_event_id", Id),
    # The list cursor of the last page read, for streams whose list has no time filter (a thread's events).
    Column("cursor", Text),
    Column("complete", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime, nullable=False),
)

session_snapshots = Table(
    "session_snapshots",
    metadata,
    Column("snapshot_id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("sessions.session_id"), nullable=False),
    Column("thread_id", Id),
    Column("taken_at", DateTime, nullable=False),
    Column("status", String(32)),
    Column("payload", Text, nullable=False),
    Column("payload_hash", Hash, nullable=False),
    Column("run_id", Integer, ForeignKey("recording_runs.run_id")),
    Index(None, "session_id", "thread_id", "snapshot_id"),
)

leases = Table(
    "leases",
    metadata,
    Column("session_id", Id, primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("acquired_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

file_blobs = Table(
    "file_blobs",
    metadata,
    Column("sha256", Hash, primary_key=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

session_files = Table(
    "session_files",
    metadata,
    Column("session_id", Id, ForeignKey("sessions.session_id"), primary_key=True),
    Column("file_id", Id, primary_key=True),
    Column("filename", Text, nullable=False),
    Column("mime_type", String(255)),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Hash, ForeignKey("file_blobs.sha256"), nullable=False),
    Column("metadata", Text, nullable=False),
    Column("archived_at", DateTime, nullable=False),
    Column("run_id", Integer, ForeignKey("recording_runs.run_id")),
)

# ---- compliance (migration 0002): legal holds, the audit trail, what retention removed; see recorder.compliance.
#
# - ``legal_holds`` — sessions that must never be pruned (one row per held session; holding and releasing are
#   written to the audit trail). The foreign key means a held session cannot be deleted even by hand.
# - ``compliance_audit`` — every hold, release and prune: who, when, why, and (JSON ``details``) what was removed
#   with its counts and chain heads. Hash-chained (``entry_hash`` covers the entry and ``prev_hash``) and
#   append-only by trigger, like the event log.
# - ``pruned_ranges`` — the global positions removed by each audited prune, so ``verify`` can tell an audited gap
#   from a deleted event.
# - ``retention_guard`` — empty except inside a prune transaction: the append-only triggers let a DELETE through
#   only for sessions listed here (and not held). See migrations/versions/0002_compliance.py.

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("session_id", Id, ForeignKey("sessions.session_id"), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("held_by", String(255), nullable=False),
    Column("held_at", DateTime, nullable=False),
)

compliance_audit = Table(
    "compliance_audit",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("session_id", Id),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("prev_hash", Hash, nullable=False),
    Column("entry_hash", Hash, nullable=False),
    Index(None, "session_id"),
)

pruned_ranges = Table(
    "pruned_ranges",
    metadata,
    Column("first_position", BigInteger, primary_key=True, autoincrement=False),
    Column("last_position", BigInteger, nullable=False),
    Column("audit_id", Integer, ForeignKey("compliance_audit.audit_id"), nullable=False),
)

retention_guard = Table(
    "retention_guard",
    metadata,
    Column("session_id", Id, primary_key=True),
    Column("audit_id", Integer, ForeignKey("compliance_audit.audit_id"), nullable=False),
)

# ---- lifecycle (migration 0004): where each session is in its life upstream, and webhook deliveries received.
#
# - ``session_lifecycle`` — one row per session the recorder has looked at: its state in the log (``active``,
#   ``settled``, ``closed``, ``deleted``), what the API last said (status, ``updated_at``, ``archived_at``) when it
#   was last recorded — a later ``sessions.list`` entry that still says the same needs no request — and when it was
#   found deleted upstream. No foreign key: a session deleted before anything was recorded may still be marked.
# - ``webhook_deliveries`` — each accepted webhook, keyed by its ``webhook-id`` (a redelivery adds nothing), kept
#   before the delivery is acknowledged; ``handled_at`` is set once the session it names has been recorded after it.

session_lifecycle = Table(
    "session_lifecycle",
    metadata,
    Column("session_id", Id, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("upstream_status", String(32)),
    Column("upstream_updated_at", DateTime),
    Column("archived_at", DateTime),
    Column("deleted_at", DateTime),
    Column("changed_at", DateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("webhook_id", String(255), primary_key=True),
    Column("received_at", DateTime, nullable=False),
    Column("event_type", String(255)),
    Column("session_id", Id),
    Column("payload", Text, nullable=False),
    Column("handled_at", DateTime),
    Index(None, "handled_at"),
)
