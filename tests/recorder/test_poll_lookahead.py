"""The catch-up loop fetches page k+1 while page k is being appended (one page of look-ahead), and keeps the order
and the page-with-its-checkpoint atomicity: a failed look-ahead costs nothing already fetched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from recorder.errors import ApiError
from recorder.ingest.api import Page
from recorder.ingest.poll import catch_up


class Api:
    """Pages 0..n-1 of one stream; ``fail_at``: that page's request fails (after the others were asked for)."""

    def __init__(self, pages: int, fail_at: int | None = None) -> None:
        self.pages, self.fail_at = pages, fail_at
        self.log: list[str] = []

    async def list_events(self, session_id: str, thread_id: str | None, *, limit: int, page: str | None = None,
                          created_at_gte: Any = None) -> Page:
        index = int(page) if page else 0
        self.log.append(f"request {index}")
        await asyncio.sleep(0.02)
        if index == self.fail_at:
            self.log.append(f"failed {index}")
            raise ApiError(f"page {index}: server error", status=500)
        self.log.append(f"answer {index}")
        next_page = str(index + 1) if index + 1 < self.pages else None
        return Page([{"id": f"e{index}", "processed_at": "2026-11-01T00:00:00Z"}], next_page, None)


class Sink:
    session_id, thread_id, label = "sesn_1", "sthr_1", "sesn_1 thread sthr_1"
    cursor: str | None = None
    added = 0

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.written: list[tuple[str, str | None]] = []

    async def load(self) -> None: ...

    async def write(self, objs: list[dict[str, Any]], texts: Any = None, cursor: Any = None) -> int:
        self.log.append(f"write {objs[0]['id']}")
        await asyncio.sleep(0.05)  # the append's transaction
        self.written.append((objs[0]["id"], cursor))  # committed, with the checkpoint's cursor
        self.cursor = cursor
        self.added += 1
        self.log.append(f"committed {objs[0]['id']}")
        return 1


def test_the_next_page_is_fetched_while_one_is_appended() -> None:
    api = Api(4)
    sink = Sink(api.log)
    assert asyncio.run(catch_up(api, sink)) == 4  # type: ignore[arg-type]
    assert [w[0] for w in sink.written] == ["e0", "e1", "e2", "e3"]
    for k in range(3):  # page k+1 is asked for before page k commits
        assert api.log.index(f"request {k + 1}") < api.log.index(f"committed e{k}")
    assert api.log.count("request 1") == 1 and "request 4" not in api.log  # one page ahead, no more


def test_a_failed_look_ahead_loses_nothing_fetched_before_it() -> None:
    api = Api(4, fail_at=2)
    sink = Sink(api.log)
    with pytest.raises(ApiError):
        asyncio.run(catch_up(api, sink))  # type: ignore[arg-type]
    assert sink.written == [("e0", None), ("e1", "1")], "pages 0 and 1 committed, in order, with their cursors"
    assert api.log.index("failed 2") < api.log.index("committed e1"), "the failure came while page 1 was written"
