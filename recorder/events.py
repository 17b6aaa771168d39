"""Events as the log keeps them: the API's JSON text as delivered, plus the few fields we index.

The payload is the event's JSON text exactly as the API sent it (every key in the API's order, unknown types and
fields included), when it is one line; otherwise (or when only the object is at hand) the object serialized
compactly. Either way it is valid JSON text: JSON escapes control characters, ``\\u0000`` included, and a lone
surrogate arrives as a ``\\uXXXX`` escape, so the text is safe for both SQLite and PostgreSQL ``TEXT``. Only
:func:`dump_json` output may need care: non-ASCII is kept as UTF-8 unless a lone surrogate forces ASCII escapes.

An event's key inside its stream is its id. The API sends ``user.interrupt`` events with an empty id; those get
a deterministic surrogate key from their content (its canonical serialization, whatever the formatting of the
copy at hand), so two distinct ones are both kept and the same one delivered twice is kept once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recorder.jsontext import one_line

SURROGATE_PREFIX = "~sha256:"


def dump_json(obj: Any, *, indent: int | None = None) -> str:
    """JSON text of ``obj`` (compact, or indented) that is always encodable as UTF-8: non-ASCII stays as it is
    unless a lone surrogate forces ASCII escapes."""
    separators = (",", ":") if indent is None else None
    text = json.dumps(obj, ensure_ascii=False, separators=separators, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, separators=separators, indent=indent)
    return text


def display_text(value: Any) -> str | None:
    """Text fit for a plain database column (titles, names): NUL and lone surrogates, which PostgreSQL or UTF-8
    cannot hold, become U+FFFD. Only for columns derived for display; payloads keep every character."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as a naive UTC datetime (how the log indexes time), or None."""
    if value is None or value == "":
        return None
    if type(value) is str and value.endswith("Z"):  # the API's form, fast (Python 3.11 reads the Z itself)
        try:
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            pass  # the general path decides
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
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # a year-1 or year-9999 time with an offset: not a usable index value
            return None
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
    scrubbed: str | None = None  # JSON list of the JSON pointers whose secrets were replaced (recorder.ingest.scrub)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)


ID_LIMIT = 255  # characters of the indexed id/key/type columns (VARCHAR(255) on PostgreSQL)
ID_HASH_PREFIX = "~id-sha256:"  # keys of ids that are not plain strings, or too long for the column
ID_JSON_PREFIX = "~id:"  # keys of short non-string ids (a number 12345 -> "~id:12345", never the string's key)


def event_key_for(event_id: Any) -> str | None:
    """The key an id gives an event inside its stream (None: no usable id; the caller derives a surrogate).

    A plain string id of up to 255 characters is its own key (what every log written before this rule holds).
    Anything else gets a key that no plain string id can have: ``~id:`` and the JSON of a short number (so
    ``12345`` and ``"12345"`` are two keys), or ``~id-sha256:`` and the sha256 of the id's JSON for long ids,
    ids beginning with ``~`` and other values. The full id always stays in the payload."""
    if event_id is None or event_id == "":
        return None
    if isinstance(event_id, str):
        if len(event_id) <= ID_LIMIT and not event_id.startswith("~") and display_text(event_id) == event_id:
            return event_id
    elif isinstance(event_id, int | float) and not isinstance(event_id, bool):
        text = dump_json(event_id)
        if len(text) + len(ID_JSON_PREFIX) <= ID_LIMIT:
            return ID_JSON_PREFIX + text
    return ID_HASH_PREFIX + hashlib.sha256(dump_json(event_id).encode("utf-8")).hexdigest()


def _plain(value: Any) -> bool:
    """A non-empty printable ASCII string of at most ID_LIMIT characters: what :func:`display_text`,
    :func:`_column_text` and :func:`event_key_for` leave as it is (no NUL, no lone surrogate, not cut)."""
    return type(value) is str and 0 < len(value) <= ID_LIMIT and value.isascii() and value.isprintable()


def _column_text(value: Any) -> str:
    """An id or type as its indexed column holds it: text, display-safe, at most ID_LIMIT characters."""
    if value is None:
        return ""
    text = display_text(value if isinstance(value, str) else dump_json(value)) or ""
    return text[:ID_LIMIT]


def raw_event(obj: dict[str, Any], session_id: str, thread_id: str | None = None, text: str | None = None) -> RawEvent:
    """Wrap one event object as delivered by the API (a list page item or an SSE ``data:``).

    ``text``, the object's JSON exactly as it arrived, is kept as the payload when it is one line (NDJSON-safe);
    otherwise, or without it, the object is serialized compactly. A :class:`recorder.jsontext.PartialObject` (valid
    JSON that ``json`` refuses: hostile nesting, huge numbers) always keeps its text, made one line if need be.

    Index columns hold what can be extracted: ``event_id`` and ``type`` cut to 255 characters, ``event_key`` per
    :func:`event_key_for`; the payload keeps the full values."""
    if not isinstance(obj, dict):
        raise ValueError(f"an event must be a JSON object, got {type(obj).__name__}")
    whole = getattr(obj, "text", None)  # a PartialObject's text
    if whole is not None:
        text = text if text is not None else whole
        payload = text if "\n" not in text and "\r" not in text else one_line(text)
    else:
        payload = text if text is not None and "\n" not in text and "\r" not in text else dump_json(obj)
    raw_id = obj.get("id")
    raw_type = obj.get("type")
    key: str | None
    if isinstance(raw_id, str) and _plain(raw_id) and not raw_id.startswith("~"):
        event_id = key = raw_id  # the common case: an id that is its own key and column
    else:
        event_id = _column_text(raw_id)
        key = event_key_for(raw_id)
    event_type = "" if not isinstance(raw_type, str) else raw_type if _plain(raw_type) else _column_text(raw_type)
    if key is None:
        # From the canonical form, not the text: the same event may arrive formatted differently (page, stream).
        canonical = one_line(payload) if whole is not None else dump_json(obj)
        key = SURROGATE_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return RawEvent(
        session_id=session_id,
        thread_id=thread_id,
        event_id=event_id,
        event_key=key,
        type=event_type,
        processed_at=parse_time(obj.get("processed_at")),
        payload=payload,
    )
