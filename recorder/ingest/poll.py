"""Polling: read a stream's history from its checkpoint to the end, page by page, into the log.

Resuming after a restart does not re-read the history: the session stream asks for ``created_at[gte]`` its
resume time (a robust time, well before the last event: see :mod:`recorder.ingest.sink`; the overlap is
deduplicated by the store); a thread stream resumes from the list cursor of the last page it read. Each page is
appended in one transaction with the checkpoint that covers it, and the next page is already being fetched
while one is written.
"""

from __future__ import annotations

import asyncio
import contextlib

from recorder.errors import ApiError
from recorder.ingest.api import Api, Page
from recorder.ingest.loops import Progress
from recorder.ingest.sink import StreamSink

DEFAULT_PAGE_SIZE = 1000
async def catch_up(api: Api, sink: StreamSink, page_size: int = DEFAULT_PAGE_SIZE) -> int:
    """Append everything the API lists for ``sink``'s stream after its checkpoint; returns the events added."""
    await sink.load()
    added_before = sink.added
    after = sink.resume_at if sink.thread_id is None else None
    cursor = sink.cursor if sink.thread_id is not None else None

    def fetch(page: str | None) -> asyncio.Task[Page]:
        return asyncio.ensure_future(
            api.list_events(sink.session_id, sink.thread_id, limit=page_size, page=page, created_at_gte=after)
        )

    pending: asyncio.Task[Page] | None = fetch(cursor)
    progress = Progress(sink.label)
    try:
        while pending is not None:
            try:
                page = await pending
            except ApiError as err:
                if cursor is None or cursor != sink.cursor or err.status not in (400, 404, 410):
                    raise
                # A stored thread cursor the API no longer accepts: read the thread from its start instead.
                cursor = None
                pending = fetch(None)
                continue
            progress.page(page.data, page.next_page)
            pending = fetch(page.next_page) if page.next_page else None
            await sink.write(page.data, page.texts, cursor=cursor if sink.thread_id is not None else None)
            if pending is None:
                break
            cursor = page.next_page
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
    return sink.added - added_before
