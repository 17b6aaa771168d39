"""Recording: sessions from the Managed Agents API into the event log, every event exactly once.

One run records many sessions concurrently (asyncio, one task per session, bounded by ``concurrency``). For each
session the recorder:

1. takes the session's lease (waiting while another live recorder holds it) and renews it while it works; every
   append is fenced by it (:mod:`recorder.store.leases`);
2. keeps the session's snapshot (status, usage, stats, agent) — scrubbed, stored only when it changed;
3. records the session stream and the stream of every thread (threads are discovered from ``threads.list`` and,
   live, from ``session.thread_created`` events) — each its own stream in the log;
4. by *poll* (:mod:`recorder.ingest.poll`: history from the checkpoint to the end) or *stream*
   (:mod:`recorder.ingest.stream`: the SSE stream consolidated with history, across drops). ``auto`` streams
   sessions that are not closed when following and polls the rest. Without ``follow`` a run records what exists
   now and stops; with it, it goes on until the session is *settled* (idle, not waiting for the client, quiet for
   ``settle`` seconds — a snapshot confirms it, then every stream is caught up once more), *closed* (terminated or
   archived) or *deleted* (see :mod:`recorder.ingest.lifecycle`);
5. archives the session's output files with their sha256 (listing once more if it went idle within the few
   seconds files take to be indexed), marks its streams complete once closed, and enters its lifecycle state
   (:mod:`recorder.store.lifecycle`). A 404 that turns out to mean the session was deleted upstream is not an
   error: what was recorded is kept and the deletion is audited.

``record --all`` without ``follow`` takes only the sessions whose list entry changed since they were last recorded;
with ``follow`` the run is the service of :mod:`recorder.service`. Every API request takes a token from the
run's request budget (:mod:`recorder.ingest.budget`).

The whole run is bounded by a wall-clock deadline on the monotonic clock; reaching it raises DeadlineReached after
every batch handed to the store has committed, so the same command resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import getpass
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anthropic

from recorder.errors import (
    ApiError,
    ConfigError,
    DeadlineReached,
    LeaseLost,
    RecorderError,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
    StreamStopped,
    Terminated,
)
from recorder.ingest.api import Api
from recorder.ingest.budget import DEFAULT_MAX_RPM, RequestBudget
from recorder.ingest.deadline import Deadline
from recorder.ingest.lifecycle import (
    CLOSED,
    DEFAULT_SETTLE,
    DEFAULT_SWEEP_INTERVAL,
    FILE_INDEX_LAG,
    Upstream,
    Watch,
    is_closed,
    state_of,
    unchanged,
)
from recorder.ingest.poll import DEFAULT_PAGE_SIZE, catch_up
from recorder.ingest.retry import RetryPolicy
from recorder.ingest.scrub import scrub
from recorder.ingest.sink import DEFAULT_OVERLAP, StreamSink
from recorder.ingest.stream import follow
from recorder.ingest.webhooks import WebhookListener
from recorder.ingest.wrapped import Wrapped
from recorder.ingest.writer import LogWriter
from recorder.service import Service
from recorder.store import Checkpoint, EventStore, Lease, Leases, pruned_sessions

T = TypeVar("T")
MODES = ("auto", "stream", "poll")
STREAMS_AT_ONCE = 4  # per session, when catching up by poll
FILES_AT_ONCE = 4  # per session: downloads in flight together, then stored in one transaction
ACTIVE_CATCHUP_EVERY = 4  # a stream still delivering is caught up by the status watch every this many intervals
SNAPSHOT_EVENT_TYPES = frozenset(
    {"session.status_running", "session.status_idle", "session.status_rescheduled", "session.status_terminated",
     "session.updated", "session.error"}
)


@dataclass(frozen=True)
class RecordOptions:
    mode: str = "auto"
    follow: bool = False
    deadline: float | None = None
    request_timeout: float = 60.0
    page_size: int = DEFAULT_PAGE_SIZE
    concurrency: int = 8
    poll_interval: float = 2.0
    lease_seconds: float = 30.0
    files: bool = True
    statuses: tuple[str, ...] = ()
    created_after: datetime | None = None
    refresh: bool = False
    overlap: float = DEFAULT_OVERLAP  # seconds the session stream's catch-ups re-read (see recorder.ingest.sink)
    catchup_interval: float = 30.0  # stream mode: seconds between checks of the status and catch-ups from history
    include_pruned: bool = False  # with discovery: record sessions pruned from the log (tombstoned) again
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    settle: float = DEFAULT_SETTLE  # quiet seconds after an idle (not requires_action) before a session is settled
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL  # --all --follow: seconds between sessions.list sweeps
    max_rpm: float | None = DEFAULT_MAX_RPM  # the process's API requests per minute (None: no limit)
    listen: tuple[str, int] | None = None  # --all --follow: where to take webhooks
    webhook_key: str | None = None  # default: ANTHROPIC_WEBHOOK_SIGNING_KEY
    file_index_lag: float = FILE_INDEX_LAG  # seconds after an idle before its output files are surely listed
    started: float | None = None  # time.monotonic() when the deadline's clock started (default: the run's start)
    shard: tuple[int, int] | None = None  # --all --follow: record only worker I of N's sessions (recorder.workers)


@dataclass
class SessionOutcome:
    session_id: str
    status: str | None = None
    mode: str | None = None
    events_added: int = 0
    threads: int = 0
    files_added: int = 0
    complete: bool = False
    error: str | None = None
    skipped: str | None = None
    state: str | None = None  # active, settled, closed or deleted (see recorder.store.lifecycle)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "session",
            "session_id": self.session_id,
            "status": self.status,
            "mode": self.mode,
            "events_added": self.events_added,
            "threads": self.threads,
            "files_added": self.files_added,
            "complete": self.complete,
            "state": self.state,
            "skipped": self.skipped,
            "error": self.error,
        }


@dataclass
class RunReport:
    run_id: int | None
    sessions: list[SessionOutcome] = field(default_factory=list)
    outcome: str = "ok"
    unchanged: int = 0  # sessions listed that had not changed since they were last recorded

    @property
    def deleted(self) -> list[SessionOutcome]:
        return [s for s in self.sessions if s.state == "deleted"]

    @property
    def events_added(self) -> int:
        return sum(s.events_added for s in self.sessions)

    @property
    def failed(self) -> list[SessionOutcome]:
        return [s for s in self.sessions if s.error]


class Observer:
    """What a recording run tells the person or program watching it. The default says nothing."""

    def run_started(self, run_id: int | None) -> None: ...
    def session_started(self, session_id: str, mode: str) -> None: ...
    def session_finished(self, outcome: SessionOutcome) -> None: ...
    def events_added(self, count: int) -> None: ...
    def threads_found(self, count: int) -> None: ...
    def notice(self, text: str) -> None: ...
    def budget(self, budget: RequestBudget) -> None:
        """The run's request budget (its rate may be shown)."""

    def warning(self, text: str) -> None:
        """A notice the person must see even when notices are not shown (one line)."""
        self.notice(text)

    def clear(self) -> None:
        """Take down anything drawn on the terminal, before other output."""


