"""The relational event log (SQLAlchemy 2; SQLite or PostgreSQL), the source of truth for everything else.

Only this package touches SQLAlchemy connections and driver errors.
"""

from recorder.store.browse import SORTS as SESSION_SORTS
from recorder.store.browse import TOKEN_FIELDS, Browser, SessionFilter, SessionPage, SessionRow, ThreadRow
from recorder.store.log import (
    AppendResult,
    Checkpoint,
    EventStore,
    SessionSummary,
    StoredEvent,
    StreamInfo,
)
from recorder.store.search import SearchHit, SearchIndex, SearchPage, event_text

__all__ = ["SESSION_SORTS", "TOKEN_FIELDS", "AppendResult", "Browser", "Checkpoint", "EventStore", "SearchHit",
           "SearchIndex", "SearchPage", "SessionFilter", "SessionPage", "SessionRow", "SessionSummary", "StoredEvent",
           "StreamInfo", "ThreadRow", "event_text"]
