"""Stream reads: one stream's events (or one session's), for replay, transcripts, ``recorder serve`` and export.

:class:`StreamReads` is what replay and serve read; :class:`SqlStreamReads` reads it from the database, and also
has the full-row reads (:meth:`SqlStreamReads.stream_events`, :meth:`SqlStreamReads.session_events`).
:class:`~recorder.store.EventStore` has the same methods, so either can be passed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, select

from recorder.store import schema as t
from recorder.store.catalog import Catalog
from recorder.store.database import Database
from recorder.store.rows import EventRow, SessionSummary, StoredEvent, StreamRow, stream_key

_EVENT_COLUMNS = [column for column in t.events.columns]


class StreamReads(Protocol):
    """What replay, transcripts and ``recorder serve`` read: sessions, their threads and snapshots, streams."""

    def require_session(self, session_id: str) -> None: ...

    def session_ids(self) -> list[str]: ...

    def sessions(self) -> list[SessionSummary]: ...

    def thread_ids(self, session_id: str) -> list[str]: ...

    def latest_snapshot(self, session_id: str, thread_id: str | None = None) -> dict[str, Any] | None: ...

    def stream_info(self, session_id: str, thread_id: str | None = None) -> StreamRow | None: ...

    def read_stream(
        self,
        session_id: str,
        thread_id: str | None = None,
        *,
        after_seq: int | None = None,
        descending: bool = False,
        types: Sequence[str] | None = None,
        processed_gt: datetime | None = None,
        processed_gte: datetime | None = None,
        processed_lt: datetime | None = None,
        processed_lte: datetime | None = None,
        batch_size: int = 5000,
    ) -> Iterator[EventRow]: ...

    def read_stream_extras(
        self, session_id: str, thread_id: str, *, batch_size: int = 5000
    ) -> Iterator[tuple[str | None, EventRow]]: ...

    def find_event(self, session_id: str, event_id: str) -> list[tuple[str | None, EventRow]]: ...


class SqlStreamReads:
    """:class:`StreamReads` on the log's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._catalog = Catalog(db)

    # ---- the catalog's reads

    def require_session(self, session_id: str) -> None:
        self._catalog.require_session(session_id)

    def session_ids(self) -> list[str]:
        return self._catalog.session_ids()

    def sessions(self) -> list[SessionSummary]:
        return self._catalog.sessions()

    def thread_ids(self, session_id: str) -> list[str]:
        return self._catalog.thread_ids(session_id)

    def latest_snapshot(self, session_id: str, thread_id: str | None = None) -> dict[str, Any] | None:
        return self._catalog.latest_snapshot(session_id, thread_id)

    # ---- streams

    def stream_info(self, session_id: str, thread_id: str | None = None) -> StreamRow | None:
        key = stream_key(session_id, thread_id)
        with self.db.read() as conn:
            row = conn.execute(
                select(t.streams.c.stream_id, t.streams.c.last_seq, t.streams.c.head_hash).where(
                    t.streams.c.stream_key == key
                )
            ).first()
        if row is None:
            return None
        return StreamRow(int(row.stream_id), session_id, thread_id, int(row.last_seq), row.head_hash, key)

    def streams(self, session_id: str | None = None) -> list[StreamRow]:
        c = t.streams.c
        query = select(c.stream_id, c.session_id, c.thread_id, c.last_seq, c.head_hash, c.stream_key).order_by(
            c.session_id, c.stream_id
        )
        if session_id is not None:
            query = query.where(c.session_id == session_id)
        with self.db.read() as conn:
            return [StreamRow(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5]) for r in conn.execute(query)]

    # ---- full rows

    def stream_events(
        self,
        session_id: str,
        thread_id: str | None = None,
        *,
        after_seq: int = 0,
        types: Sequence[str] | None = None,
        batch_size: int = 2000,
    ) -> Iterator[StoredEvent]:
        """A stream's events in order (the API's order, as recorded), read in batches of ``batch_size``."""
        info = self.stream_info(session_id, thread_id)
        if info is None:
            return
        while True:
            query = (
                select(*_EVENT_COLUMNS)
                .where(and_(t.events.c.stream_id == info.stream_id, t.events.c.seq > after_seq))
                .order_by(t.events.c.seq)
                .limit(batch_size)
            )
            if types:
                query = query.where(t.events.c.type.in_(list(types)))
            with self.db.read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield StoredEvent(*row)
            after_seq = rows[-1].seq

    def session_events(self, session_id: str, batch_size: int = 2000) -> Iterator[StoredEvent]:
        """Every event of a session, all its streams, in global position (recording) order."""
        after = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(*_EVENT_COLUMNS)
                    .where(and_(t.events.c.session_id == session_id, t.events.c.position > after))
                    .order_by(t.events.c.position)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield StoredEvent(*row)
            after = rows[-1].position

    # ---- payload reads (replay, transcripts, serve)

    def read_stream(
        self,
        session_id: str,
        thread_id: str | None = None,
        *,
        after_seq: int | None = None,
        descending: bool = False,
        types: Sequence[str] | None = None,
        processed_gt: datetime | None = None,
        processed_gte: datetime | None = None,
        processed_lt: datetime | None = None,
        processed_lte: datetime | None = None,
        batch_size: int = 5000,
    ) -> Iterator[EventRow]:
        """A stream's events with just the columns a reader of payloads needs, lazily, in batches.

        Stream order (``seq``) or its reverse (``descending``). ``after_seq`` resumes strictly after that
        sequence number in the chosen direction. Time bounds compare ``processed_at`` (naive UTC). Reading only
        these columns is several times faster than :meth:`stream_events` on long sessions.
        """
        info = self.stream_info(session_id, thread_id)
        if info is None:
            return
        c = t.events.c
        conditions = [c.stream_id == info.stream_id]
        if types is not None:
            conditions.append(c.type.in_(list(types)))
        for bound, op in ((processed_gt, "__gt__"), (processed_gte, "__ge__"), (processed_lt, "__lt__"),
                          (processed_lte, "__le__")):
            if bound is not None:
                conditions.append(getattr(c.processed_at, op)(bound))
        base = select(c.seq, c.event_id, c.event_key, c.type, c.processed_at, c.payload).where(and_(*conditions))
        cursor = after_seq
        while True:
            query = base
            if cursor is not None:
                query = query.where(c.seq < cursor if descending else c.seq > cursor)
            query = query.order_by(c.seq.desc() if descending else c.seq).limit(batch_size)
            with self.db.read() as conn:
                rows = conn.execute(query).all()
            make = EventRow._make
            for row in rows:
                yield make(row)
            if len(rows) < batch_size:
                return
            cursor = rows[-1].seq

    def read_stream_extras(
        self, session_id: str, thread_id: str, *, batch_size: int = 5000
    ) -> Iterator[tuple[str | None, EventRow]]:
        """The events of a thread's stream that the session stream does not hold, in stream order, each with the
        key of the event before it in the thread's stream (None for the first): enough to merge the thread into
        the session stream without reading again what both hold (for the primary thread, nearly everything).
        """
        info = self.stream_info(session_id, thread_id)
        if info is None:
            return
        session = self.stream_info(session_id, None)
        e = t.events.alias("e")
        other = t.events.alias("other")
        before = t.events.alias("before")
        previous = (select(before.c.event_key)
                    .where(and_(before.c.stream_id == e.c.stream_id, before.c.seq == e.c.seq - 1))
                    .scalar_subquery())
        conditions = [e.c.stream_id == info.stream_id]
        if session is not None:
            shared = select(other.c.event_key).where(
                and_(other.c.event_key == e.c.event_key, other.c.stream_id == session.stream_id))
            conditions.append(~shared.exists())
        base = select(previous.label("previous_key"), e.c.seq, e.c.event_id, e.c.event_key, e.c.type,
                      e.c.processed_at, e.c.payload).where(and_(*conditions))
        after = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(base.where(e.c.seq > after).order_by(e.c.seq).limit(batch_size)).all()
            for row in rows:
                yield row.previous_key, EventRow(row.seq, row.event_id, row.event_key, row.type, row.processed_at,
                                                 row.payload)
            if len(rows) < batch_size:
                return
            after = rows[-1].seq

    def find_event(self, session_id: str, event_id: str) -> list[tuple[str | None, EventRow]]:
        """Every copy of one event (by id) in a session's streams: (thread_id, row) pairs."""
        c = t.events.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(c.thread_id, c.seq, c.event_id, c.event_key, c.type, c.processed_at, c.payload)
                # by key first: an event's key is its id (non-empty ids), and the key is indexed
                .where(and_(c.event_key == event_id, c.session_id == session_id, c.event_id == event_id))
                .order_by(c.position)
            ).all()
        return [(row.thread_id, EventRow(row.seq, row.event_id, row.event_key, row.type, row.processed_at,
                                         row.payload)) for row in rows]