class SessionRecorder:
    """Records one session: its lease, snapshot, streams, threads and files."""

    def __init__(self, recorder: Recorder, session_id: str, listed: dict[str, Any] | None = None) -> None:
        self.recorder = recorder
        self.listed = listed  # its sessions.list entry, just read (a backfill by discovery): the first snapshot
        self.api = recorder.api
        self.writer = recorder.writer
        self.options = recorder.options
        self.observer = recorder.observer
        self.session_id = session_id
        self.outcome = SessionOutcome(session_id)
        self.lease: Lease | None = None
        self.terminated = asyncio.Event()  # nothing more can come: terminated, archived or deleted
        self.stop = asyncio.Event()  # stop following: ended, or settled
        self.watch = Watch()
        self.quiet_since = time.monotonic()
        self.baseline: dict[str, Any] | None = None  # a snapshot taken before the last complete catch-up
        self.last_session: dict[str, Any] | None = None
        self.sinks: dict[str | None, StreamSink] = {}
        self.thread_tasks: dict[str, asyncio.Task[None]] = {}
        self.snapshot_due = asyncio.Event()
        self.caught_up_at: dict[str | None, float] = {}  # time.monotonic() of each stream's last backstop catch-up
        self.threads_due = asyncio.Event()
        self.stopped: dict[str | None, str] = {}  # streams that cannot go on (StreamStopped), with why
        self.unsaved: list[dict[str, Any]] = []  # session snapshots kept with the next threads' (one transaction)
        # The last snapshot this recorder kept of the session (None) and of each thread. Under the session's lease
        # nobody else keeps its snapshots, so one equal to it is known unchanged without asking the store.
        self.kept: dict[str | None, dict[str, Any]] = {}
        # What the log held of the session when its lease was taken, read at once (None: not read): its streams'
        # checkpoints, and the ids of its archived files, which this recorder keeps up to date as it archives
        # more. Under the lease nobody else changes either.
        self.checkpoints: Mapping[str | None, Checkpoint] | None = None
        self.archived: set[str] | None = None

    # ------------------------------------------------------------------------------------ plumbing

    def _sink(self, thread_id: str | None) -> StreamSink:
        if thread_id not in self.sinks:
            self.sinks[thread_id] = StreamSink(
                self.session_id, thread_id, self.writer, self.lease, on_events=self._seen,
                overlap=self.options.overlap, wrapped=self.recorder.wrapped,
                preloaded=self.checkpoints,
            )
        return self.sinks[thread_id]

    def _tally(self) -> bool:
        """Bring the session's count, and the run's (through the observer), to what its streams committed;
        whether it moved. Also at the session's end: a batch committed while its task was being cancelled
        (SIGTERM) is counted by its sink but never reached :meth:`_seen`."""
        total = sum(s.added for s in self.sinks.values())
        if total == self.outcome.events_added:
            return False
        self.observer.events_added(total - self.outcome.events_added)
        self.outcome.events_added = total
        return True

    def _seen(self, thread_id: str | None, events: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> None:
        """Notice what matters to the session in a batch just recorded: the session's status follows ``events`` in
        the API's order, events read again included (a late-visible event may be listed before ones already
        seen); only ``new`` ones (not seen by this stream before) ask for a snapshot or the thread list."""
        if self._tally():
            self.quiet_since = time.monotonic()
        if thread_id is None:
            for event in events:
                self.watch.see(event)
            if self.watch.ended:
                self.terminated.set()
                self.stop.set()
        for event in new:
            kind = event.get("type")
            if kind in SNAPSHOT_EVENT_TYPES:
                self.snapshot_due.set()
            if kind == "session.thread_created":
                self.threads_due.set()

    async def _contained(self, thread_id: str | None, work: Awaitable[object]) -> None:
        """Run one stream's work; a StreamStopped (an unstorable event, a looping cursor) costs that stream only:
        it is noted, and the session's other streams go on. The session then ends with that error."""
        try:
            await work
        except StreamStopped as err:
            self.stopped.setdefault(thread_id, str(err))

    async def _take_lease(self) -> Lease | None:
        """The session's lease. Another live recorder holding it: with ``follow``, wait to take over (it may
        stop or die); without, or in the service (whose slot is better spent elsewhere; a later sweep or webhook
        brings the session back), skip the session — it is being recorded (None)."""
        announced = False
        while True:
            got = await self.writer.acquire(self.session_id)
            if isinstance(got, Lease):
                return got
            if not self.options.follow or self.recorder.serving:  # the service: the holder records it
                self.outcome.skipped = f"being recorded by {got.owner}"
                return None
            if not announced:
                self.observer.notice(f"{self.session_id}: waiting for the lease held by {got.owner}")
                announced = True
            await self.api.deadline.sleep(min(2.0, self.options.lease_seconds / 4))

    async def _keep_lease(self) -> None:
        assert self.lease is not None
        while True:
            await asyncio.sleep(self.options.lease_seconds / 3)
            self.lease = await self.writer.renew(self.lease)
            for sink in self.sinks.values():
                sink.lease = self.lease

    async def _snapshot(self, *, first: bool = False) -> dict[str, Any]:
        """What the API says about the session now, kept in the log. The ``first`` one (before any stream is read)
        is the session's ``sessions.list`` entry when discovery has just read it (the same object; no second
        request), and is stored with the threads' snapshots by :meth:`_threads`, which every way of recording
        calls next: one transaction for all of them."""
        if first and self.listed is not None:
            session, self.listed = self.listed, None
        else:
            session = await self.api.retrieve_session(self.session_id)
        self.outcome.status = session.get("status")
        self.last_session = session
        if first:
            self.unsaved.append(scrub(session))
        else:
            await self._save_snapshots([(None, scrub(session))])
        if is_closed(session):
            self.terminated.set()
            self.stop.set()
        return session

    async def _save_snapshots(self, snapshots: list[tuple[str | None, dict[str, Any]]]) -> None:
        """Store the session snapshots not stored yet and ``snapshots`` (``(thread_id, object)``, None: the
        session), in one transaction; those equal to the last one this recorder kept are known unchanged and left
        out."""
        unsaved, self.unsaved = self.unsaved, []
        wanted = [(thread_id, obj) for thread_id, obj in [*((None, s) for s in unsaved), *snapshots]
                  if self.kept.get(thread_id) != obj]
        if not wanted:
            return
        await self.writer.snapshots(self.session_id, wanted)
        for thread_id, obj in wanted:
            self.kept[thread_id] = obj

    async def _threads(self) -> list[str]:
        """List the session's threads, keep their snapshots (with the session's still unsaved); returns their
        ids."""
        try:
            threads = await self.api.list_threads(self.session_id)
        except BaseException:
            if self.unsaved:
                await asyncio.shield(self._save_snapshots([]))
            raise
        ids: list[str] = []
        snapshots: list[tuple[str | None, dict[str, Any]]] = []
        for thread in threads:
            thread_id = thread.get("id")
            if isinstance(thread_id, str) and thread_id:
                ids.append(thread_id)
                snapshots.append((thread_id, scrub(thread)))
        await self._save_snapshots(snapshots)
        if len(ids) != self.outcome.threads:
            self.observer.threads_found(len(ids) - self.outcome.threads)
            self.outcome.threads = len(ids)
        return ids

    async def _files(self) -> None:
        """Archive the session's output files. They are indexed a few seconds after the session goes idle: when
        it went idle more recently than that, list once now and once more after the lag has passed."""
        if not self.options.files:
            return
        await self._archive_files()
        idle_at = self.watch.idle_at
        if idle_at is not None and not self.terminated.is_set():
            lag = self.options.file_index_lag
            left = lag - (_utcnow() - idle_at).total_seconds()
            if 0 < left <= lag:
                await self.api.deadline.sleep(left)
                await self._archive_files()

    async def _archive_files(self) -> None:
        """Download the files not archived yet, FILES_AT_ONCE at a time, and keep each group in one transaction
        (a group downloaded is a group stored: a failed download loses nothing stored before it)."""
        files = await self.api.list_files(self.session_id)
        if not files:
            return
        if self.archived is None:
            self.archived = await self.writer.archived_file_ids(self.session_id)
        have = self.archived
        wanted = [metadata for metadata in files
                  if isinstance(metadata.get("id"), str) and metadata["id"] not in have
                  and metadata.get("downloadable") is not False]
        for start in range(0, len(wanted), FILES_AT_ONCE):
            group = wanted[start:start + FILES_AT_ONCE]
            contents = await _all_or_nothing_results([self.api.download_file(m["id"]) for m in group])
            await self.writer.archive_files(self.session_id,
                                            [(scrub(m), c) for m, c in zip(group, contents, strict=True)])
            have.update(m["id"] for m in group)
            self.outcome.files_added += len(group)

    # ----------------------------------------------------------------------------------------- run

    async def run(self) -> SessionOutcome:
        try:
            try:
                await self._run()
            finally:
                self._tally()
        except (ApiError, LeaseLost) as err:
            if isinstance(err, ApiError) and err.status == 404 and await self._deleted_upstream():
                await self._mark_deleted()
            else:
                self.outcome.error = str(err)
        except (StoreUnavailable, StoreFull, StoreReadOnly):
            raise  # the log itself is gone: the run cannot go on
        except StoreError as err:  # this session's data could not be stored: it fails, the others go on
            self.outcome.error = str(err)
        except Exception as err:  # a defect must cost this session, named in one line, not the whole run
            first = str(err).splitlines()[0][:200] if str(err) else ""
            self.outcome.error = f"unexpected {type(err).__name__}: {first} (please report this)"
        finally:
            if self.stopped and not self.outcome.error:
                first, *more = self.stopped.values()
                self.outcome.error = first + (f" (and {len(more)} more streams stopped)" if more else "")
                self.outcome.complete = False
        return self.outcome

    async def _deleted_upstream(self) -> bool:
        """A request answered 404: is the session gone (deleted upstream)?"""
        if self.watch.deleted:
            return True
        try:
            await self.api.retrieve_session(self.session_id)
        except ApiError as err:
            return err.status == 404
        return False

    async def _mark_deleted(self) -> None:
        """Deleted upstream is not an error: the log keeps what it recorded; the deletion goes to the audit trail."""
        self.outcome.state = "deleted"
        self.outcome.error = None
        recorded = await asyncio.to_thread(self.writer.store.has_session, self.session_id)
        files = len(await self.writer.archived_file_ids(self.session_id)) if recorded else 0
        await self.writer.mark_deleted(
            self.session_id, actor=_user(), reason="the session was deleted upstream (the API answers 404)",
            details={"recorded": recorded, "events_added_by_this_run": self.outcome.events_added,
                     "files_archived": files, "run_id": self.writer.run_id},
        )
        self.observer.notice(f"{self.session_id}: deleted upstream; what was recorded is kept")

    async def _run(self) -> None:
        self.lease = await self._take_lease()
        if self.lease is None:
            return
        keeper = asyncio.ensure_future(self._keep_lease())
        try:
            progress = await self.writer.progress(self.session_id)
            self.checkpoints, self.archived = progress.checkpoints, set(progress.file_ids)
            session_stream = self._sink(None)
            await session_stream.load()
            if session_stream.complete and not self.options.refresh:
                self.outcome.skipped = "already complete in the log"
                self.outcome.complete = True
                return
            session = await self._snapshot(first=True)
            self.baseline = session
            self.watch.start(session)
            live = not is_closed(session)
            mode = self.options.mode
            if mode == "auto":
                mode = "stream" if live and self.options.follow else "poll"
            self.outcome.mode = mode
            self.observer.session_started(self.session_id, mode)
            work = asyncio.ensure_future(self._record(mode))
            try:
                done, _ = await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
                if keeper in done:  # the lease was lost: stop writing at once
                    keeper.result()
                await work
            finally:
                await _cancel(work)
            await _cancel(keeper)  # (so that no renewal follows the release)
            await self._mark_state()  # and the lease is given up in the same transaction
        finally:
            await _cancel(keeper)
            if self.lease is not None:
                with contextlib.suppress(RecorderError):
                    await self.writer.release(self.lease)

    async def _record(self, mode: str) -> None:
        ended_before = self.terminated.is_set()
        follow_live = self.options.follow and not ended_before
        streamed = mode == "stream" and follow_live
        if follow_live:
            settle = asyncio.ensure_future(self._watch_settle())
            try:
                if streamed:
                    await self._stream_all()  # each stream ends with a last catch-up after the stop
                else:
                    await self._poll_until_stopped()
            finally:
                await _cancel(settle)
            if settle.done() and not settle.cancelled() and settle.exception() is not None:
                settle.result()
        else:
            await self._poll_once()
            if self.watch.resting and (self.baseline or {}).get("status") != "idle" and not self.stop.is_set():
                # It went idle during the pass, which read the streams side by side: a thread may have been read
                # before its last events. Take the idle snapshot, then read every stream again from there.
                self.baseline = await self._snapshot()
                await self._poll_once()
        if not streamed and self.stop.is_set() and not ended_before:
            # The end (or the settling) was seen during or after a pass that caught the streams up side by side: a
            # thread may have been read before its last events. One more pass, begun after it, reads all whole.
            await self._poll_once()
        if self.terminated.is_set() and not ended_before:
            await self._snapshot()  # the status changed while we recorded
        await self._files()
        if self.terminated.is_set() and not self.stopped:
            await self._mark_complete()

    async def _watch_settle(self) -> None:
        """Following: stop once the session rests (idle, not waiting for the client) and has been quiet for the
        settle time. A snapshot confirms it first; it precedes the streams' last catch-up, so what the log then
        knows is the session as of that snapshot (the baseline a later ``record --all`` compares with)."""
        settle = self.options.settle
        tick = min(0.25, max(0.02, settle / 10))
        while not self.stop.is_set():
            await asyncio.sleep(tick)
            if not self._may_rest() or time.monotonic() - self.quiet_since < settle:
                continue
            quiet_since = self.quiet_since
            session = await self._snapshot()
            if self.stop.is_set():
                return
            if session.get("status") == "idle" and self.quiet_since == quiet_since and self._may_rest():
                self.baseline = session
                self.outcome.state = "settled" if self.watch.resting else "active"
                self.stop.set()
                return
            self.quiet_since = time.monotonic()  # it moved on: wait for its events

    def _may_rest(self) -> bool:
        """Whether following may stop once the session is quiet: it rests (idle, waiting for a new message); in
        the service also when it waits for the client (``requires_action``: still *active*, but nothing comes
        until the client acts, which a webhook or the sweep will show) — so no such session holds a slot."""
        return self.watch.resting or (self.recorder.serving and self.watch.status == "idle")

    async def _mark_state(self) -> None:
        """Enter the session's lifecycle state, with what the API said as of the last complete catch-up; the
        session's lease is given up in the same transaction."""
        session = self.last_session if self.terminated.is_set() else self.baseline
        if session is None:
            return
        state = CLOSED if self.terminated.is_set() else state_of(session, self.watch)
        upstream = Upstream.of(session)
        lease = self.lease
        await self.writer.set_state(
            self.session_id, state, upstream_status=upstream.status, upstream_updated_at=upstream.updated_at,
            archived_at=upstream.archived_at, release=lease,
        )
        if lease is not None and self.lease is lease:
            self.lease = None  # released
        self.outcome.state = state

    async def _poll_once(self) -> None:
        """Catch every stream of the session up, the streams concurrently (each one in order): one stream's
        pages are fetched while another's are committed."""
        limiter = asyncio.Semaphore(STREAMS_AT_ONCE)

        async def one(thread_id: str | None) -> None:
            if thread_id in self.stopped:
                return
            async with limiter:
                await self._contained(thread_id, catch_up(self.api, self._sink(thread_id), self.options.page_size))

        tasks = [asyncio.ensure_future(one(None))]
        try:
            for thread_id in await self._threads():
                tasks.append(asyncio.ensure_future(one(thread_id)))
        finally:
            await _all_or_nothing(tasks)

    async def _poll_until_stopped(self) -> None:
        while True:
            await self._poll_once()
            if self.snapshot_due.is_set():
                self.snapshot_due.clear()
                await self._snapshot()
            if self.stop.is_set() or None in self.stopped:  # (a stopped session stream shows no end)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.poll_interval):
                    await self.stop.wait()

    async def _stream_all(self) -> None:
        def on_drop(text: str) -> None:
            self.observer.notice(text)

        def start_thread(thread_id: str) -> None:
            if thread_id not in self.thread_tasks:
                self.thread_tasks[thread_id] = asyncio.ensure_future(self._contained(thread_id, follow(
                    self.api, self._sink(thread_id), self.stop, page_size=self.options.page_size,
                    on_drop=on_drop)))

        session_task = asyncio.ensure_future(self._contained(None, follow(
            self.api, self._sink(None), self.stop, page_size=self.options.page_size, on_drop=on_drop)))
        watcher = asyncio.ensure_future(self._watch_status())
        self.thread_tasks["\0watcher"] = watcher  # waited on and cancelled with the thread tasks
        try:
            for thread_id in await self._threads():
                start_thread(thread_id)
            while not session_task.done():
                waiters = {
                    asyncio.ensure_future(self.threads_due.wait()),
                    asyncio.ensure_future(self.snapshot_due.wait()),
                }
                _done, _ = await asyncio.wait({session_task, *waiters, *self.thread_tasks.values()},
                                             return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
                for task in list(self.thread_tasks.values()):
                    if task.done():
                        task.result()  # a thread's failure is the session's failure
                if self.threads_due.is_set():
                    self.threads_due.clear()
                    for thread_id in await self._threads():
                        start_thread(thread_id)
                if self.snapshot_due.is_set():
                    self.snapshot_due.clear()
                    await self._snapshot()
            session_task.result()
            if None in self.stopped:
                self.stop.set()  # the session stream cannot go on: end the others (each with a last catch-up)
            for thread_id in await self._threads():  # threads created at the very end
                start_thread(thread_id)
            await asyncio.gather(*self.thread_tasks.values())
        finally:
            for task in [session_task, *self.thread_tasks.values()]:
                if not task.done():
                    task.cancel()
            await asyncio.gather(session_task, *self.thread_tasks.values(), return_exceptions=True)

    async def _watch_status(self) -> None:
        """Stream mode's backstop. A stream may stall (heartbeats only) while the session goes on or stops: every
        ``catchup_interval`` seconds, ask for the session's status (a closed session stops the streams, see
        :meth:`_snapshot`) and catch every quiet stream up from history. Ends when following stops, or when the session
        stream itself was stopped (nothing more can be followed)."""
        while not self.stop.is_set() and None not in self.stopped:
            try:
                async with asyncio.timeout(self.api.deadline.bound(self.options.catchup_interval)):
                    await self.stop.wait()
                return
            except TimeoutError:
                self.api.deadline.check()
            await self._snapshot()
            if self.stop.is_set():
                return
            now = time.monotonic()
            for thread_id, sink in list(self.sinks.items()):
                # A stream that delivered within the interval is not stalled: it is caught up only every
                # ACTIVE_CATCHUP_EVERY intervals (for events the API lists but never streams), besides whenever it
                # reconnects and when following stops. Re-reading the overlap of every live stream each interval
                # was more work than the live events themselves.
                interval = self.options.catchup_interval
                quiet = sink.delivered_at <= now - interval
                due = self.caught_up_at.setdefault(thread_id, now) <= now - ACTIVE_CATCHUP_EVERY * interval
                if thread_id not in self.stopped and (quiet or due):
                    self.caught_up_at[thread_id] = now
                    await self._contained(thread_id, catch_up(self.api, sink, self.options.page_size))

    async def _mark_complete(self) -> None:
        """The session is closed (terminated or archived) and every stream was read to its end: later runs need
        fetch nothing more."""
        for thread_id, sink in self.sinks.items():
            if thread_id is not None:
                await sink.mark_complete()
        await self._sink(None).mark_complete()
        self.outcome.complete = True


class Recorder:
    """A recording run over a store and an API client."""

    def __init__(
        self,
        store: EventStore,
        client: anthropic.AsyncAnthropic,
        options: RecordOptions | None = None,
        *,
        observer: Observer | None = None,
        command: str | None = None,
        stream_client: anthropic.AsyncAnthropic | None = None,
        more_clients: Sequence[anthropic.AsyncAnthropic] = (),
    ) -> None:
        self.store = store
        self.options = options or RecordOptions()
        if self.options.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.observer = observer or Observer()
        self.deadline = Deadline(self.options.deadline, started=self.options.started)
        self.client = client
        self.budget = RequestBudget(self.options.max_rpm) if self.options.max_rpm else None
        if self.budget is not None:
            self.observer.budget(self.budget)
        self.api = Api(
            client,
            self.deadline,
            request_timeout=self.options.request_timeout,
            policy=self.options.retry,
            on_retry=self._retrying,
            budget=self.budget,
            stream_client=stream_client,
            more_clients=more_clients,
        )
        self.leases = Leases(store, ttl=self.options.lease_seconds)
        self.command = command or " ".join(["recorder", *sys.argv[1:]])
        self.serving = False  # running as the service (--all --follow)
        self.writer: LogWriter
        self.report: RunReport
        self._warned_connect = False
        self.stop_reason: str | None = None
        self.pruned_skipped: set[str] = set()  # why the run was cancelled from outside ("SIGTERM"), if it was
        self.listed: dict[str, dict[str, Any]] = {}  # discovery's list entries, each the first snapshot of its session
        self.wrapped = Wrapped()  # events wrapped by one stream, for another that lists them too (a primary thread)

    def _retrying(self, what: str, why: str, wait: float) -> None:
        """A retry is a notice; the first connection failure of a run is a warning, shown even when notices are
        not: a wrong ANTHROPIC_BASE_URL must not mean a minute of silence."""
        text = f"{what}: {why}; retrying in {wait:.1f} s"
        if why.startswith("cannot connect") and not self._warned_connect:
            self._warned_connect = True
            self.observer.warning(text + " (is ANTHROPIC_BASE_URL right?)")
        else:
            self.observer.notice(text)

    async def run(self, session_ids: Sequence[str] = (), *, discover: bool = False) -> RunReport:
        """Record the given sessions (and, with ``discover``, every session the API lists)."""
        from recorder import __version__

        run_id = await asyncio.to_thread(
            self.store.start_run,
            mode=self.options.mode + (" follow" if self.options.follow else ""),
            command=self.command,
            user=_user(),
            host=socket.gethostname(),
            pid=os.getpid(),
            version=__version__,
        )
        self.writer = LogWriter(self.store, run_id, self.leases)
        self.report = RunReport(run_id)
        self.observer.run_started(run_id)
        outcome, error = "ok", None
        try:
            await self._run(list(dict.fromkeys(session_ids)), discover)
        except DeadlineReached as err:
            outcome, error = "deadline", str(err)
            raise
        except asyncio.CancelledError:
            outcome = "interrupted"
            error = f"terminated by {self.stop_reason}" if self.stop_reason else "interrupted"
            raise
        except RecorderError as err:
            outcome, error = "error", str(err)
            raise
        except BaseException as err:  # a defect, or KeyboardInterrupt outside the loop: the audit tells the truth
            first = str(err).splitlines()[0][:500] if str(err) else ""
            outcome, error = "error", f"unexpected {type(err).__name__}: {first}"
            raise
        finally:
            if outcome == "ok" and self.report.failed:
                outcome, error = "error", "; ".join(s.error or "" for s in self.report.failed)[:2000]
            self.report.outcome = outcome
            await asyncio.shield(asyncio.to_thread(self.writer.close))  # every batch handed over is committed
            await asyncio.shield(
                asyncio.to_thread(
                    self.store.finish_run,
                    run_id,
                    outcome=outcome,
                    sessions_count=len(self.report.sessions),
                    events_added=self.writer.events_added,
                    error=error,
                )
            )
        return self.report

    async def record_one(self, session_id: str) -> SessionOutcome:
        """Record one session (following it, with ``follow``, until it is settled, closed or deleted)."""
        outcome = await SessionRecorder(self, session_id, self.listed.pop(session_id, None)).run()
        self.report.sessions.append(outcome)
        self.observer.session_finished(outcome)
        return outcome

    async def _run(self, session_ids: list[str], discover: bool) -> None:
        if discover and self.options.follow:
            self.serving = True
            await self._serve()
            return
        started: set[str] = set()
        limiter = asyncio.Semaphore(self.options.concurrency)
        tasks: list[asyncio.Task[None]] = []

        async def one(session_id: str) -> None:
            async with limiter:
                await self.record_one(session_id)

        def start(session_id: str) -> None:
            if session_id not in started:
                started.add(session_id)
                tasks.append(asyncio.ensure_future(one(session_id)))

        try:
            async with asyncio.timeout(self.deadline.remaining()):
                for session_id in session_ids:
                    start(session_id)
                if discover:
                    tasks.append(asyncio.ensure_future(self._discover(start)))
                await _wait_all(tasks)
        except TimeoutError:
            raise self.deadline.reached() from None
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _list_filters(self) -> dict[str, Any]:
        return {"statuses": list(self.options.statuses) or None, "created_after": self.options.created_after}

    async def _discover(self, start: Callable[[str], None]) -> None:
        """Every session ``sessions.list`` shows (archived included) that changed since it was last recorded; and,
        without filters, every session the log knows as live that the list no longer shows (deleted upstream?)."""
        known = await self.writer.states()
        listed: set[str] = set()
        candidates: list[str] = []
        async for session in self.api.list_sessions(include_archived=True, **self._list_filters()):
            session_id = session.get("id")
            if not isinstance(session_id, str) or not session_id:
                continue
            listed.add(session_id)
            if unchanged(session, known.get(session_id)) and not self.options.refresh:
                self.report.unchanged += 1
            else:
                candidates.append(session_id)
                self.listed[session_id] = session  # the same object sessions.retrieve gives: no second request
                if len(candidates) >= 100:  # start recording while the list is still being read
                    for admitted in await self.admit(candidates):
                        start(admitted)
                    candidates = []
        if not self.options.statuses and self.options.created_after is None:
            in_log = await asyncio.to_thread(self.store.session_ids)
            for session_id in dict.fromkeys([*known, *in_log]):
                state = known.get(session_id)
                if session_id not in listed and (state is None or state.state not in ("deleted", CLOSED)):
                    candidates.append(session_id)
        for session_id in await self.admit(candidates):
            start(session_id)

    async def admit(self, session_ids: list[str]) -> list[str]:
        """Of sessions found by listing (or named by a webhook), those to record: a session pruned from the log
        (tombstoned by its prune audit entry) only with ``include_pruned``; the skipped ones are said once."""
        if self.options.include_pruned or not session_ids:
            return session_ids
        pruned = await asyncio.to_thread(pruned_sessions, self.store, session_ids)
        skipped = [sid for sid in session_ids if sid in pruned and sid not in self.pruned_skipped]
        if skipped:
            self.pruned_skipped.update(skipped)
            self.observer.warning(
                f"skipped {len(skipped)} session{'s' if len(skipped) != 1 else ''} pruned from the log "
                f"(e.g. {skipped[0]}); name them or pass --include-pruned to record them again")
        return [sid for sid in session_ids if sid not in pruned]

    async def _serve(self) -> None:
        """``--all --follow``: the service (see :mod:`recorder.service`), until the deadline or a signal."""
        listener = None
        if self.options.listen is not None:
            key = self.options.webhook_key or os.environ.get("ANTHROPIC_WEBHOOK_SIGNING_KEY")
            if not key:
                raise ConfigError("--listen needs the webhook signing key: set ANTHROPIC_WEBHOOK_SIGNING_KEY")
            webhooks = self.client.beta.webhooks
            lifecycle = self.writer.lifecycle

            def verify(body: str, headers: Any) -> Any:
                return webhooks.unwrap(body, headers=headers, key=key)

            def accept(webhook_id: str, kind: str | None, session_id: str | None, body: str) -> bool:
                return lifecycle.accept_delivery(webhook_id, event_type=kind, session_id=session_id, payload=body)

            host, port = self.options.listen
            listener = WebhookListener(host, port, verify=verify, accept=accept, notify=lambda *_: None,
                                       on_error=self.observer.notice)
        service = Service(
            self.api, self.writer, self.record_one, concurrency=self.options.concurrency,
            sweep_interval=self.options.sweep_interval, list_filters=self._list_filters(), listener=listener,
            notice=self.observer.notice, admit=self.admit, shard=self.options.shard,
        )
        if listener is not None:
            listener.notify = service.wake_threadsafe
        self.service = service
        try:
            async with asyncio.timeout(self.deadline.remaining()):
                await service.run()
        except TimeoutError:
            raise self.deadline.reached() from None


async def _cancel(task: asyncio.Future[Any]) -> None:
    """Cancel a task (if still running) and wait until it has stopped (see :func:`_cancel_all`)."""
    await _cancel_all([task])


async def _cancel_all(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the tasks still running and wait until every one has stopped (their cleanup done); their outcomes
    are dropped. A cancellation of the caller itself while it waits (SIGTERM, Ctrl-C) does not cut that wait
    short, and is not swallowed either: it is raised once they have all stopped. (Swallowing it left a
    ``record --all --follow`` that had been sent SIGTERM running, idle, for ever.)"""
    for task in tasks:
        if not task.done():
            task.cancel()
    pending = set(tasks)
    interrupted = False
    while pending:
        try:
            _done, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: dropped on purpose
    if interrupted:
        raise asyncio.CancelledError


async def _all_or_nothing(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Wait for every task; if one fails, cancel the others (and wait for them), then raise its error."""
    try:
        await asyncio.gather(*tasks)
    finally:
        await _cancel_all(tasks)


async def _all_or_nothing_results(works: list[Awaitable[T]]) -> list[T]:
    """Run ``works`` side by side; their results in order, or (one failed) the others cancelled and its error."""
    tasks = [asyncio.ensure_future(work) for work in works]
    await _all_or_nothing(tasks)
    return [task.result() for task in tasks]


async def _wait_all(tasks: list[asyncio.Task[None]]) -> None:
    """Wait until every task in ``tasks`` (a list that may grow meanwhile) is done; the first error propagates."""
    while True:
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                task.result()
        pending = [task for task in tasks if not task.done()]
        if not pending:
            return
        await asyncio.wait(pending, timeout=1.0, return_when=asyncio.FIRST_EXCEPTION)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


SESSIONS_PER_CLIENT = 4  # sessions of a run's concurrency that share one client (one connection pool)
MAX_CLIENTS = 32


def clients_for(concurrency: int) -> int:
    """How many clients (connection pools) a run's short requests are dealt over: one per SESSIONS_PER_CLIENT
    sessions recorded at once, at most MAX_CLIENTS. An httpcore pool probes every idle connection it holds on each
    request and each response closed: at concurrency 32 one pool held some 60 connections and the backfill bench
    made 105,000-160,000 such probes (a fifth of the recorder's CPU); four pools made about 32,000, eight (four
    sessions each) about 16,000 (see recorder.ingest.api)."""
    return max(1, min(MAX_CLIENTS, -(-concurrency // SESSIONS_PER_CLIENT)))


@functools.cache
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> Any:
    """One TLS context per process (and certificate settings), shared by every client: building one loads the CA
    bundle, some 25-50 ms each."""
    import httpx2

    return httpx2.create_ssl_context(trust_env=True)


def make_client(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    http_client: Any = None,
    read_timeout: float = 90.0,
    event_hooks: dict[str, list[Callable[..., Any]]] | None = None,
) -> anthropic.AsyncAnthropic:
    """The SDK client the recorder uses: retries off (the recorder's policy decides), a per-chunk read timeout
    that outlasts stream heartbeats. Key and base URL come from the arguments or the SDK's environment.
    ``event_hooks`` go to the HTTP client the recorder builds (benchmarks count requests with them)."""
    import httpx2

    key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        from recorder.errors import AuthError

        raise AuthError("ANTHROPIC_API_KEY is not set; export it (or run `recorder demo` to try the emulator)")
    timeout = httpx2.Timeout(read_timeout, connect=10.0)
    if http_client is None:  # the SDK's default client caps the pool at 1,000 connections: one per open stream
        from recorder.ingest import sockets

        http_client = anthropic.DefaultAsyncHttpxClient(
            timeout=timeout, limits=httpx2.Limits(max_connections=None, max_keepalive_connections=100),
            verify=_ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
            event_hooks=event_hooks or {},
        )
        sockets.install(http_client)  # plain asyncio under the pool (see recorder.ingest.sockets)
    return anthropic.AsyncAnthropic(
        api_key=key,
        base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
        max_retries=0,
        timeout=timeout,
        http_client=http_client,
    )


def run_recording(
    store: EventStore,
    session_ids: Sequence[str],
    options: RecordOptions,
    *,
    discover: bool = False,
    observer: Observer | None = None,
    client_factory: Callable[[], anthropic.AsyncAnthropic] = make_client,
) -> RunReport:
    """Synchronous entry point (the CLI's): run a recording to its end, its deadline, Ctrl-C or SIGTERM.

    SIGTERM is handled like Ctrl-C: the run is cancelled, every batch handed to the store commits, leases are
    released, the audit row says ``interrupted`` ("terminated by SIGTERM"), and :class:`Terminated` is raised."""

    async def main() -> RunReport:
        client = client_factory()
        # The CLI's own clients: streams get a connection pool of their own (see Api). An injected factory is
        # called once for that client, as before.
        stream_client = client_factory() if client_factory is make_client else None
        # Short requests are dealt over several pools at a high concurrency (see clients_for).
        more_clients = [client_factory() for _ in range(clients_for(options.concurrency) - 1)]
        recorder: Recorder | None = None
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        signalled: list[str] = []

        def on_sigterm() -> None:
            if not signalled and task is not None:
                signalled.append("SIGTERM")
                if recorder is not None:
                    recorder.stop_reason = "SIGTERM"
                task.cancel()

        previous = signal.getsignal(signal.SIGTERM)
        handled = _handle_signal(loop, signal.SIGTERM, on_sigterm)
        try:
            recorder = Recorder(store, client, options, observer=observer, stream_client=stream_client,
                                more_clients=more_clients)
            return await recorder.run(session_ids, discover=discover)
        except asyncio.CancelledError:
            if signalled:
                raise Terminated("terminated by SIGTERM") from None
            raise
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGTERM)  # (which sets SIG_DFL: put the caller's back)
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
            for opened in [client, *more_clients, *([stream_client] if stream_client is not None else [])]:
                await opened.close()

    return asyncio.run(main())


def _handle_signal(loop: asyncio.AbstractEventLoop, signum: int, handler: Callable[[], None]) -> bool:
    """Install a signal handler on the loop if this thread may (the main thread, a platform with signals)."""
    try:
        loop.add_signal_handler(signum, handler)
    except (ValueError, RuntimeError, NotImplementedError):
        return False
    return True
