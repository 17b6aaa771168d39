"""One emulated session: its streams, its snapshot, its files, and the thread that plays it when it runs live.

Applying an emission appends its JSON text to every stream it targets, under the session's lock, so a
cross-posted event appears everywhere at once. Most cross-posts have the same bytes in every stream; a child
thread's blocking events carry ``session_thread_id`` in the session stream's copy only (same id, different
bytes). A finished session applies its whole script at creation with the script's times. A live session applies
it step by step in real time: emissions that share a synthetic time form one step and get the same wall-clock
``processed_at`` (so ties happen live too), and one step is played every ``interval`` seconds. A user event
marked ``queued_steps`` is first emitted with ``processed_at: null`` that many steps earlier, then again,
processed, with the same id. A later turn (:meth:`EmulatedSession.play`, e.g. after a new user message) is
played the same way.

Life cycle: a session is ``idle`` when created, ``running`` while it works and ``idle`` again when it stops (with
a ``stop_reason``); its streams stay open while it is idle, since it may run again. Streams end when the session
can emit nothing more: ``session.status_terminated`` (an unrecoverable error; a thread's own terminated status
ends that thread's stream), archiving, or deletion (open streams first receive a ``session.deleted`` event).

Files: a file the session writes becomes visible (listed, downloadable) ``file_lag`` seconds after the next
``session.status_idle`` played in real time; the files of a session finished at creation are visible at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from recorder.apiserver.source import EventRecord
from recorder.apiserver.wire import dumps, format_micros, now_micros
from recorder.emulator import ids
from recorder.emulator.builder import Emission, FileSpec, Script
from recorder.emulator.lazy import LongStream, long_snapshot
from recorder.emulator.snapshots import SessionSnapshot
from recorder.emulator.streams import IndexedStream, StreamLog, Subscriber
from recorder.errors import ConfigError

# (session, event as applied, owning thread): called under the session's lock for every processed event
EventHook = Callable[["EmulatedSession", dict[str, Any], str], None]


class EmulatedSession:
    """State of one session. ``streams[None]`` is the session stream; other keys are thread ids."""

    def __init__(self, scenario: str, snapshot: SessionSnapshot, *, live: bool = False) -> None:
        self.scenario = scenario
        self.snapshot = snapshot
        self.live = live
        self.autostart = True
        self.lock = threading.RLock()
        self.streams: dict[str | None, IndexedStream] = {}
        self.files: list[FileSpec] = []
        self.finished = threading.Event()  # set while nothing is playing (the script, or a later turn, is done)
        self.deleted = False
        self.on_event: EventHook | None = None
        self.file_lag: Callable[[FileSpec], float] = lambda f: 0.0
        self.interval = 0.0
        self.turns = 0  # later turns played (see play)
        self._visible_at: dict[str, float] = {}  # file id -> monotonic time it becomes visible
        self._script: Script | None = None  # live sessions: what is left to play
        self._runner: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_at = 0
        self._watchers: list[Subscriber] = []  # subscriptions to streams that are not logs (``long``)

    @property
    def id(self) -> str:
        return self.snapshot.id

    # -------------------------------------------------------------------------------------- construction

    @classmethod
    def from_script(cls, script: Script, *, live: bool = False, interval: float = 0.05) -> EmulatedSession:
        session = cls(script.scenario, script.snapshot, live=live)
        session.files = list(script.files)
        session.interval = interval
        session.streams[None] = StreamLog(session.lock)
        for thread_id in script.snapshot.threads:
            session.streams[thread_id] = StreamLog(session.lock)
        if live:
            session._script = script
        else:
            for emission in script.emissions:
                session.apply(emission, emission.at)
            session._visible_at = {f.id: 0.0 for f in session.files}
            session.finished.set()
        return session

    @classmethod
    def long(cls, stream: LongStream, snapshot: SessionSnapshot) -> EmulatedSession:
        session = cls("long", snapshot)
        session.streams[None] = stream
        session.streams[snapshot.primary_thread] = stream
        long_snapshot(stream, snapshot, snapshot.primary_thread)
        session._last_at = snapshot.clock.last
        session.finished.set()
        return session

    # -------------------------------------------------------------------------------------- state

    @property
    def status(self) -> str:
        return self.snapshot.status

    @property
    def archived(self) -> bool:
        return self.snapshot.archived_at is not None

    @property
    def ended(self) -> bool:
        """Whether the session can take no new event (terminated, archived or deleted)."""
        return self.deleted or self.archived or self.status == "terminated"

    def last_idle(self) -> dict[str, Any] | None:
        """The latest ``session.status_idle`` of the session stream, or None."""
        stream = self.streams[None]
        for index in range(len(stream) - 1, -1, -1):
            if stream.type_at(index) == "session.status_idle":
                return dict(json.loads(stream.record(index).json))
        return None

    # -------------------------------------------------------------------------------------- emitting

    def apply(self, emission: Emission, at: int, *, queued: bool = False) -> None:
        """Emit one event at time ``at`` (microseconds), or its queued echo."""
        event = dict(emission.event)
        event["processed_at"] = None if queued else format_micros(at)
        with self.lock:
            if self.deleted:
                return
            self._last_at = max(self._last_at, at)
            if emission.fill_usage and not queued:
                active = self.snapshot.session_object(at)["stats"]["active_seconds"]
                event["usage"] = self.snapshot.total_usage().as_api(active)
                if self.snapshot.budget is not None:
                    event["budget"] = self.snapshot.budget
            text = dumps(event)
            session_text = text if emission.session_copy is None else dumps({**event, **emission.session_copy})
            new = emission.new_thread
            if new is not None and not queued and new.id not in self.streams:
                self.snapshot.add_thread(new.id, new.agent.as_api(), new.agent.model, new.parent, at)
                self.streams[new.id] = StreamLog(self.lock)
            for target in emission.targets:
                stream = self.streams[target]
                assert isinstance(stream, StreamLog)
                stream.append(event["id"], event["type"], event["processed_at"],
                              session_text if target is None else text)
            if queued:
                return
            self.snapshot.observe(event, emission.thread, at)
            kind = event["type"]
            if kind == "session.status_terminated":
                self._end_streams()
            elif kind == "session.thread_status_terminated":
                thread_stream = self.streams.get(event.get("session_thread_id"))
                if isinstance(thread_stream, StreamLog):
                    thread_stream.end()
            elif kind == "session.status_idle" and self.live:
                self._schedule_files(emission.at)
            if self.on_event is not None:
                self.on_event(self, event, emission.thread)

    def apply_user_events(self, events: list[dict[str, Any]]) -> int:
        """Emit events a client sent, processed now, on the session stream and the primary thread; their time."""
        primary = self.snapshot.primary_thread
        with self.lock:
            at = max(now_micros(), self._last_at + 1)
            for event in events:
                self.apply(Emission(event, primary, (None, primary), at), at)
            return at

    def _schedule_files(self, until: int) -> None:
        """Files written before this idle become visible after their indexing lag."""
        now = time.monotonic()
        for f in self.files:
            if f.id not in self._visible_at and f.created <= until:
                self._visible_at[f.id] = now + self.file_lag(f)

    def visible_files(self) -> list[tuple[int, FileSpec]]:
        """(index, file) of the files listed now."""
        now = time.monotonic()
        with self.lock:
            return [(n, f) for n, f in enumerate(self.files) if self._visible_at.get(f.id, float("inf")) <= now]

    def _end_streams(self, final: EventRecord | None = None) -> None:
        for stream in self.streams.values():
            if isinstance(stream, StreamLog):
                if final is None:
                    stream.end()
                else:
                    stream.finish_with(final)
        watchers, self._watchers = self._watchers, []
        for sub in watchers:
            if final is not None:
                sub.push(final)
            sub.end()

    # -------------------------------------------------------------------------------------- subscriptions

    def subscribe(self, thread_id: str | None) -> Subscriber:
        with self.lock:
            stream = self.streams[thread_id]
            if isinstance(stream, StreamLog):
                return stream.subscribe()
            if self.ended:
                return Subscriber(None)
            sub = Subscriber(self)
            self._watchers.append(sub)
            return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self.lock:
            if sub in self._watchers:
                self._watchers.remove(sub)

    # -------------------------------------------------------------------------------------- archive, delete

    def archive(self) -> None:
        """Keep the history, take no new event, end the streams (idempotent)."""
        with self.lock:
            if self.snapshot.archived_at is None:
                self.snapshot.archived_at = max(now_micros(), self._last_at)
            self._stop.set()
            self._end_streams()

    def delete(self, seed: int) -> None:
        """Gone: open streams receive ``session.deleted`` and end; the caller forgets the session."""
        with self.lock:
            if self.deleted:
                return
            self._stop.set()
            at = format_micros(max(now_micros(), self._last_at))
            event = {"type": "session.deleted", "id": ids.make_id("sevt", seed, self.id, "deleted"), "processed_at": at}
            self.deleted = True
            self._end_streams(EventRecord(-1, "session.deleted", at, dumps(event)))
            self.files = []
            self._visible_at.clear()

    # -------------------------------------------------------------------------------------- live playback

    @property
    def started(self) -> bool:
        return self._runner is not None or not self.live

    @property
    def playing(self) -> bool:
        runner = self._runner
        return runner is not None and runner.is_alive()

    def start(self) -> None:
        """Begin live playback of the script (idempotent)."""
        with self.lock:
            if self._runner is not None or not self.live or self._script is None:
                return
            self._runner = threading.Thread(target=self._play, args=(self._script.emissions,),
                                            name=f"emulator-live-{self.id}", daemon=True)
            self._runner.start()

    def play(self, emissions: list[Emission], files: list[FileSpec], interval: float) -> None:
        """Play a later turn in real time (the session must be idle and not playing)."""
        with self.lock:
            if self.ended:
                raise ConfigError(f"session {self.id} is {'archived' if self.archived else self.status}: "
                                  "it takes no new events")
            if self.playing or (self.live and self._runner is None):
                raise ConfigError(f"session {self.id} is running; send the next message once it is idle")
            self.live = True
            self.interval = interval
            self.turns += 1
            self.files.extend(files)
            self.finished.clear()
            self._runner = threading.Thread(target=self._play, args=(emissions,),
                                            name=f"emulator-turn-{self.id}", daemon=True)
            self._runner.start()

    def stop(self) -> None:
        self._stop.set()

    def _play(self, emissions: list[Emission]) -> None:
        try:
            for group, echoes in _steps(emissions):
                if self._stop.wait(self.interval):
                    return
                with self.lock:
                    at = max(now_micros(), self._last_at)
                    for emission in echoes:
                        self.apply(emission, at, queued=True)
                    for emission in group:
                        self.apply(emission, at)
        finally:
            self.finished.set()

    def wait_playing_done(self, timeout: float) -> bool:
        return self.finished.wait(timeout)

    # -------------------------------------------------------------------------------------- objects

    def session_object(self) -> dict[str, Any]:
        with self.lock:
            now = now_micros() if self.playing else None
            return self.snapshot.session_object(now)

    def thread_ids(self) -> list[str]:
        with self.lock:
            return list(self.snapshot.threads)

    def thread_object(self, thread_id: str) -> dict[str, Any]:
        with self.lock:
            now = now_micros() if self.playing else None
            return self.snapshot.thread_object(thread_id, now)


def _steps(emissions: list[Emission]) -> list[tuple[list[Emission], list[Emission]]]:
    """Group emissions that share a time into steps, and schedule queued echoes ``queued_steps`` earlier."""
    steps: list[tuple[list[Emission], list[Emission]]] = []
    for emission in emissions:
        if steps and steps[-1][0] and steps[-1][0][-1].at == emission.at:
            steps[-1][0].append(emission)
        else:
            steps.append(([emission], []))
    for index, (group, _) in enumerate(steps):
        for emission in group:
            if emission.queued_steps > 0:
                steps[max(0, index - emission.queued_steps)][1].append(emission)
    return steps
