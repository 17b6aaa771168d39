"""Builders for the compliance tests: a small realistic log, and tampering as an attacker with full database access
(the append-only triggers bypassed: dropped on SQLite, ``session_replication_role = replica`` on PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

from recorder.events import raw_event
from recorder.store import EventStore, FileArchive, chain
from tests.helpers import interrupt, message, raws, span_end


def build_log(store: EventStore) -> None:
    """Two sessions, one with a thread, a file and a snapshot; batches interleave sessions, so a session's global
    positions are not contiguous. Ends with a batch of sesn_a's session stream alone (the log's tail)."""
    store.append(raws([message(1), message(2)]) + raws([message(1)], session="sesn_b"))
    store.append(raws([message(3), interrupt(4)]) + raws([message(10), message(11)], thread="sthr_1")
                 + raws([message(2), span_end(3, "sevt_00000002")], session="sesn_b"))
    store.append(raws([message(5)]) + raws([message(12)], thread="sthr_1") + raws([message(4)], session="sesn_b"))
    store.record_snapshot("sesn_a", {"id": "sesn_a", "type": "session", "status": "idle", "title": "Review"})
    FileArchive(store).archive("sesn_a", {"id": "file_1", "filename": "report.md", "mime_type": "text/markdown"},
                               b"# Report\n\nall green\n")
    store.append(raws([message(6), message(7), message(8)]))
    # positions: 1-3, 4-9, 10-12, 13-15; sesn_a session stream seq 1..8, thread seq 1..3, sesn_b seq 1..4


def forged_event(session: str, thread: str | None, seq: int, previous: str, position: int, stream_id: int,
                 i: int = 999) -> dict[str, Any]:
    """A row for ``events`` with hashes computed the way the recorder does (a forger knows the algorithm)."""
    event = raw_event(message(i, text="forged"), session, thread)
    digest = chain.payload_hash(event.payload)
    return {
        "position": position, "stream_id": stream_id, "seq": seq, "session_id": session, "thread_id": thread,
        "event_id": event.event_id, "event_key": event.event_key, "type": event.type,
        "processed_at": event.processed_at, "recorded_at": event.processed_at, "payload": event.payload,
        "payload_hash": digest, "chain_hash": chain.chain_hash(previous, seq, digest), "run_id": None,
    }


@contextmanager
def tampering(store: EventStore) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire, as for an attacker owning the database."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                      "AND name LIKE 'recorder_%'")).scalars().all()
            for name in names:
                conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn


def tamper(store: EventStore, *statements: str, **params: Any) -> None:
    with tampering(store) as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def row(store: EventStore, session: str, thread: str | None, seq: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT * FROM events WHERE session_id = :s AND seq = :q AND "
                 + ("thread_id IS NULL" if thread is None else "thread_id = :t")),
            {"s": session, "q": seq, "t": thread},
        ).mappings().one()
    return dict(found)


def sqlite_copy(source_url: str, target_path: str) -> str:
    """A consistent copy of a SQLite log (the backup API: the WAL included)."""
    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite:///{target_path}"
