"""How many events a session has, counted the way ``recorder sessions`` counts them.

An event can be stored on more than one stream of a session: a subagent's blocking event is cross-posted to the
session stream with the same id, and a session's primary thread repeats the session stream. ``record`` appends
per stream (its ``events_added`` counts stream entries), while ``sessions`` counts each event once (distinct
``event_key``). ``record`` prints both, labelled, so the numbers never seem to disagree.
"""

from __future__ import annotations

from sqlalchemy import func, select

from recorder.store import schema as t
from recorder.store.database import Database


def distinct_events(store: Database, session_id: str) -> int:
    """The number of distinct events recorded for ``session_id`` over all its streams."""
    query = select(func.count(t.events.c.event_key.distinct())).where(t.events.c.session_id == session_id)
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())
