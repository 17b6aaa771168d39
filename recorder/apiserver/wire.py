"""Wire formats shared by the HTTP layer and the sources: JSON text, timestamps, page cursors, error bodies.

JSON is written compactly with UTF-8 text kept as is. A lone surrogate (``"\\ud800"``, valid JSON but not
encodable as UTF-8) is written as its ``\\uXXXX`` escape, so the bytes on the wire are always valid UTF-8 and
the SDK reads the same string back. Control characters (``\\u0000`` included) are always escaped by ``json``.

Timestamps are RFC 3339 in UTC with exactly six fractional digits and a ``Z`` (``2026-03-02T09:00:00.000000Z``).
With that fixed width, comparing the strings compares the instants, which is what the event filters do.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1)
_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(obj: Any) -> str:
    """Compact JSON text of ``obj`` that always encodes to UTF-8 (lone surrogates escaped)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def format_micros(micros: int) -> str:
    """Microseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds") + "Z"


def now_micros() -> int:
    """The wall clock in microseconds since the epoch (UTC)."""
    delta = datetime.now(UTC).replace(tzinfo=None) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_micros(text: str) -> int:
    """An RFC 3339 / ISO 8601 timestamp (``Z`` or an offset; naive means UTC) as microseconds since the epoch.

    Raises ValueError for anything else.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def normalize_time(text: str) -> str:
    """Any accepted timestamp rewritten in the canonical fixed-width form (for string comparison)."""
    return format_micros(parse_micros(text))


def encode_cursor(state: dict[str, Any], prefix: str = "") -> str:
    """An opaque page cursor holding ``state``."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, prefix: str = "") -> dict[str, Any]:
    """The state inside a cursor made by :func:`encode_cursor`; ValueError if it is not one."""
    if prefix and cursor.startswith(prefix):
        cursor = cursor[len(prefix):]
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
    except Exception as err:
        raise ValueError("malformed page cursor") from err
    if not isinstance(state, dict):
        raise ValueError("malformed page cursor")
    return state


# The API's error types by HTTP status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str, request_id: str) -> bytes:
    """The API's JSON error object for ``status``."""
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": request_id}
    return dumps(body).encode()
