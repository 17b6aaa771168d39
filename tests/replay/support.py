"""Test logs for replay: emulator sessions appended to a store exactly as the recorder appends them.

For every session: the session stream (``emu.ground_truth(sid)``, thread_id None) and each thread's stream
(``emu.ground_truth(sid, tid)``) as raw events (events with a null ``processed_at`` skipped, as the recorder never
stores those), plus the session snapshot and each thread's snapshot, and the session's files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from recorder.emulator import Emulator
from recorder.events import raw_event
from recorder.store import EventStore, FileArchive

SEED = 7
LONG_EVENTS = 1_200
BATCH = 1_000


def _batches(texts: Iterable[str], session_id: str, thread_id: str | None) -> Iterator[list]:
    batch = []
    for text in texts:
        obj = json.loads(text)
        if obj.get("processed_at") is None:
            continue
        batch.append(raw_event(obj, session_id, thread_id))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def record_session(emu: Emulator, store: EventStore, session_id: str, *, files: bool = True) -> None:
    """Append one emulator session (every stream, snapshots, files) to ``store``."""
    for thread_id in [None, *emu.thread_ids(session_id)]:
        for batch in _batches(emu.ground_truth_json(session_id, thread_id), session_id, thread_id):
            store.append(batch)
    store.record_snapshot(session_id, emu.session(session_id))
    for thread in emu.threads(session_id):
        store.record_snapshot(session_id, thread, thread_id=thread["id"])
    if files:
        archive = FileArchive(store)
        for meta in emu.files(session_id):
            archive.archive(session_id, meta, emu.file_content(meta["id"]))


def record_all(emu: Emulator, store: EventStore, session_ids: Iterable[str] | None = None) -> None:
    for session_id in session_ids if session_ids is not None else emu.session_ids():
        record_session(emu, store, session_id)


def session_events(emu: Emulator, session_id: str) -> dict[str | None, list[dict[str, Any]]]:
    """Every stream's processed events, straight from the emulator (the independent view tests compare with)."""
    return {tid: [e for e in emu.ground_truth(session_id, tid) if e.get("processed_at") is not None]
            for tid in [None, *emu.thread_ids(session_id)]}


def unique_events(emu: Emulator, session_id: str) -> dict[str, dict[str, Any]]:
    """Every event of a session once, keyed by its id (or its JSON for empty ids), from all its streams."""
    out: dict[str, dict[str, Any]] = {}
    for events in session_events(emu, session_id).values():
        for event in events:
            out.setdefault(event["id"] or json.dumps(event, sort_keys=True), event)
    return out
