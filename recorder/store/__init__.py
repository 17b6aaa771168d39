"""The relational event log (SQLAlchemy 2; SQLite or PostgreSQL), the source of truth for everything else.

Only this package touches SQLAlchemy connections and driver errors.
"""

from recorder.store.lifecycle import Delivery, Lifecycle, SessionState
from recorder.store.log import (
    AppendResult,
    Checkpoint,
    EventStore,
    SessionSummary,
    StoredEvent,
    StreamInfo,
)

__all__ = [
    "AppendResult", "Checkpoint", "Delivery", "EventStore", "Lifecycle", "SessionState", "SessionSummary",
    "StoredEvent", "StreamInfo",
]
