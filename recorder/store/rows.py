"""The store's row types: one named, typed row per table, plus the few named read shapes of the events table.

The events table's read shapes are ``NamedTuple``\\ s, unpackable like a tuple and readable by name; every other
row is a frozen dataclass. Table by table:

- ``events``: :class:`StoredEvent` (every column), and a read shape per consumer: :class:`LogRow` (the analytics
  tail), :class:`EventRow` (one stream's payloads, for replay and serve), :class:`ChainedEvent`,
  :class:`ScannedEvent`, :class:`EventColumns` and :class:`ExportedEvent` (the compliance scans)
- ``streams``: :class:`StreamRow` (``StreamInfo`` is its former name)
- ``checkpoints``: :class:`Checkpoint`
- ``sessions``: :class:`SessionSummary` (with its event and thread counts)
- ``session_snapshots``: :class:`SnapshotRow`; the current one per session or thread: :class:`LatestSnapshot`
- ``recording_runs``: :class:`RunRow`
- ``leases``: :class:`Holder` (and ``recorder.store.Lease``, the fence an append carries)
- ``session_files``: :class:`ArchivedFile`; with its blob: :class:`FileRow`
- ``legal_holds``: :class:`Hold`
- ``compliance_audit``: :class:`AuditEntry`
- ``pruned_ranges``: :class:`PrunedRange`; an event found inside one: :class:`PrunedEvent`
- ``retention_guard``: :class:`GuardRow`

Two bulk reads keep the driver's plain tuples, in the field order of their named type (:data:`LogTuple`,
:data:`ChainedTuple`): a tuple subclass is allocated and freed on CPython's slow path, which costs the analytics
rebuild and verification a fifth to a quarter of their time.

``log_head`` is one integer (``head_position()``); ``threads`` rows are read as thread ids and snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from recorder.events import RawEvent


def stream_key(session_id: str, thread_id: str | None) -> str:
    """The ``streams.stream_key`` of a (session, thread) stream: unique even where ``thread_id`` is NULL."""
    return f"{session_id}/{thread_id or ''}"


# ---------------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """Every column of one ``events`` row."""

    position: int
    stream_id: int
    seq: int
    session_id: str
    thread_id: str | None
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | None
    recorded_at: datetime
    payload: str
    payload_hash: str
    chain_hash: str
    run_id: int | None
    scrubbed: str | None = None  # the JSON pointers whose secrets were replaced on the way in (migration 0003)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)


class LogRow(NamedTuple):
    """An event as a read model tailing the log by position needs it (``LogTail.read_log_rows`` returns these
    fields as plain tuples, :data:`LogTuple`)."""

    position: int
    stream_id: int
    session_id: str
    thread_id: str | None
    event_key: str
    type: str
    processed_at: datetime | None
    payload: str


LogTuple = tuple[int, int, str, str | None, str, str, datetime | None, str]
"""A :class:`LogRow` as a plain tuple (the analytics tail's bulk read, see ``LogTail.read_log_rows``)."""


class EventRow(NamedTuple):
    """One event of one stream, as the stream reads for replay and serve return it (:class:`StreamReads`)."""

    seq: int
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | None
    payload: str


class ChainedEvent(NamedTuple):
    """What the hash chain covers, as verification scans it: the payload as UTF-8 bytes, ready to hash."""

    position: int
    stream_id: int
    seq: int
    payload: bytes
    payload_hash: str
    chain_hash: str


ChainedTuple = tuple[int, int, int, bytes, str, str]
"""A :class:`ChainedEvent` as a plain tuple (the hot scan of verification, see ``LogReader.chained_events``)."""


class ScannedEvent(NamedTuple):
    """A :class:`ChainedEvent` (:attr:`chained`) with the columns derived from the payload, to check them in the
    same pass (PostgreSQL). ``processed_at`` is a datetime, or SQLite's text."""

    position: int
    stream_id: int
    seq: int
    payload: bytes
    payload_hash: str
    chain_hash: str
    session_id: str
    thread_id: str | None
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | str | None

    @property
    def chained(self) -> ChainedEvent:
        return ChainedEvent(self.position, self.stream_id, self.seq, self.payload, self.payload_hash,
                            self.chain_hash)


class EventColumns(NamedTuple):
    """The columns of an event derived from its payload (SQLite's prefilter returns these rows). ``payload`` is
    text; ``processed_at`` SQLite's text."""

    position: int
    stream_id: int
    seq: int
    session_id: str
    thread_id: str | None
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | str | None
    payload: str
    payload_hash: str


class ExportedEvent(NamedTuple):
    """One event of a stream as an export writes it."""

    seq: int
    event_id: str
    type: str
    processed_at: datetime | None
    payload: bytes
    payload_hash: str
    chain_hash: str


# --------------------------------------------------------------------------------------------- streams


@dataclass(frozen=True, slots=True)
class StreamRow:
    """One ``streams`` row: a (session, thread) stream, its last sequence number and the head of its chain."""

    stream_id: int
    session_id: str
    thread_id: str | None
    last_seq: int
    head_hash: str
    stream_key: str | None = None  # as stored; None: the key the session and thread make

    def __post_init__(self) -> None:
        if self.stream_key is None:
            object.__setattr__(self, "stream_key", stream_key(self.session_id, self.thread_id))


StreamInfo = StreamRow  # its former name


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far recording of one stream got: written atomically with the events it covers."""

    session_id: str
    thread_id: str | None
    last_processed_at: datetime | None = None
    last_event_id: str | None = None
    cursor: str | None = None
    complete: bool = False


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """What the log holds of one session for a recorder about to resume it, read in one transaction: each stream's
    checkpoint (by thread id; None: the session stream; a stream without one is absent) and the ids of the files
    already archived."""

    checkpoints: dict[str | None, Checkpoint]
    file_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class AppendResult:
    added: int
    skipped: int
    first_position: int | None = None
    last_position: int | None = None


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One batch of a group commit (:meth:`EventLog.append_many`): its events, the checkpoints written with them,
    the fence (a session lease) checked for it, and the run that recorded it."""

    events: Sequence[RawEvent]
    checkpoints: Sequence[Checkpoint] = ()
    fence: Any = None
    run_id: int | None = None


# -------------------------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    status: str | None
    title: str | None
    agent_name: str | None
    model: str | None
    created_at: datetime | None
    events: int
    threads: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    last_recorded_at: datetime


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    snapshot_id: int
    session_id: str
    thread_id: str | None
    taken_at: datetime
    payload: str
    payload_hash: str


class LatestSnapshot(NamedTuple):
    """The snapshot a session (``thread_id`` None) or thread currently has, as JSON text."""

    session_id: str
    thread_id: str | None
    payload: str


@dataclass(frozen=True, slots=True)
class RunRow:
    """One ``recording_runs`` row: who recorded, from where, with which version, how it ended."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    user_name: str
    host: str
    pid: int
    version: str
    mode: str
    command: str
    sessions_count: int
    events_added: int
    outcome: str
    error: str | None


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a session's lease, until when."""

    owner: str
    expires_at: datetime


# ---------------------------------------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class ArchivedFile:
    session_id: str
    file_id: str
    filename: str
    mime_type: str | None
    size_bytes: int
    sha256: str
    archived_at: datetime
    metadata: str


@dataclass(frozen=True, slots=True)
class FileRow:
    """An archived file with its blob (``content`` None when the blob is missing or was not asked for)."""

    session_id: str
    file_id: str
    filename: str
    mime_type: str | None
    size_bytes: int
    sha256: str
    metadata: str
    blob_size: int | None
    content: bytes | None


# ----------------------------------------------------------------------------------------- compliance


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


class PrunedRange(NamedTuple):
    """Global positions an audited prune removed (``first_position``..``last_position``)."""

    first_position: int
    last_position: int
    audit_id: int


class GuardRow(NamedTuple):
    """A ``retention_guard`` row: present only inside a prune's transaction."""

    session_id: str
    audit_id: int


class PrunedEvent(NamedTuple):
    """An event found at a position an audited prune removed."""

    position: int
    session_id: str
    thread_id: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class SessionActivity:
    """When a session last saw activity, and whether something keeps it from being pruned."""

    session_id: str
    last_activity: datetime
    held: bool
    leased_until: datetime | None
