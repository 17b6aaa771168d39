"""The relational event log (SQLAlchemy 2; SQLite or PostgreSQL), the source of truth for everything else.

Only this package touches SQLAlchemy connections and driver errors.
"""

from recorder.store.counts import distinct_events
from recorder.store.log import (
    AppendResult,
    Checkpoint,
    EventStore,
    SessionSummary,
    StoredEvent,
    StreamInfo,
)
from recorder.store.readonly import open_read_only
from recorder.store.tombstones import pruned_sessions

__all__ = [
    "AppendResult",
    "Checkpoint",
    "EventStore",
    "SessionSummary",
    "StoredEvent",
    "StreamInfo",
    "distinct_events",
    "open_read_only",
    "pruned_sessions",
]
