"""Where one stream's events go: into the log, with its checkpoint, fenced by the session's lease.

Shared by polling and streaming. Rules applied to every batch, whichever way it arrived:

- Events with ``processed_at: null`` are queued user events the agent has not picked up yet. They are not stored:
  the API delivers them again, processed and with the same id, at their place in the stream. Storing the queued
  copy would keep it forever (idempotency keeps the first copy) and put it out of order.
- Secret-named fields are scrubbed (:mod:`recorder.ingest.scrub`).
- The checkpoint moves in the same transaction as the events: the resume time of the session stream (below) and,
  for thread streams, the list cursor of the last page read (the API offers no time filter there).
- Every item must be a JSON object; one that is not (or cannot be stored) stops this stream with
  :class:`recorder.errors.StreamStopped` naming it, never silently dropped.

Known events. Catching up re-reads what the live stream already delivered (the overlap window, a thread's last
page): the sink remembers the ids it has committed in this run (at most ``KNOWN_LIMIT``; then it starts over) and
drops them from a batch before any work is done on them. The store would skip them anyway (idempotency stays in
the database); this only spares parsing, scrubbing and a key lookup per re-read event.

Resume time. Timestamps from a distributed service are not a cursor: one event whose ``processed_at`` is far ahead
of its place in the list must not make the next catch-up skip the events listed after it, and an event may become
visible late with a time earlier than events already read. So the session stream resumes from the *median*
``processed_at`` of the last few events in list order (one outlier, either way, cannot move a median), minus an
overlap window (``overlap``, default 30 s) for late-visible events; what is read twice is deduplicated by the log.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from recorder.errors import StreamStopped
from recorder.events import RawEvent, raw_event
from recorder.ingest.scrub import Rules, rules, scrub_paths, scrub_text
from recorder.ingest.wrapped import Wrapped
from recorder.ingest.writer import LogWriter
from recorder.jsontext import PartialObject
from recorder.store import AppendResult, Checkpoint, Lease

KEEP = object()  # "leave the stored cursor as it is"
RECENT = 9  # events whose median processed_at is the resume time
KNOWN_LIMIT = 20_000  # ids of committed events a sink remembers
DEFAULT_OVERLAP = 30.0


def resume_time(recent: Sequence[datetime], overlap: float) -> datetime | None:
    """Where the session stream's next catch-up starts: the median of ``recent`` (the last events' times, list
    order) minus ``overlap`` seconds; None (from the start) when nothing is known."""
    if not recent:
        return None
    middle = sorted(recent)[(len(recent) - 1) // 2]  # the lower median: an actual event's time
    try:
        return middle - timedelta(seconds=overlap)
    except OverflowError:
        return None


@dataclass
class StreamSink:
    session_id: str
    thread_id: str | None
    writer: LogWriter
    lease: Lease | None
    # Called after each batch with the batch's events in the API's order, those read again included (what follows
    # the session's status must see them in list order: a late-visible event listed before an idle already
    # committed does not leave the session running), and those of them that were new to this sink.
    on_events: Callable[[str | None, Sequence[dict[str, Any]], Sequence[dict[str, Any]]], None] = (
        lambda _thread, _events, _new: None
    )
    last_processed_at: datetime | None = None
    last_event_id: str | None = None
    cursor: str | None = None
    complete: bool = False
    added: int = 0
    delivered_at: float = 0.0  # time.monotonic() of the last batch that brought anything (see record.py)
    overlap: float = DEFAULT_OVERLAP
    recent: deque[datetime] = field(default_factory=lambda: deque(maxlen=RECENT), repr=False)
    known: set[str] = field(default_factory=set, repr=False)  # ids committed by this sink (see the docstring)
    wrapped: Wrapped | None = field(default=None, repr=False)  # events wrapped by the run's other sinks
    # The session's checkpoints, read at once when its lease was taken (None: read this stream's own when it
    # loads). Under the lease only this recorder writes them, so the read stays true until each sink loads; a
    # stream absent from it has none.
    preloaded: Mapping[str | None, Checkpoint] | None = field(default=None, repr=False)
    _loaded: bool = field(default=False, repr=False)

    @property
    def resume_at(self) -> datetime | None:
        """The ``created_at[gte]`` of the session stream's next catch-up (see the module docstring)."""
        return resume_time(self.recent, self.overlap)

    @property
    def label(self) -> str:
        return self.session_id + (f" thread {self.thread_id}" if self.thread_id else "")

    async def load(self) -> None:
        """Read where recording of this stream got to (once)."""
        if self._loaded:
            return
        if self.preloaded is not None:
            checkpoint = self.preloaded.get(self.thread_id)
        else:
            checkpoint = await self.writer.checkpoint(self.session_id, self.thread_id)
        if checkpoint is not None:
            self.last_processed_at = checkpoint.last_processed_at
            self.last_event_id = checkpoint.last_event_id
            self.cursor = checkpoint.cursor
            self.complete = checkpoint.complete
        if self.thread_id is None and checkpoint is not None:  # (no checkpoint: nothing recorded, read from the start)
            self.recent.extend(await self.writer.recent_times(self.session_id, self.thread_id, RECENT))
        self._loaded = True

    def _raw(self, obj: Any, text: str | None, index: int, current: Rules) -> RawEvent:
        if not isinstance(obj, dict):
            shown = (text if text is not None else repr(obj))[:80]
            raise StreamStopped(f"{self.label}: item {index + 1} of a page is not a JSON object ({shown}); "
                                "this stream stops here, everything before it is recorded")
        if text is not None and self.wrapped is not None:
            done = self.wrapped.get(text, self.session_id, self.thread_id, current)
            if done is not None:  # the same text on another stream of the session (its primary thread)
                return done
        try:
            event = raw_event(obj, self.session_id, self.thread_id, text)
            maybe, values = current.triage(event.payload)
            if maybe:
                if isinstance(obj, PartialObject):  # cannot be re-serialized: scrub its text
                    scrubbed_text, paths = scrub_text(event.payload)
                    if paths:
                        event = raw_event(obj, self.session_id, self.thread_id, scrubbed_text)
                else:
                    clean, paths = scrub_paths(obj, current, values=values)
                    if paths:  # else the bytes stay exactly as delivered
                        event = raw_event(clean, self.session_id, self.thread_id)
                if paths:
                    event = replace(event, scrubbed=json.dumps(paths))
        except (ValueError, RecursionError) as err:
            raise StreamStopped(f"{self.label}: event {_name(obj)} cannot be stored ({err}); this stream stops "
                                "here, everything before it is recorded") from None
        if text is not None and self.wrapped is not None:
            self.wrapped.put(text, current, event)
        return event

    async def write(
        self, objs: Sequence[dict[str, Any]], texts: Sequence[str] | None = None, cursor: Any = KEEP
    ) -> int:
        """Append a batch in the API's order (``texts``: each object's JSON as sent, if known); returns how many
        events were new."""
        if objs:
            self.delivered_at = time.monotonic()
        pairs = zip(objs, texts, strict=True) if texts is not None else ((obj, None) for obj in objs)
        known = self.known
        delivered = [(obj, text, index) for index, (obj, text) in enumerate(pairs)
                     if not isinstance(obj, dict) or obj.get("processed_at") is not None]
        kept = [item for item in delivered if not isinstance(item[0], dict) or not _known(item[0], known)]
        processed = [obj for obj, _, _ in kept]
        if cursor is not KEEP:
            self.cursor = cursor
        if not processed and cursor is KEEP:
            if delivered:
                self.on_events(self.thread_id, [obj for obj, _, _ in delivered], [])
            return 0
        events: list[RawEvent] = []
        stopped: StreamStopped | None = None
        stopped_at = len(objs)
        current = rules()  # (read from the environment once per batch)
        for obj, text, index in kept:
            try:
                events.append(self._raw(obj, text, index, current))
            except StreamStopped as err:  # keep what came before it, then stop this stream
                stopped, stopped_at = err, index
                processed = processed[: len(events)]
                break
        for event in events:
            self.last_event_id = event.event_id
            if event.processed_at is not None:
                self.recent.append(event.processed_at)
        self.last_processed_at = self.resume_at if self.thread_id is None else None
        checkpoint = Checkpoint(
            self.session_id, self.thread_id, self.last_processed_at, self.last_event_id, self.cursor, self.complete
        )
        result = await self.writer.append(events, checkpoint, self.lease, self._count)
        if len(known) + len(events) > KNOWN_LIMIT:
            known.clear()
        known.update(event.event_key for event in events if event.event_key == event.event_id)
        seen = [obj for obj, _, index in delivered if index < stopped_at]
        if seen:
            self.on_events(self.thread_id, seen, processed)
        if stopped is not None:
            raise stopped
        return result.added

    def _count(self, result: AppendResult) -> None:
        """A batch of this sink committed (its task may have been cancelled meanwhile: it is counted all the same)."""
        self.added += result.added

    async def mark_complete(self) -> None:
        """The session terminated and this stream was read to its end: nothing more will come."""
        self.complete = True
        checkpoint = Checkpoint(
            self.session_id, self.thread_id, self.last_processed_at, self.last_event_id, self.cursor, True
        )
        await self.writer.append([], checkpoint, self.lease)  # fenced, like every write of a recording


def _known(obj: dict[str, Any], known: set[str]) -> bool:
    """Whether the event's id (a plain string: its own key in the stream) was committed by this sink."""
    event_id = obj.get("id")
    return isinstance(event_id, str) and event_id in known


def _name(obj: dict[str, Any]) -> str:
    event_id, kind = obj.get("id"), obj.get("type")
    shown = repr(event_id)[:80] if event_id not in (None, "") else "(no id)"
    return shown + (f" ({kind[:80]})" if isinstance(kind, str) else "")
