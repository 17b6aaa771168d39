"""One emulated session: its streams, its snapshot, its files, and (when live) the thread that plays it.

Applying an emission appends the same JSON text to every stream it targets, under the session's lock, so a
cross-posted event has the same id and bytes everywhere and a reader never sees it in one stream but not yet in
the other. A finished session applies its whole script at creation with the script's times. A live session
applies it step by step in real time: emissions that share a synthetic time form one step and get the same
wall-clock ``processed_at`` (so ties happen live too), and one step is played every ``interval`` seconds. A
user event marked ``queued_steps`` is first emitted with ``processed_at: null`` that many steps earlier (listed
after every processed event, delivered on the stream), then again, processed, with the same id.

``session.status_terminated`` ends the session stream and every thread stream (subscribers finish);
``session.thread_status_terminated`` ends that thread's stream.
"""

from __future__ import annotations

import threading
from typing import Any

from recorder.apiserver.wire import dumps, format_micros, now_micros
from recorder.emulator.builder import Emission, FileSpec, Script
from recorder.emulator.lazy import LongStream, long_snapshot
from recorder.emulator.snapshots import SessionSnapshot
from recorder.emulator.streams import IndexedStream, StreamLog


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
        self.finished = threading.Event()
        self._script: Script | None = None  # live sessions: what is left to play
        self._interval = 0.0
        self._runner: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_at = 0

    @property
    def id(self) -> str:
        return self.snapshot.id

    # -------------------------------------------------------------------------------------- construction

    @classmethod
    def from_script(cls, script: Script, *, live: bool = False, interval: float = 0.05) -> EmulatedSession:
        session = cls(script.scenario, script.snapshot, live=live)
        session.files = list(script.files)
        session.streams[None] = StreamLog(session.lock)
        for thread_id in script.snapshot.threads:
            session.streams[thread_id] = StreamLog(session.lock)
        if live:
            session._script, session._interval = script, interval
        else:
            for emission in script.emissions:
                session.apply(emission, emission.at)
            session.finished.set()
        return session

    @classmethod
    def long(cls, stream: LongStream, snapshot: SessionSnapshot) -> EmulatedSession:
        session = cls("long", snapshot)
        session.streams[None] = stream
        session.streams[snapshot.primary_thread] = stream
        long_snapshot(stream, snapshot, snapshot.primary_thread)
        session.finished.set()
        return session

    # -------------------------------------------------------------------------------------- emitting

    def apply(self, emission: Emission, at: int, *, queued: bool = False) -> None:
        """Emit one event at time ``at`` (microseconds), or its queued echo."""
        event = dict(emission.event)
        event["processed_at"] = None if queued else format_micros(at)
        text = dumps(event)
        with self.lock:
            new = emission.new_thread
            if new is not None and not queued and new.id not in self.streams:
                self.snapshot.add_thread(new.id, new.agent.as_api(), new.agent.model, new.parent, at)
                self.streams[new.id] = StreamLog(self.lock)
            for target in emission.targets:
                stream = self.streams[target]
                assert isinstance(stream, StreamLog)
                stream.append(event["id"], event["type"], event["processed_at"], text)
            if queued:
                return
            self.snapshot.observe(event, emission.thread, at)
            if event["type"] == "session.status_terminated":
                for stream in self.streams.values():
                    if isinstance(stream, StreamLog):
                        stream.end()
            elif event["type"] == "session.thread_status_terminated":
                stream = self.streams.get(event.get("session_thread_id"))
                if isinstance(stream, StreamLog):
                    stream.end()

    # -------------------------------------------------------------------------------------- live playback

    @property
    def started(self) -> bool:
        return self._runner is not None or not self.live

    def start(self) -> None:
        """Begin live playback (idempotent)."""
        with self.lock:
            if self._runner is not None or not self.live:
                return
            self._runner = threading.Thread(target=self._play, name=f"emulator-live-{self.id}", daemon=True)
            self._runner.start()

    def stop(self) -> None:
        self._stop.set()

    def _play(self) -> None:
        assert self._script is not None
        steps = _steps(self._script.emissions)
        try:
            for emissions, echoes in steps:
                if self._stop.wait(self._interval):
                    return
                at = max(now_micros(), self._last_at)
                self._last_at = at
                for emission in echoes:
                    self.apply(emission, at, queued=True)
                for emission in emissions:
                    self.apply(emission, at)
        finally:
            self.finished.set()

    # -------------------------------------------------------------------------------------- objects

    def session_object(self) -> dict[str, Any]:
        with self.lock:
            now = now_micros() if self.live and not self.finished.is_set() else None
            return self.snapshot.session_object(now)

    def thread_ids(self) -> list[str]:
        with self.lock:
            return list(self.snapshot.threads)

    def thread_object(self, thread_id: str) -> dict[str, Any]:
        with self.lock:
            now = now_micros() if self.live and not self.finished.is_set() else None
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
