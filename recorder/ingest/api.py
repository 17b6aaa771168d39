"""The Managed Agents API as the recorder uses it: raw JSON through the real ``anthropic`` SDK.

Every call goes through the SDK (its auth, headers, base URL and transport) but asks for the raw response, so
events are kept exactly as delivered: no typed parsing (which would also mis-read event types the SDK does not know
yet). Each request runs inside a wall-clock scope (:mod:`recorder.ingest.deadline`) and is retried by
:mod:`recorder.ingest.retry`; the SDK's own retries are off (``max_retries=0``) so that one policy, bounded by the
run's deadline, decides.

Streams: :meth:`Api.open_stream` connects (with retries) and yields the SSE events as ``dict``s, skipping
heartbeats. Reading a stream is bounded only by the run deadline (and the client's per-chunk read timeout, which
heartbeats keep from firing); a dropped connection shows up as the iteration ending or as a transport error, and
the caller reconnects.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anthropic
import httpx2

from recorder import jsontext
from recorder.errors import ApiError
from recorder.events import format_time
from recorder.ingest import sse
from recorder.ingest.budget import RequestBudget
from recorder.ingest.deadline import Deadline
from recorder.ingest.loops import Progress
from recorder.ingest.pages import read_page
from recorder.ingest.retry import RetryPolicy, with_retries
from recorder.ingest.shapes import check_file, check_session, check_thread, sample

MANAGED_AGENTS_BETA = "managed-agents-2026-04-01"
STREAM_DROPS = (httpx2.HTTPError, anthropic.APIError, OSError, ValueError)


@dataclass(frozen=True, slots=True)
class Page:
    data: list[dict[str, Any]]
    next_page: str | None
    texts: list[str] | None = None  # each item's JSON text as sent (see recorder.ingest.pages)


class StreamError(ApiError):
    """The server sent an SSE ``error`` event."""


class Api:
    """Raw-JSON access to sessions, events, threads and files, with deadlines and retries."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        deadline: Deadline,
        *,
        request_timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[str, str, float], None] | None = None,
        budget: RequestBudget | None = None,
        stream_client: anthropic.AsyncAnthropic | None = None,
        more_clients: Sequence[anthropic.AsyncAnthropic] = (),
    ) -> None:
        self.client = client
        # Short requests are dealt round-robin over ``client`` and ``more_clients``, each with a connection pool
        # of its own. A pool looks at every idle connection it holds (a socket probe each) on every request and
        # every response closed, so one pool serving a high concurrency spends its CPU scanning; several smaller
        # pools keep that cost per request constant (see recorder.record.clients_for).
        self._requests = itertools.cycle([client, *more_clients]).__next__
        # Streams hold their connection for as long as they are open; on a pool of their own, the short requests
        # (list pages, retrieves) do not scan hundreds of busy stream connections to find an idle one.
        self.stream_client = stream_client or client
        self.deadline = deadline
        self.request_timeout = request_timeout
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.budget = budget

    @asynccontextmanager
    async def _request(self, what: str) -> AsyncIterator[None]:
        """One request (an attempt): a token from the budget first, then the request's wall-clock scope; a 429
        lowers the budget's rate for a while."""
        if self.budget is not None:
            await self.budget.take()
        try:
            async with self.deadline.scope(self.request_timeout, what):
                yield
        except anthropic.RateLimitError:
            if self.budget is not None:
                self.budget.throttled()
            raise

    @property
    def base_url(self) -> str:
        """Where the client sends its requests (named in errors: a wrong ANTHROPIC_BASE_URL is a common mistake)."""
        return str(self.client.base_url)

    async def _body(self, what: str, request: Callable[[], Awaitable[Any]]) -> bytes:
        """One request's whole body, within its wall-clock limit, retried."""

        async def call() -> bytes:
            async with self._request(what):
                response = await request()
                return await response.read()

        return await with_retries(call, what=what, deadline=self.deadline, policy=self.policy, on_retry=self.on_retry)

    async def _json(self, what: str, request: Callable[[], Awaitable[Any]]) -> Any:
        body = await self._body(what, request)
        try:
            return jsontext.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(f"{what}: the API at {self.base_url} answered with something that is not JSON; "
                           "is ANTHROPIC_BASE_URL right?") from None

    async def _pages(
        self, what: str, request: Callable[[dict[str, Any]], Awaitable[Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a cursor-paginated list; ``request(extra)`` asks for one page (``extra`` holds the
        cursor)."""
        page: str | None = None
        progress = Progress(what)
        while True:
            extra = {"page": page} if page else {}
            body = await self._json(what, functools.partial(request, extra))
            data, page = self._page_shape(what, body)
            progress.page(data, page)
            for item in data:
                yield item
            if not page:
                return

    # ------------------------------------------------------------------------------------ sessions

    async def retrieve_session(self, session_id: str) -> dict[str, Any]:
        raw = self._requests().beta.sessions.with_raw_response
        what = f"retrieve session {session_id}"
        return check_session(await self._json(what, lambda: raw.retrieve(session_id)), session_id, what,
                             self.base_url)

    async def list_sessions(
        self,
        *,
        statuses: list[str] | None = None,
        created_after: datetime | None = None,
        limit: int = 100,
        include_archived: bool = False,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every session the API lists (oldest first), following cursors; archived ones too if asked."""
        params: dict[str, Any] = {"limit": limit, "order": "asc"}
        if include_archived:
            params["include_archived"] = True
        if statuses:
            params["statuses"] = statuses
        if created_after is not None:
            params["created_at_gte"] = format_time(created_after)
        raw = self._requests().beta.sessions.with_raw_response
        async for session in self._pages("list sessions", lambda extra: raw.list(**params, **extra)):
            yield check_session(session, None, "list sessions", self.base_url)

    # -------------------------------------------------------------------------------------- events

    async def list_events(
        self,
        session_id: str,
        thread_id: str | None,
        *,
        limit: int,
        page: str | None = None,
        created_at_gte: datetime | None = None,
    ) -> Page:
        """One page of a stream's history, oldest first. ``created_at_gte`` applies to the session stream only
        (the API offers no time filter on a thread's events; threads resume from their cursor)."""
        params: dict[str, Any] = {"limit": limit}
        if page:
            params["page"] = page
        if thread_id is None:
            what = f"list events of {session_id}"
            raw = self._requests().beta.sessions.events.with_raw_response
            params["order"] = "asc"
            if created_at_gte is not None:
                params["created_at_gte"] = format_time(created_at_gte)
            body = await self._body(what, lambda: raw.list(session_id, **params))
        else:
            what = f"list events of {session_id} thread {thread_id}"
            thread_raw = self._requests().beta.sessions.threads.events.with_raw_response
            body = await self._body(what, lambda: thread_raw.list(thread_id, session_id=session_id, **params))
        try:
            listed, texts = read_page(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(f"{what}: the API at {self.base_url} answered with something that is not JSON; "
                           "is ANTHROPIC_BASE_URL right?") from None
        data, next_page = self._page_shape(what, listed)
        return Page(data, next_page, texts)

    def _page_shape(self, what: str, body: Any) -> tuple[list[Any], str | None]:
        """A list page's ``data`` and ``next_page``, or one line saying the answer is not a list page."""
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ApiError(f"{what}: the API at {self.base_url} answered without a `data` list "
                           f"({sample(body)}); is ANTHROPIC_BASE_URL right?")
        next_page = body.get("next_page") or None
        if next_page is not None and not isinstance(next_page, str):
            raise ApiError(f"{what}: the API at {self.base_url} answered with a `next_page` that is not text")
        return data, next_page

    @asynccontextmanager
    async def open_stream(
        self, session_id: str, thread_id: str | None
    ) -> AsyncIterator[AsyncIterator[tuple[dict[str, Any], str]]]:
        """Connect to a stream (retrying) and yield an iterator over its events — (object, JSON text as sent)
        pairs, heartbeats skipped."""
        what = f"open the stream of {session_id}" + (f" thread {thread_id}" if thread_id else "")
        if thread_id is None:
            opener = self.stream_client.beta.sessions.events.with_streaming_response.stream
            make = lambda: opener(session_id)  # noqa: E731
        else:
            thread_opener = self.stream_client.beta.sessions.threads.events.with_streaming_response.stream
            make = lambda: thread_opener(thread_id, session_id=session_id)  # noqa: E731

        async def connect() -> tuple[Any, Any]:
            async with self._request(what):
                manager = make()
                response = await manager.__aenter__()
                return manager, response

        manager, response = await with_retries(
            connect, what=what, deadline=self.deadline, policy=self.policy, on_retry=self.on_retry
        )
        try:
            yield _events(response.http_response)
        finally:
            await manager.__aexit__(None, None, None)

    # ------------------------------------------------------------------------------------- threads

    async def list_threads(self, session_id: str) -> list[dict[str, Any]]:
        raw = self._requests().beta.sessions.threads.with_raw_response
        pages = self._pages(f"list threads of {session_id}", lambda extra: raw.list(session_id, limit=100, **extra))
        what = f"list threads of {session_id}"
        return [check_thread(thread, what, self.base_url) async for thread in pages]

    # --------------------------------------------------------------------------------------- files

    async def list_files(self, session_id: str) -> list[dict[str, Any]]:
        raw = self._requests().beta.files.with_raw_response
        pages = self._pages(
            f"list files of {session_id}",
            lambda extra: raw.list(scope_id=session_id, limit=100, betas=[MANAGED_AGENTS_BETA], **extra),
        )
        return [check_file(file, f"list files of {session_id}", self.base_url) async for file in pages]

    async def download_file(self, file_id: str) -> bytes:
        async def call() -> bytes:
            async with self._request(f"download file {file_id}"):
                response = await self._requests().beta.files.download(file_id, betas=[MANAGED_AGENTS_BETA])
                return await response.read()

        return await with_retries(
            call, what=f"download file {file_id}", deadline=self.deadline, policy=self.policy, on_retry=self.on_retry
        )


async def _events(response: httpx2.Response) -> AsyncIterator[tuple[dict[str, Any], str]]:
    """The JSON events of an SSE response with their text; heartbeats and data-less frames skipped; a partial
    event (the connection cut mid-event) is never yielded (see :mod:`recorder.ingest.sse`).

    The body is read as it arrives off the socket (``aiter_raw``: no decoder or re-chunking layer) unless it is
    content-encoded (then decoded by ``aiter_bytes``)."""
    encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
    chunks = response.aiter_bytes() if encoded else response.aiter_raw()
    async for frames in sse.frames(chunks):
        for frame in frames:
            if frame.event is None or frame.event == "ping" or not frame.data:
                continue
            if frame.event == "error":
                raise StreamError(f"the stream reported an error: {frame.data[:200]}")
            try:
                event = jsontext.loads(frame.data)
            except ValueError:
                raise StreamError(f"the stream sent an event that is not JSON: {frame.data[:120]!r}") from None
            if isinstance(event, dict):
                yield event, frame.data
