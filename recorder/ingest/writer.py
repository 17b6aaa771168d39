"""The event log seen from the event loop.

The store is synchronous (SQLAlchemy); the recorder is asyncio. Each store call runs in a worker thread. A write,
once started, always finishes: if the awaiting task is cancelled (the run's deadline, Ctrl-C, a lost lease), it
first waits for the commit or rollback and only then lets the cancellation go on. So when the recorder stops,
every batch it handed to the store is either committed whole or not at all — never abandoned half-way.

Appends go through the process's group committer (:mod:`recorder.ingest.group`): the small batches of many live
streams share one transaction, with the same guarantees per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from recorder.events import RawEvent
from recorder.ingest.group import GroupCommitter
from recorder.store import (
    AppendRequest,
    AppendResult,
    Checkpoint,
    EventStore,
    FileArchive,
    Holder,
    Lease,
    Leases,
    Lifecycle,
    SessionProgress,
    SessionState,
)

T = TypeVar("T")


async def finish_even_if_cancelled(
    function: Callable[..., T], *args: Any, abandoned: Callable[[T], Awaitable[object]] | None = None, **kwargs: Any
) -> T:
    """Run ``function`` in a thread; if cancelled meanwhile, wait for it to finish, then re-raise. ``abandoned``
    gets what it returned then, which the cancelled caller never sees (to give back what it took)."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            result = await task
            if abandoned is not None:
                await abandoned(result)
        raise


class LogWriter:
    """Async access to the store for one recording run."""

    def __init__(
        self, store: EventStore, run_id: int | None, leases: Leases, committer: GroupCommitter | None = None
    ) -> None:
        self.store = store
        self.committer = committer or GroupCommitter(store)
        self.run_id = run_id
        self.leases = leases
        self.files = FileArchive(store)
        self.lifecycle = Lifecycle(store)
        self.events_added = 0

    async def append(
        self,
        events: Sequence[RawEvent],
        checkpoint: Checkpoint | None,
        lease: Lease | None,
        committed: Callable[[AppendResult], object] | None = None,
    ) -> AppendResult:
        """Append one batch (fenced by ``lease``) through the next group commit; LeaseLost if the lease is gone.
        The run's count (and ``committed``, the caller's) takes a batch that committed even if the caller was
        cancelled while it did (SIGTERM): the audit counts every event the run wrote."""

        def count(result: AppendResult) -> None:
            self.events_added += result.added
            if committed is not None:
                committed(result)

        request = AppendRequest(list(events), [checkpoint] if checkpoint is not None else [], lease, self.run_id)
        return await self.committer.append(request, count)

    def close(self) -> None:
        """Commit what was handed over and stop the committer's thread (the run is over)."""
        self.committer.close()

    async def checkpoint(self, session_id: str, thread_id: str | None) -> Checkpoint | None:
        return await asyncio.to_thread(self.store.checkpoint, session_id, thread_id)

    async def progress(self, session_id: str) -> SessionProgress:
        """The session's checkpoints and archived file ids, in one read (see :meth:`EventStore.progress`)."""
        return await asyncio.to_thread(self.store.progress, session_id)

    async def recent_times(self, session_id: str, thread_id: str | None, count: int) -> list[datetime]:
        """The ``processed_at`` of the stream's last ``count`` events, oldest first (for its resume time)."""

        def read() -> list[datetime]:
            rows = self.store.read_stream(session_id, thread_id, descending=True, batch_size=count)
            times = [row.processed_at for row in itertools.islice(rows, count)]
            return [at for at in reversed(times) if at is not None]

        return await asyncio.to_thread(read)

    async def snapshots(self, session_id: str, snapshots: Sequence[tuple[str | None, dict[str, Any]]]) -> list[bool]:
        """Several snapshots of one session (``(thread_id, object)``; None: the session) in one transaction."""
        return await finish_even_if_cancelled(
            self.store.record_snapshots, session_id, list(snapshots), run_id=self.run_id
        )

    async def archived_file_ids(self, session_id: str) -> set[str]:
        return await asyncio.to_thread(self.files.archived_ids, session_id)

    async def archive_file(self, session_id: str, metadata: dict[str, Any], content: bytes) -> str:
        return await finish_even_if_cancelled(self.files.archive, session_id, metadata, content, self.run_id)

    async def archive_files(self, session_id: str, files: Sequence[tuple[dict[str, Any], bytes]]) -> list[str]:
        """Several files of one session (metadata, content) in one transaction."""
        return await finish_even_if_cancelled(self.files.archive_many, session_id, list(files), self.run_id)

    async def acquire(self, session_id: str) -> Lease | Holder:
        """Take the session's lease. Cancelled meanwhile (SIGTERM just after the run started), the take still
        finishes, and a lease it got is given up before the cancellation goes on: the caller never learns of it,
        so nobody else would release it (it would stay held until it expired)."""

        async def give_up(got: Lease | Holder) -> None:
            if isinstance(got, Lease):
                await finish_even_if_cancelled(self.leases.release, got)

        return await finish_even_if_cancelled(self.leases.acquire, session_id, abandoned=give_up)

    async def renew(self, lease: Lease) -> Lease:
        return await finish_even_if_cancelled(self.leases.renew, lease)

    async def release(self, lease: Lease) -> None:
        await finish_even_if_cancelled(self.leases.release, lease)

    async def states(self) -> dict[str, SessionState]:
        return await asyncio.to_thread(self.lifecycle.states)

    async def set_state(self, session_id: str, state: str, **upstream: Any) -> bool:
        return await finish_even_if_cancelled(self.lifecycle.set_state, session_id, state, **upstream)

    async def mark_deleted(self, session_id: str, *, actor: str, reason: str, details: dict[str, Any]) -> bool:
        return await finish_even_if_cancelled(
            self.lifecycle.mark_deleted, session_id, actor=actor, reason=reason, details=details
        )

    async def mark_handled(self, session_id: str | None, received_before: datetime) -> int:
        return await finish_even_if_cancelled(self.lifecycle.mark_handled, session_id, received_before)
