"""Reading a list page so that each item comes with its exact JSON text, as the API sent it.

``json.loads`` gives objects; the log wants each event's own text too, so it can keep the event byte for byte
instead of re-serializing it. :func:`read_page` walks the page's top-level object with the C-accelerated
``JSONDecoder.raw_decode``, which reports where each value ends: every item of the ``data`` array is parsed once
and sliced out of the page at the same time. Anything unexpected falls back to plain ``json.loads`` (items then
carry no text and are serialized by :func:`recorder.events.dump_json`). Valid JSON that ``json`` refuses (nesting
deeper than ~1,000, integers of more than 4,300 digits) comes back as a :class:`recorder.jsontext.PartialObject`
holding its own text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from recorder import jsontext

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()  # type: ignore[union-attr]


def read_page(body: bytes | str, key: str = "data") -> tuple[dict[str, Any], list[str] | None]:
    """Parse a page; returns the page object and the exact text of each item of ``page[key]`` (None if the page
    could not be walked that way)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        return _walk(text, key)
    except (ValueError, IndexError, RecursionError):
        return jsontext.loads(text), None


def _walk(text: str, key: str) -> tuple[dict[str, Any], list[str] | None]:
    page: dict[str, Any] = {}
    texts: list[str] | None = None
    index = _skip(text, 0)
    if text[index] != "{":
        raise ValueError("not an object")
    index = _skip(text, index + 1)
    if text[index] == "}":
        index += 1
    else:
        while True:
            name, index = _DECODER.raw_decode(text, index)
            index = _skip(text, index)
            if text[index] != ":":
                raise ValueError("expected ':'")
            index = _skip(text, index + 1)
            if name == key and text[index] == "[":
                items, texts, index = _array(text, index)
                page[name] = items
            else:
                page[name], index = jsontext.decode(text, index)
            index = _skip(text, index)
            if text[index] == ",":
                index = _skip(text, index + 1)
                continue
            if text[index] != "}":
                raise ValueError("expected ',' or '}'")
            index += 1
            break
    if _skip(text, index) != len(text):
        raise ValueError("trailing data")
    return page, texts


def _array(text: str, index: int) -> tuple[list[Any], list[str], int]:
    items: list[Any] = []
    texts: list[str] = []
    index = _skip(text, index + 1)
    if text[index] == "]":
        return items, texts, index + 1
    while True:
        item, end = jsontext.decode(text, index)  # hostile items (valid JSON json refuses) come back partial
        items.append(item)
        texts.append(text[index:end])
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
            continue
        if text[index] != "]":
            raise ValueError("expected ',' or ']'")
        return items, texts, index + 1
