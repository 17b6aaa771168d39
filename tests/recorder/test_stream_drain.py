"""The live stream's drain loop (recorder.ingest.stream._drain): batches, the stream's end, its failure, and a stop
that arrives while it waits or while events are queued."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from recorder.ingest.sink import StreamSink
from recorder.ingest.stream import _END, _drain


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def write(self, objs: list[dict[str, Any]], texts: list[str]) -> int:
        self.batches.append([obj["id"] for obj in objs])
        await asyncio.sleep(0)
        return len(objs)


def item(n: int) -> tuple[dict[str, Any], str]:
    return {"id": f"e{n}"}, f'{{"id": "e{n}"}}'


def run(queued: list[Any], *, stop_after: float | None = None, stop_first: bool = False) -> tuple[str, list[list[str]]]:
    async def main() -> tuple[str, list[list[str]]]:
        sink, queue, stop = Sink(), asyncio.Queue[Any](), asyncio.Event()
        for thing in queued:
            queue.put_nowait(thing)
        if stop_first:
            stop.set()
        if stop_after is not None:
            asyncio.get_running_loop().call_later(stop_after, stop.set)
        reason = await asyncio.wait_for(_drain(cast(StreamSink, sink), queue, stop), 5)
        return reason, sink.batches
    return asyncio.run(main())


def test_queued_events_go_in_one_batch_then_the_end() -> None:
    assert run([item(1), item(2), item(3), _END]) == ("the stream ended", [["e1", "e2", "e3"]])


def test_a_failure_of_the_stream_ends_the_drain_after_what_came_before() -> None:
    reason, batches = run([item(1), ConnectionResetError("reset by peer")])
    assert batches == [["e1"]] and reason == "ConnectionResetError: reset by peer"


def test_a_stop_while_waiting_ends_the_drain() -> None:
    assert run([item(1)], stop_after=0.05) == ("stopped", [["e1"]])
    assert run([], stop_first=True) == ("stopped", [])
