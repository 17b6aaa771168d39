"""Events as the log keeps them: the API's JSON object, serialized once, plus the few fields we index.

The payload text is the object exactly as the API delivered it (every key, in the API's order, unknown types
and fields included), serialized compactly. Non-ASCII text is kept as UTF-8; only a payload holding a lone
surrogate (valid JSON, not encodable as UTF-8) is written with ``\\uXXXX`` escapes instead. Control characters,
``\\u0000`` included, are always escaped by JSON, so the text is safe for both SQLite and PostgreSQL ``TEXT``.

An event's key inside its stream is its id. The API sends ``user.interrupt`` events with an empty id; those get
a deterministic surrogate key from their payload, so two distinct ones are both kept and the same one delivered
twice is kept once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SURROGATE_PREFIX = "~sha256:"


def dump_json(obj: Any) -> str:
    """Compact JSON text of ``obj`` that is always encodable as UTF-8."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return text


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as a naive UTC datetime (how the log indexes time), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value)
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def format_time(value: datetime | None) -> str | None:
    """A naive UTC datetime from the log as RFC 3339 with a ``Z``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One event of one stream, ready to append: the payload text and the fields the log indexes."""

    session_id: str
    thread_id: str | None
    event_id: str
    event_key: str
    type: str
    processed_at: datetime | None
    payload: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)


def raw_event(obj: dict[str, Any], session_id: str, thread_id: str | None = None) -> RawEvent:
    """Wrap one event object as delivered by the API (a list page item or an SSE ``data:``)."""
    if not isinstance(obj, dict):
        raise ValueError(f"an event must be a JSON object, got {type(obj).__name__}")
    payload = dump_json(obj)
    event_id = obj.get("id")
    event_id = event_id if isinstance(event_id, str) else ("" if event_id is None else str(event_id))
    event_type = obj.get("type")
    event_type = event_type if isinstance(event_type, str) else ""
    key = event_id or SURROGATE_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return RawEvent(
        session_id=session_id,
        thread_id=thread_id,
        event_id=event_id,
        event_key=key,
        type=event_type,
        processed_at=parse_time(obj.get("processed_at")),
        payload=payload,
    )
