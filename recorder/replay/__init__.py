"""Offline replay of recorded sessions: everything here reads only the event log.

* :mod:`~recorder.replay.timeline` — a session's streams merged into one timeline, each event once, owned by its
  thread; prefixes (``Until``).
* :mod:`~recorder.replay.fold` — the pure fold of a timeline to the session's state (turns, model requests, tool
  calls with results, lanes, statuses, errors, usage and cost).
* :mod:`~recorder.replay.pacing` — re-emitting events at their original pace, scaled.
* :mod:`~recorder.replay.typed` — events as the installed SDK's typed objects (dicts for unknown types).

Rendering (Markdown, text, JSON, HTML) is :mod:`recorder.render`, which builds on this package; the library
API over both, :class:`~recorder.recorded.RecordedSession`, is :mod:`recorder.recorded`; serving recordings over
the API's HTTP shape is :mod:`recorder.serve`.
"""

from recorder.replay.fold import Entry, Folder, SessionState, ToolCall, fold
from recorder.replay.meta import SessionMeta, ThreadMeta, load_meta
from recorder.replay.pacing import paced
from recorder.replay.timeline import ALL, SESSION, TimelineEvent, Until, merge_streams, read_timeline
from recorder.replay.typed import known_types, sdk_event, typed

__all__ = [
    "ALL",
    "SESSION",
    "Entry",
    "Folder",
    "SessionMeta",
    "SessionState",
    "ThreadMeta",
    "TimelineEvent",
    "ToolCall",
    "Until",
    "fold",
    "known_types",
    "load_meta",
    "merge_streams",
    "paced",
    "read_timeline",
    "sdk_event",
    "typed",
]
