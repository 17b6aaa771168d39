"""Where one stream's events go: into the log, with its checkpoint, fenced by the session's lease.

Shared by polling and streaming. Rules applied to every batch, whichever way it arrived:

- Events with ``processed_at: null`` are queued user events the agent has not picked up yet. They are not stored:
  the API delivers them again, processed and with the same id, at their place in the stream. Storing the queued
  copy would keep it forever (idempotency keeps the first copy) and put it out of order.
- Secret-named fields are scrubbed (:mod:`recorder.ingest.scrub`).
- The checkpoint moves in the same transaction as the events: the latest ``processed_at`` seen (the session
  stream resumes from it with ``created_at[gte]`` and an overlap that the store dedupes) and, for thread streams,
  the list cursor of the last page read (the API offers no time filter there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder.events import RawEvent, raw_event
from recorder.ingest.scrub import might_hold_secrets, scrub
from recorder.ingest.writer import LogWriter
from recorder.store import Checkpoint, Lease

KEEP = object()  # "leave the stored cursor as it is"


@dataclass
class StreamSink:
    session_id: str
    thread_id: str | None
    writer: LogWriter
    lease: Lease | None
    on_events: Callable[[str | None, Sequence[dict[str, Any]]], None] = lambda _thread, _events: None
    last_processed_at: datetime | None = None
    last_event_id: str | None = None
    cursor: str | None = None
    complete: bool = False
    added: int = 0
    _loaded: bool = field(default=False, repr=False)

    @property
    def label(self) -> str:
        return self.session_id + (f" thread {self.thread_id}" if self.thread_id else "")

    async def load(self) -> None:
        """Read where recording of this stream got to (once)."""
        if self._loaded:
            return
        checkpoint = await self.writer.checkpoint(self.session_id, self.thread_id)
        if checkpoint is not None:
            self.last_processed_at = checkpoint.last_processed_at
            self.last_event_id = checkpoint.last_event_id
            self.cursor = checkpoint.cursor
            self.complete = checkpoint.complete
        self._loaded = True

    def _raw(self, obj: dict[str, Any], text: str | None) -> RawEvent:
        event = raw_event(obj, self.session_id, self.thread_id, text)
        if might_hold_secrets(event.payload):
            event = raw_event(scrub(obj), self.session_id, self.thread_id)
        return event

    async def write(
        self, objs: Sequence[dict[str, Any]], texts: Sequence[str] | None = None, cursor: Any = KEEP
    ) -> int:
        """Append a batch in the API's order (``texts``: each object's JSON as sent, if known); returns how many
        events were new."""
        pairs = zip(objs, texts, strict=True) if texts is not None else ((obj, None) for obj in objs)
        kept = [(obj, text) for obj, text in pairs if isinstance(obj, dict) and obj.get("processed_at") is not None]
        processed = [obj for obj, _ in kept]
        if cursor is not KEEP:
            self.cursor = cursor
        if not processed and cursor is KEEP:
            return 0
        events = [self._raw(obj, text) for obj, text in kept]
        for event in events:
            if event.processed_at is not None and (
                self.last_processed_at is None or event.processed_at >= self.last_processed_at
            ):
                self.last_processed_at = event.processed_at
                self.last_event_id = event.event_id
        checkpoint = Checkpoint(
            self.session_id, self.thread_id, self.last_processed_at, self.last_event_id, self.cursor, self.complete
        )
        result = await self.writer.append(events, checkpoint, self.lease)
        self.added += result.added
        if processed:
            self.on_events(self.thread_id, processed)
        return result.added

    async def mark_complete(self) -> None:
        """The session terminated and this stream was read to its end: nothing more will come."""
        self.complete = True
        checkpoint = Checkpoint(
            self.session_id, self.thread_id, self.last_processed_at, self.last_event_id, self.cursor, True
        )
        await self.writer.append([], checkpoint, self.lease)  # fenced, like every write of a recording
