"""Helpers for the emulator tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import anthropic

from recorder.emulator import ApiServer

SEED = 7
LONG_EVENTS = 3_000


def sdk(server: ApiServer, **options: Any) -> anthropic.Anthropic:
    """An SDK client for ``server`` (no retries unless asked)."""
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 30.0)
    return anthropic.Anthropic(api_key="test-key", base_url=server.base_url, **options)


def page_raw(list_call: Callable[..., Any], *args: Any, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Page through a list endpoint with the SDK's ``with_raw_response``: the events exactly as sent, and how many
    pages it took. ``list_call`` is e.g. ``client.beta.sessions.events.with_raw_response.list``."""
    items: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        raw = list_call(*args, **params, **({"page": cursor} if cursor else {}))
        body = raw.http_response.json()
        items.extend(body["data"])
        pages += 1
        cursor = raw.parse().next_page
        assert cursor == body["next_page"]
        if not cursor:
            return items, pages


def thread_events_raw(client: anthropic.Anthropic, session_id: str, thread_id: str | None, **params: Any
                      ) -> list[dict[str, Any]]:
    """A stream's whole history via the SDK (session stream when ``thread_id`` is None)."""
    if thread_id is None:
        return page_raw(client.beta.sessions.events.with_raw_response.list, session_id, **params)[0]
    return page_raw(client.beta.sessions.threads.events.with_raw_response.list, thread_id, session_id=session_id,
                    **params)[0]


class Reader:
    """Iterates an SDK stream in a background thread, keeping events (as sent) and the error that ended it."""

    def __init__(self, open_stream: Callable[[], Any]) -> None:
        self.stream = open_stream()  # returns once the response headers arrived: the subscription exists
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                self.events.append(event.to_dict(mode="json", exclude_unset=True))
        except BaseException as err:
            if not self.closed:
                self.error = err

    def join(self, timeout: float = 10.0) -> Reader:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "stream did not end"
        return self

    def until_idle(self, timeout: float = 10.0, quiet: float = 0.1) -> Reader:
        """Wait until the stream has delivered its session's (or thread's) end of work: an idle that is not
        ``requires_action``, or an ending (terminated, deleted); then hang up (streams of idle sessions stay
        open, since the session may run again). Fails if that does not happen within ``timeout``."""
        deadline = time.monotonic() + timeout
        while not (self.events and settled(self.events[-1])):
            assert self.thread.is_alive() or self.events, "the stream ended without an event"
            if not self.thread.is_alive():
                break
            assert time.monotonic() < deadline, "the stream's session did not go idle"
            time.sleep(0.01)
        time.sleep(quiet)  # what follows at once (a duplicate) arrives too
        self.closed = True
        self.stream.close()
        self.thread.join(5)
        assert not self.thread.is_alive(), "the stream did not close"
        return self


def settled(event: dict[str, Any]) -> bool:
    """Whether ``event`` ends a stretch of work: an idle other than ``requires_action``, or an ending."""
    kind = event.get("type")
    if kind in ("session.status_terminated", "session.thread_status_terminated", "session.deleted"):
        return True
    reason = (event.get("stop_reason") or {}).get("type")
    return kind in ("session.status_idle", "session.thread_status_idle") and reason != "requires_action"


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
