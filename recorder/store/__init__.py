"""The relational event log (SQLAlchemy 2; SQLite or PostgreSQL), the source of truth for everything else.

This package is the only way in: import names from ``recorder.store``, never from its modules (a test,
``tests/test_architecture_store.py``, keeps it so), and only this package imports SQLAlchemy. Its layout::

    database   Database: engine, read()/write() transactions, lock_log(), upsert()   (every module below uses it)
    rows       one named row type per table, and the events table's read shapes
    log        EventLog: append and checkpoints (the write side of the log)
    catalog    Catalog: sessions, threads, snapshots, recording runs
    tail       LogTail protocol + SqlLogTail: reads by global position (analytics)
    streams    StreamReads protocol + SqlStreamReads: reads by stream (replay, transcripts, serve)
    scans      LogReader: consistent, fast scans with named rows (verify, export)
    audit      the compliance audit trail's hash chain
    compliance ComplianceStore: legal holds, retention (the only deletes), the audit trail
    leases     Leases: one recorder per session, fenced appends
    files      FileArchive: files sessions wrote, content-addressed
    roles      the PostgreSQL writer/reader role DDL
    eventstore EventStore: the facade most callers construct, ``EventStore(url)``, delegating to the above
    schema / sql / chain   tables, engines and error translation, the hash chain
    revisions  the schema revisions this version knows; the head check every store makes (no alembic)
    migrate    alembic, driven: upgrade, downgrade, check. Not imported here (alembic is slow to import and
               only ``recorder db`` migrates): ``from recorder.store import migrate`` imports it when asked

To add a concern (a new table's SQL): a module taking a ``Database`` in its constructor, its row types in
``rows``, and its public names here.
"""

from recorder.store import chain
from recorder.store.audit import AUDIT_GENESIS, audit_entry_hash, entry_is_intact
from recorder.store.browse import SORTS as SESSION_SORTS
from recorder.store.browse import TOKEN_FIELDS, Browser, SessionFilter, SessionPage, SessionRow, ThreadRow
from recorder.store.catalog import Catalog
from recorder.store.compliance import ComplianceStore, PrunedSession, position_runs
from recorder.store.counts import distinct_events
from recorder.store.database import Database, utcnow
from recorder.store.eventstore import EventStore, open_read_only
from recorder.store.files import FileArchive
from recorder.store.leases import Lease, Leases, new_owner
from recorder.store.lifecycle import DELETED_ACTION, Delivery, Lifecycle, SessionState
from recorder.store.log import EventLog, Fence
from recorder.store.roles import grant_roles, role_statements
from recorder.store.rows import (
    AppendRequest,
    AppendResult,
    ArchivedFile,
    AuditEntry,
    ChainedEvent,
    ChainedTuple,
    Checkpoint,
    EventColumns,
    EventRow,
    ExportedEvent,
    FileRow,
    GuardRow,
    Hold,
    Holder,
    LatestSnapshot,
    LogRow,
    LogTuple,
    PrunedEvent,
    PrunedRange,
    RunRow,
    ScannedEvent,
    SessionActivity,
    SessionProgress,
    SessionSummary,
    SnapshotRow,
    StoredEvent,
    StreamInfo,
    StreamRow,
    stream_key,
)
from recorder.store.scans import LogReader
from recorder.store.schema import metadata
from recorder.store.search import SearchHit, SearchIndex, SearchPage, event_text
from recorder.store.sql import parse_url, redact
from recorder.store.streams import SqlStreamReads, StreamReads
from recorder.store.tail import LogTail, SqlLogTail
from recorder.store.tombstones import pruned_sessions

__all__ = [
    "AUDIT_GENESIS",
    "DELETED_ACTION",
    "SESSION_SORTS",
    "TOKEN_FIELDS",
    "AppendRequest",
    "AppendResult",
    "ArchivedFile",
    "AuditEntry",
    "Browser",
    "Catalog",
    "ChainedEvent",
    "ChainedTuple",
    "Checkpoint",
    "ComplianceStore",
    "Database",
    "Delivery",
    "EventColumns",
    "EventLog",
    "EventRow",
    "EventStore",
    "ExportedEvent",
    "Fence",
    "FileArchive",
    "FileRow",
    "GuardRow",
    "Hold",
    "Holder",
    "LatestSnapshot",
    "Lease",
    "Leases",
    "Lifecycle",
    "LogReader",
    "LogRow",
    "LogTail",
    "LogTuple",
    "PrunedEvent",
    "PrunedRange",
    "PrunedSession",
    "RunRow",
    "ScannedEvent",
    "SearchHit",
    "SearchIndex",
    "SearchPage",
    "SessionActivity",
    "SessionFilter",
    "SessionPage",
    "SessionProgress",
    "SessionRow",
    "SessionState",
    "SessionSummary",
    "SnapshotRow",
    "SqlLogTail",
    "SqlStreamReads",
    "StoredEvent",
    "StreamInfo",
    "StreamReads",
    "StreamRow",
    "ThreadRow",
    "audit_entry_hash",
    "chain",
    "distinct_events",
    "entry_is_intact",
    "event_text",
    "grant_roles",
    "metadata",
    "migrate",
    "new_owner",
    "open_read_only",
    "parse_url",
    "position_runs",
    "pruned_sessions",
    "redact",
    "role_statements",
    "stream_key",
    "utcnow",
]
