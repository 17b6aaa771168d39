"""Streaming: the documented consolidation pattern, kept up across drops.

The SSE stream has no replay: it only carries events emitted after it opens, and a dropped connection may end
the iteration silently, even mid-event. So, for one stream:

1. open the stream, and start reading it into a queue at once;
2. catch up from the checkpoint through the history list (:func:`recorder.ingest.poll.catch_up`);
3. append what the stream delivers, in batches; what catching up already stored is deduplicated by the log;
4. when the stream ends or fails for any reason, wait (backoff) and start again at 1 — step 2 fills the gap.

It stops when ``stop`` is set (the session terminated), after one last catch-up so nothing emitted before the
end is missed. Appending history first and then the live tail keeps the log in the API's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from recorder.ingest.api import STREAM_DROPS, Api
from recorder.ingest.poll import DEFAULT_PAGE_SIZE, catch_up
from recorder.ingest.sink import StreamSink

BATCH_EVENTS = 500
_END = object()
_STOPPED = object()


async def follow(
    api: Api,
    sink: StreamSink,
    stop: asyncio.Event,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    on_drop: Callable[[str], None] | None = None,
    max_backoff: float = 10.0,
) -> None:
    """Record one stream live until ``stop`` is set; survives any number of drops."""
    failures = 0
    while not stop.is_set():
        reason = "the stream ended"
        try:
            async with api.open_stream(sink.session_id, sink.thread_id) as events:
                queue: asyncio.Queue[Any] = asyncio.Queue()
                reader = asyncio.ensure_future(_pump(events, queue))
                try:
                    await catch_up(api, sink, page_size)
                    failures = 0
                    reason = await _drain(sink, queue, stop)
                finally:
                    reader.cancel()
                    with contextlib.suppress(BaseException):
                        await reader
        except STREAM_DROPS as err:
            reason = _describe(err)
        if stop.is_set():
            break
        failures += 1
        if on_drop is not None:
            on_drop(f"{sink.label}: {reason}; reconnecting")
        await api.deadline.sleep(random.uniform(0, min(max_backoff, 0.2 * 2 ** min(failures, 10))))
    await catch_up(api, sink, page_size)


async def _pump(events: AsyncIterator[tuple[dict[str, Any], str]], queue: asyncio.Queue[Any]) -> None:
    """Move stream events into the queue; then an end marker, or the exception that ended the stream."""
    try:
        async for event in events:
            queue.put_nowait(event)
    except asyncio.CancelledError:
        raise
    except Exception as err:  # any failure of the stream is a drop: the caller reconnects and catches up
        queue.put_nowait(err)
        return
    queue.put_nowait(_END)


def _describe(err: BaseException) -> str:
    text = str(err).splitlines()[0][:120] if str(err) else "dropped"
    return f"{type(err).__name__}: {text}"


async def _drain(sink: StreamSink, queue: asyncio.Queue[Any], stop: asyncio.Event) -> str:
    """Append stream events until the stream ends or ``stop`` is set. Batches adapt to the rate: each append
    takes whatever arrived while the previous one was being written (at most BATCH_EVENTS).

    ``stop`` reaches the loop as a marker in the queue (put there when it is set), so waiting for the next event
    is one ``queue.get()``: no task and no ``asyncio.wait`` per event."""
    stopping = asyncio.ensure_future(stop.wait())
    stopping.add_done_callback(lambda done: None if done.cancelled() else queue.put_nowait(_STOPPED))
    try:
        while True:
            item = queue.get_nowait() if not queue.empty() else await queue.get()
            if item is _STOPPED:
                return "stopped"
            batch: list[tuple[dict[str, Any], str]] = []
            while isinstance(item, tuple):
                batch.append(item)
                if len(batch) >= BATCH_EVENTS or queue.empty():
                    item = None
                    break
                item = queue.get_nowait()
            if batch:
                await sink.write([obj for obj, _ in batch], [text for _, text in batch])
            if item is _STOPPED:
                return "stopped"
            if item is _END:
                return "the stream ended"
            if isinstance(item, BaseException):
                return _describe(item)
    finally:
        stopping.cancel()
