"""A session's recorded streams merged into one timeline: every event exactly once, owned by its thread.

What the log holds for a session (see :mod:`recorder.emulator` for the API's model): the **session stream**
(``thread_id`` None: the primary agent's events plus events cross-posted from child threads) and **each
thread's own stream** (the primary thread's repeats the session stream's primary events; a child's is its full
history). The same event (same key) may therefore be stored in several streams.

Merge. Every stream is read lazily in its own order (the API's order, ``processed_at`` non-decreasing). Events
are taken a *time group* at a time: all events at the smallest pending ``processed_at``, from every stream.
Inside a group the first stream's order is kept (the session stream comes first) and an event only a later
stream has is inserted right after the event that precedes it in that stream, so the result respects every
stream's order. Copies of an event (same ``event_key``; ``user.interrupt`` events with an empty id are told apart
by their surrogate key) are merged into one :class:`TimelineEvent`, whose ``thread_id`` is the most specific
stream it was seen in: a child thread's over the primary thread's over the session stream's (which means the
primary thread). Copies of an event share their ``processed_at``, so they meet in the same group.

The primary thread's stream repeats what the session stream holds, so it is read as :class:`Extras`: only its
events the session stream lacks, each with the key of the event before it in the thread's stream (where it is
inserted). That halves what a single-agent session costs to read; events of both streams are owned by the
primary thread either way. Child threads are read whole (their cross-posted events decide ownership).

A stream whose times go backwards (which the API does not do) is still merged without losing or repeating an
event: every emitted key's hash is remembered, and an event that arrives behind the merge's clock is checked
against it (a late event's copy may have been emitted already). Memory: one time group plus one integer per
event (about 60 bytes); payloads are parsed once, for the copy that is emitted.

Views: ``"all"`` (every stream merged), ``"session"`` (the events the session stream holds, owners still
resolved from the thread streams) or one thread id (that thread's stream alone, every event owned by it).
``Until`` cuts a timeline to a prefix: through an event id, or up to and including a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from recorder import jsontext
from recorder.errors import ConfigError, NotFound
from recorder.events import format_time, parse_time

if TYPE_CHECKING:
    from recorder.replay.meta import SessionMeta
    from recorder.store import StreamReads

ALL = "all"
SESSION = "session"


class LoggedEvent(Protocol):
    """What the merge needs of a stored event (``EventRow``, ``StoredEvent`` and ``RawEvent`` all have it)."""

    @property
    def event_id(self) -> str: ...
    @property
    def event_key(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def processed_at(self) -> datetime | None: ...
    @property
    def payload(self) -> str: ...


class TimelineEvent(NamedTuple):
    """One event of a session's timeline: the API's JSON (text and parsed) and where it belongs. (A tuple: cheap
    to make by the hundred thousand.)"""

    index: int  # type: ignore[assignment]  # 0-based place in the timeline (shadows tuple.index, on purpose)
    key: str  # the event's key: its id, or a surrogate for an empty id
    event_id: str
    type: str
    thread_id: str | None  # the owning thread (None: the primary thread is not known)
    processed_at: datetime | None
    payload: str  # exactly as delivered
    data: dict[str, Any]
    streams: tuple[str | None, ...]  # the streams it was read from (None: the session stream; see Extras)

    @property
    def time(self) -> str | None:
        """``processed_at`` as RFC 3339 (``...Z``)."""
        return format_time(self.processed_at)


@dataclass(frozen=True, slots=True)
class Until:
    """Where a prefix of a timeline ends: through the event with ``event_id``, or at ``time`` (inclusive)."""

    event_id: str | None = None
    time: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> Until:
        """An RFC 3339 time (``2026-03-02T09:15:00Z``) or an event id."""
        value = text.strip()
        if not value:
            raise ConfigError("--until needs an event id or an RFC 3339 time")
        when = parse_time(value) if value[:4].isdigit() else None
        if when is not None:
            return cls(time=when)
        if value[:4].isdigit():
            raise ConfigError(f"--until {value!r} is neither an event id nor an RFC 3339 time")
        return cls(event_id=value)

    def describe(self) -> str:
        return f"event {self.event_id}" if self.event_id is not None else f"{format_time(self.time)}"


def cut(events: Iterable[TimelineEvent], until: Until | None) -> Iterator[TimelineEvent]:
    """The prefix of ``events`` that ``until`` keeps (all of them when None)."""
    if until is None:
        yield from events
        return
    for event in events:
        if until.time is not None:
            if event.processed_at is None or event.processed_at > until.time:
                return
            yield event
        else:
            yield event
            if event.event_id == until.event_id:
                return


# ------------------------------------------------------------------------------------------------ merging


_NEVER = datetime.max  # where events without a time sort: after everything else


class Extras(NamedTuple):
    """A thread's stream given only by what the session stream lacks: (key of the event before it in the thread's
    stream, event) pairs (see ``StreamReads.read_stream_extras``)."""

    thread_id: str
    rows: Iterable[tuple[str | None, LoggedEvent]]


def merge_streams(streams: Sequence[tuple[str | None, Iterable[LoggedEvent]] | Extras], *,
                  primary_thread_id: str | None = None) -> Iterator[TimelineEvent]:
    """Merge a session's streams into one timeline (see the module docstring).

    ``streams`` are (thread_id, events) pairs, the session stream (thread_id None) first when present, or
    :class:`Extras` for a thread whose shared events the session stream already gives; ``primary_thread_id`` is
    the thread that owns what only the session stream holds.
    """
    # Per stream: [head event, its time, the key before it (Extras only), iterator, thread id, preference, extras]
    opened: list[list[Any]] = []
    thread_id: str | None
    events: Iterable[Any]
    for source in streams:
        extras = isinstance(source, Extras)
        if isinstance(source, Extras):
            thread_id, events = source.thread_id, source.rows
        else:
            thread_id, events = source
        preference = 0 if thread_id is None else 1 if thread_id == primary_thread_id else 2
        entry = [None, None, None, iter(events), thread_id, preference, extras]
        _advance(entry)
        if entry[0] is not None:
            opened.append(entry)
    seen: set[int] = set()
    clock: datetime | None = None
    index = 0
    parse = _parse
    while opened:
        now = min(s[1] for s in opened)
        # Monotonic streams never give a group at or before the last one: if one does, its events may be
        # copies of events already emitted, so they are checked against every key emitted so far.
        late = clock is not None and now <= clock
        if clock is None or now > clock:
            clock = now
        taken: list[tuple[list[Any], list[tuple[Any, str | None]]]] = []
        for stream in opened:
            if stream[1] != now:
                continue
            rows = []
            while stream[0] is not None and stream[1] == now:
                rows.append((stream[0], stream[2]))
                _advance(stream)
            taken.append((stream, rows))
        opened = [s for s in opened if s[0] is not None]
        if len(taken) == 1:  # one stream at this time: its events as they are
            stream, rows = taken[0]
            where: tuple[str | None, ...] = (stream[4],)
            slots: Iterable[tuple[LoggedEvent, str | None, tuple[str | None, ...]]] = \
                [(row, stream[4], where) for row, _ in rows]
        elif len(taken) == 2 and [r.event_key for r, _ in taken[0][1]] == [r.event_key for r, _ in taken[1][1]]:
            # the same events in two streams
            (a, rows), (b, _) = taken
            owner = b[4] if b[5] > a[5] else a[4]
            where = (a[4], b[4])
            slots = [(row, owner, where) for row, _ in rows]
        else:
            group = _Group()
            for stream, rows in taken:
                anchor: str | None = None
                for row, before in rows:
                    if stream[6]:  # Extras: after the event before it, if that is at this time too
                        anchor = before if before in group.slots else None
                    anchor = group.add(row, stream[4], stream[5], anchor)
            slots = [(slot.event, slot.owner, tuple(slot.streams)) for slot in group.ordered()]
        for event, owner, where in slots:
            digest = hash(event.event_key)
            if late and digest in seen:
                continue
            seen.add(digest)
            yield TimelineEvent(index, event.event_key, event.event_id, event.type,
                                owner if owner is not None else primary_thread_id, event.processed_at,
                                event.payload, parse(event.payload), where)
            index += 1


def _advance(stream: list[Any]) -> None:
    item = next(stream[3], None)
    if item is None:
        stream[0] = stream[1] = stream[2] = None
    elif stream[6]:
        stream[2], stream[0] = item
        stream[1] = stream[0].processed_at or _NEVER
    else:
        stream[0] = item
        stream[1] = item.processed_at or _NEVER


class _Slot:
    __slots__ = ("event", "owner", "preference", "streams")

    def __init__(self, event: LoggedEvent, thread_id: str | None, preference: int) -> None:
        self.event = event
        self.preference = preference
        self.owner = thread_id
        self.streams = [thread_id]


class _Group:
    """The events of one time group, in an order that respects every stream's (a linked list by key)."""

    def __init__(self) -> None:
        self.slots: dict[str, _Slot] = {}
        self.next: dict[str | None, str | None] = {None: None}  # None: the head; a value None: the end

    def add(self, event: LoggedEvent, thread_id: str | None, preference: int, anchor: str | None) -> str:
        """Add one event of a stream that follows ``anchor`` there (None: the stream's first in this group);
        returns the anchor for the stream's next event."""
        key = event.event_key
        slot = self.slots.get(key)
        if slot is None:
            self.slots[key] = _Slot(event, thread_id, preference)
            self.next[key] = self.next[anchor]
            self.next[anchor] = key
        else:
            if preference > slot.preference:
                slot.preference, slot.owner = preference, thread_id
            if thread_id not in slot.streams:
                slot.streams.append(thread_id)
        return key

    def ordered(self) -> Iterator[_Slot]:
        key = self.next[None]
        while key is not None:
            yield self.slots[key]
            key = self.next[key]


