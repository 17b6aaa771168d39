"""Retrying API calls: which failures are transient, how long to wait, and the one-line error for the rest.

Transient: 408/409/429/5xx/529 answers, connection failures and drops, SDK timeouts and our own per-request
wall-clock limit. The wait honours the server's ``retry-after`` / ``retry-after-ms``; otherwise it is exponential
backoff with full jitter. With a run deadline, retries go on until the deadline (then DeadlineReached); without
one they stop after ``max_attempts`` and the error is reported.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anthropic
import httpx2

from recorder.errors import ApiError, AuthError, DeadlineReached
from recorder.ingest.deadline import Deadline, RequestTimedOut

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: float = 0.25
    cap: float = 20.0
    max_attempts: int = 10

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's ``retry-after`` when it gave one, else exponential backoff with full jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        return random.uniform(0, min(self.cap, self.base * (2 ** min(attempt, 20))))


def retry_after(err: BaseException) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or a date)."""
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def transient(err: BaseException) -> str | None:
    """A short description if ``err`` is worth retrying, else None."""
    if isinstance(err, RequestTimedOut):
        return str(err)
    if isinstance(err, anthropic.APIStatusError):
        return f"HTTP {err.status_code}" if err.status_code in RETRYABLE_STATUS else None
    if isinstance(err, anthropic.APIConnectionError):  # (APITimeoutError included)
        cause = err.__cause__
        if isinstance(cause, httpx2.ConnectError | httpx2.ConnectTimeout):
            return f"cannot connect to {_url(err)} ({type(cause).__name__})"
        if isinstance(err, anthropic.APITimeoutError):
            return "request timed out"
        return f"the connection to {_url(err)} failed ({type(cause or err).__name__})"
    return None


def _url(err: BaseException) -> str:
    """The scheme, host and port a failed request went to (never its query: no secrets in messages)."""
    request = getattr(err, "request", None)
    url = getattr(request, "url", None)
    if url is None:
        return "the API"
    try:
        return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    except AttributeError:
        return str(url).split("?")[0]


def as_recorder_error(err: BaseException, what: str) -> ApiError:
    """The project's error for an API failure that is not (or no longer) worth retrying."""
    if isinstance(err, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return AuthError(f"{what}: the API refused the key (HTTP {err.status_code}); check ANTHROPIC_API_KEY")
    if isinstance(err, anthropic.NotFoundError):
        return ApiError(f"{what}: not found on the API (HTTP 404)", status=404)
    if isinstance(err, anthropic.APIStatusError):
        message = (getattr(err, "message", "") or "").strip()
        detail = f" ({message.splitlines()[0][:200]})" if message else ""
        return ApiError(f"{what}: the API answered HTTP {err.status_code}{detail}", status=err.status_code)
    if isinstance(err, ApiError):
        return err
    if isinstance(err, anthropic.APIConnectionError):
        return ApiError(f"{what}: {transient(err)}; check ANTHROPIC_BASE_URL")
    return ApiError(f"{what}: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    deadline: Deadline,
    policy: RetryPolicy,
    on_retry: Callable[[str, str, float], None] | None = None,
) -> T:
    """Await ``call()`` until it succeeds, retrying transient failures within the deadline."""
    attempt = 0
    while True:
        try:
            return await call()
        except DeadlineReached:
            raise
        except Exception as err:
            reason = transient(err)
            if reason is None:
                raise as_recorder_error(err, what) from None
            attempt += 1
            if deadline.remaining() is None and attempt >= policy.max_attempts:
                hint = "check ANTHROPIC_BASE_URL" if reason.startswith("cannot connect") else "try again later"
                raise ApiError(f"{what}: still failing after {attempt} attempts ({reason}); {hint}") from None
            wait = policy.delay(attempt, retry_after(err))
            if on_retry is not None:
                on_retry(what, reason, wait)
            await deadline.sleep(wait)
