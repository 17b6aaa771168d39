"""The library's front door to one recorded session, read from the log: its events, its state, its transcript.

It sits above both :mod:`recorder.replay` (timeline, fold, pacing, typed events) and :mod:`recorder.render`
(which renders what replay reads), so neither of those imports the other's way back.

::

    from recorder.recorded import RecordedSession

    with RecordedSession.open("sqlite:///recorder.db", "sesn_...") as session:
        for event in session.events():               # the SDK's typed events; dicts for unknown types
            handle(event)                            # the same handler code as for client.beta.sessions.events
        for event in session.stream(speed=10):       # the same, paced like the original (10x faster)
            handle(event)
        state = session.state(until="sevt_...")     # the fold: turns, tool calls, usage... as it stood then
        text = session.transcript("md")              # or "text", "json", "html"

``thread`` selects what is read: ``"session"`` (the default for typed events: what the SDK's session stream and
``events.list`` give), ``"all"`` (every stream merged, each event once) or a thread id (what
``client.beta.sessions.threads.events.list`` gives for it).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

from recorder.errors import ConfigError
from recorder.replay.fold import SessionState, fold
from recorder.replay.meta import SessionMeta, load_meta
from recorder.replay.pacing import paced
from recorder.replay.timeline import ALL, SESSION, TimelineEvent, Until, read_timeline
from recorder.replay.typed import typed
from recorder.store import EventStore

FORMATS = ("md", "text", "json", "html")


def _until(until: str | Until | None) -> Until | None:
    return Until.parse(until) if isinstance(until, str) else until


class RecordedSession:
    """A recorded session in an event log (an :class:`EventStore` you own, or one opened from a URL)."""

    def __init__(self, store: EventStore, session_id: str, *, owns_store: bool = False) -> None:
        self.store = store
        self.session_id = session_id
        self._owns_store = owns_store
        self.meta: SessionMeta = load_meta(store, session_id)

    @classmethod
    def open(cls, url: str, session_id: str) -> RecordedSession:
        """Open the log at ``url`` (closed again with :meth:`close` or the ``with`` block)."""
        store = EventStore(url)
        try:
            return cls(store, session_id, owns_store=True)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> RecordedSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading

    def timeline(self, *, thread: str = ALL, until: str | Until | None = None) -> Iterator[TimelineEvent]:
        """The merged timeline (see :mod:`recorder.replay.timeline`)."""
        return read_timeline(self.store, self.session_id, thread=thread, until=_until(until), meta=self.meta)

    def raw(self, *, thread: str = SESSION, until: str | Until | None = None) -> Iterator[dict[str, Any]]:
        """The events as the API delivered them (parsed JSON objects), in order."""
        return (event.data for event in self.timeline(thread=thread, until=until))

    def events(self, *, thread: str = SESSION, until: str | Until | None = None) -> Iterator[Any]:
        """The events as the installed SDK's typed objects (dicts for types it does not know), in order."""
        return typed(self.timeline(thread=thread, until=until))

    def stream(self, *, speed: float = 1.0, max_gap: float | None = None, thread: str = SESSION,
               until: str | Until | None = None) -> Iterator[Any]:
        """Like :meth:`events`, at the original pace scaled by ``speed`` (0: as fast as possible)."""
        timeline = paced(self.timeline(thread=thread, until=until), lambda e: e.processed_at, speed=speed,
                         max_gap=max_gap)
        return typed(timeline)

    def state(self, *, thread: str = ALL, until: str | Until | None = None) -> SessionState:
        """The fold of the session (or of its prefix up to ``until``)."""
        cut = _until(until)
        return fold(self.timeline(thread=thread, until=cut), self.meta, snapshot_cost=cut is None)

    def transcript(self, format: str = "md", *, thread: str = ALL, until: str | Until | None = None,
                   **options: Any) -> str:
        """A transcript as a string: ``md``, ``text``, ``json`` or ``html``."""
        out = io.StringIO()
        write_transcript(self.store, self.session_id, out, format=format, thread=thread, until=_until(until),
                         meta=self.meta, **options)
        return out.getvalue()


def write_transcript(store: EventStore, session_id: str, out: Any, *, format: str = "md", thread: str = ALL,
                     until: Until | None = None, meta: SessionMeta | None = None, **options: Any) -> SessionState:
    """Render one session's transcript to ``out`` (a text stream). ``options`` go to the renderer
    (``max_chars``; ``colour`` for text)."""
    if format not in FORMATS:
        raise ConfigError(f"unknown transcript format {format!r}; choose one of {', '.join(FORMATS)}")
    meta = meta or load_meta(store, session_id)
    events = read_timeline(store, session_id, thread=thread, until=until, meta=meta)
    from recorder.render.html import write_html
    from recorder.render.markdown import write_markdown
    from recorder.render.plain import write_text
    from recorder.render.structured import write_json

    writers: dict[str, Callable[..., SessionState]] = {"md": write_markdown, "text": write_text, "json": write_json,
                                                        "html": write_html}
    return writers[format](events, meta, out, until=until, view=thread, **options)
