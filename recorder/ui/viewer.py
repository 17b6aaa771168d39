"""The session viewer's data: the HTML transcript's page data (:func:`recorder.render.html.page_data`), for the
whole session or for one window of it.

A session of up to ``WINDOW`` events is folded whole, exactly as ``recorder transcript --format html`` does. A
longer one is shown a window at a time: window *k* is the session's distinct events number ``k*WINDOW`` to
``(k+1)*WINDOW - 1`` in log order, found through the UI's read model (``ui_docs``) without reading anything
before it; the stored copies of those events (every stream) are merged and folded on their own. A tool result
whose call is in the window before shows on its own; the page links to the neighbouring windows. ``?event=ID``
picks the window holding that event. So a 100,000-event session costs one window's work per page, and the
browser never holds more than one window's rows (which the transcript's script renders lazily as it scrolls).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recorder.render.html import page_data
from recorder.replay.fold import fold
from recorder.replay.meta import SessionMeta, load_meta
from recorder.replay.timeline import merge_streams, read_timeline
from recorder.store import TOKEN_FIELDS, Browser, EventStore, StoredEvent
from recorder.ui.safe import clean_data

WINDOW = 1000
MAX_CHARS = 20_000


@dataclass
class ViewerPage:
    data: dict[str, Any]  # the transcript script's data (cleaned for display)
    window: int  # this window's number (0 for a session shown whole)
    windows: int  # how many windows the session has
    first: int  # index of the window's first event in the session (0-based)
    count: int  # events in the window
    total: int  # distinct events of the session
    meta: SessionMeta


def windows_of(total: int, size: int = WINDOW) -> int:
    return max(1, -(-total // size))


def viewer_page(store: EventStore, browser: Browser, session_id: str, total: int, *, window: int | None = None,
                event_id: str | None = None, size: int = WINDOW) -> ViewerPage:
    """The page data for ``session_id`` (``total`` distinct events): whole, or window ``window`` (default: the
    one holding ``event_id``, else the first)."""
    meta = load_meta(store, session_id)
    count = windows_of(total, size)
    if total <= size:
        state = fold(read_timeline(store, session_id, meta=meta), meta)
        data = page_data(state, max_chars=MAX_CHARS)
        return ViewerPage(clean_data(data), 0, 1, 0, state.events, total, meta)
    if window is None and event_id:
        window = browser.event_window(session_id, event_id, size)
    window = min(max(window or 0, 0), count - 1)
    rows = browser.copies(session_id, browser.window_keys(session_id, window, size))
    state = fold(_merged(rows, meta), meta, snapshot_cost=False)
    data = page_data(state, max_chars=MAX_CHARS)
    return ViewerPage(clean_data(data), window, count, window * size, state.events, total, meta)


def _merged(rows: list[StoredEvent], meta: SessionMeta) -> Any:
    by_stream: dict[str | None, list[StoredEvent]] = defaultdict(list)
    for row in rows:
        by_stream[row.thread_id].append(row)
    streams: list[tuple[str | None, list[StoredEvent]]] = []
    if None in by_stream:
        streams.append((None, by_stream.pop(None)))
    streams.extend(by_stream.items())
    return merge_streams(streams, primary_thread_id=meta.primary_thread_id)


def thread_tree(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Threads in tree order with their depth and their totals: own figures plus their sub-agents'."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {t["thread_id"] for t in threads}
    for thread in threads:
        parent = thread["parent_thread_id"] if thread["parent_thread_id"] in ids else None
        children.setdefault(parent, []).append(thread)
    out: list[dict[str, Any]] = []

    def visit(thread: dict[str, Any], depth: int) -> tuple[int, int, Decimal | None]:
        thread["depth"] = depth
        out.append(thread)
        tokens = sum(thread[name] for name in TOKEN_FIELDS)
        thread["tokens"] = tokens
        requests = thread["model_requests"]
        cost = Decimal(thread["list_cost"]) if thread["list_cost"] is not None else None
        for child in children.get(thread["thread_id"], []):
            child_tokens, child_requests, child_cost = visit(child, depth + 1)
            tokens += child_tokens
            requests += child_requests
            if child_cost is not None:
                cost = child_cost if cost is None else cost + child_cost
        thread["total_tokens"], thread["total_model_requests"] = tokens, requests
        thread["total_list_cost"] = str(cost) if cost is not None else None
        return tokens, requests, cost

    for root in children.get(None, []):
        visit(root, 0)
    return out