def single_stream(thread_id: str | None, events: Iterable[LoggedEvent], *, owner: str | None = None
                  ) -> Iterator[TimelineEvent]:
    """One stream as a timeline, every event owned by ``owner`` (default: the stream's thread)."""
    owner = owner if owner is not None else thread_id
    where = (thread_id,)
    for index, event in enumerate(events):
        yield TimelineEvent(index, event.event_key, event.event_id, event.type, owner, event.processed_at,
                            event.payload, _parse(event.payload), where)


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner json.loads ends up in, minus two layers of wrappers


def _parse(payload: str) -> dict[str, Any]:
    try:
        data, end = _scan(payload, 0)
    except (StopIteration, ValueError, RecursionError):  # (valid JSON json refuses: hostile nesting, huge numbers)
        end, data = -1, None
    if end != len(payload):  # whitespace around it, hostile, or not JSON: the tolerant reader decides
        data = jsontext.loads(payload)  # a PartialObject (its top-level members) for hostile events
    return data if isinstance(data, dict) else {"value": data}


def session_view(events: Iterable[TimelineEvent]) -> Iterator[TimelineEvent]:
    """The events of a merged timeline that the session stream holds, renumbered."""
    index = 0
    for event in events:
        if None in event.streams:
            yield _renumbered(event, index)
            index += 1


