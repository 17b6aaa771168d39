"""The relational event log (SQLAlchemy 2; SQLite or PostgreSQL), the source of truth for everything else.

Only this package touches SQLAlchemy connections and driver errors.
"""

from recorder.store.browse import Browser, SessionFilter, SessionPage, SessionRow
from recorder.store.log import (
    AppendResult,
    Checkpoint,
    EventStore,
    SessionSummary,
    StoredEvent,
    StreamInfo,
)
from recorder.store.search import SearchHit, SearchIndex, SearchPage

__all__ = ["AppendResult", "Browser", "Checkpoint", "EventStore", "SearchHit", "SearchIndex", "SearchPage",
           "SessionFilter", "SessionPage", "SessionRow", "SessionSummary", "StoredEvent", "StreamInfo"]