def _renumbered(event: TimelineEvent, index: int) -> TimelineEvent:
    return event if event.index == index else event._replace(index=index)


# ------------------------------------------------------------------------------------------------ the log


def read_timeline(store: StreamReads, session_id: str, *, thread: str = ALL, until: Until | None = None,
                  meta: SessionMeta | None = None) -> Iterator[TimelineEvent]:
    """A recorded session's timeline from the log, lazily: ``thread`` is ``"all"``, ``"session"`` or a thread id.

    Raises NotFound (before yielding anything) for an unknown session or thread, or an ``until`` event that is
    not in the chosen view.
    """
    from recorder.replay.meta import load_meta

    meta = meta or load_meta(store, session_id)
    thread_ids = [t.thread_id for t in meta.threads]
    if thread not in (ALL, SESSION) and thread not in thread_ids:
        raise NotFound(f"thread {thread} is not recorded for session {session_id}; recorded threads: "
                       f"{', '.join(thread_ids) or 'none'}")
    if until is not None and until.event_id is not None:
        _require_event(store, session_id, thread, until.event_id)
    if thread not in (ALL, SESSION):
        events: Iterator[TimelineEvent] = single_stream(thread, store.read_stream(session_id, thread))
    else:
        primary = meta.primary_thread_id
        has_session_stream = store.stream_info(session_id, None) is not None
        streams: list[tuple[str | None, Iterable[LoggedEvent]] | Extras] = [(None, store.read_stream(session_id, None))]
        for tid in thread_ids:
            if tid == primary and has_session_stream:  # the session stream holds (nearly) all of it already
                streams.append(Extras(tid, store.read_stream_extras(session_id, tid)))
            else:
                streams.append((tid, store.read_stream(session_id, tid)))
        events = merge_streams(streams, primary_thread_id=meta.primary_thread_id)
        if thread == SESSION:
            events = session_view(events)
    return cut(events, until)


def _require_event(store: StreamReads, session_id: str, thread: str, event_id: str) -> None:
    copies = store.find_event(session_id, event_id)
    if not copies:
        raise NotFound(f"event {event_id} is not in session {session_id}")
    where = {tid for tid, _ in copies}
    missing = None not in where if thread == SESSION else thread != ALL and thread not in where
    if missing:
        raise NotFound(f"event {event_id} is not in the {'session stream' if thread == SESSION else thread} "
                       f"of session {session_id}")
