"""JSON text that ``json.loads`` refuses although it is valid: hostile nesting and huge integers.

``json.loads`` gives up on valid JSON in two ways: nesting deeper than the interpreter's recursion limit (about
1,000 levels) raises ``RecursionError``, and an integer of more than 4,300 digits raises ``ValueError`` (Python's
int-string conversion limit), which callers then report falsely as "not JSON". An event like that must still be
kept byte for byte, so this module offers:

- :func:`scan_value`: where one JSON value ends, checking its syntax with an explicit stack (no recursion, no
  number conversion), so text of any depth and any number size is validated in linear time;
- :func:`loads`: ``json.loads``, falling back for such text to a *partial* object (:class:`PartialObject`): the
  top-level members that can be parsed (an event's ``id``, ``type``, ``processed_at``), the others left out. The
  text stays the authority: whoever holds a PartialObject must keep the text, never re-serialize the object.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]+|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERAL = re.compile(r"true|false|null|NaN|-?Infinity")  # the last two as the json module accepts them
_OUTSIDE_STRINGS = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+')


class PartialObject(dict[str, Any]):
    """The parseable top-level members of a valid JSON object that ``json.loads`` refused; ``text`` is the whole
    object's JSON text (keep it; the object alone is not the event)."""

    text: str = ""


def scan_value(text: str, index: int = 0) -> int:
    """The index just after the JSON value starting at ``index`` (leading whitespace skipped); ValueError if the
    text there is not one valid JSON value. Iterative: any depth, any length."""
    stack: list[str] = []  # open containers: "{" or "["
    expect = "value"  # value | key | colon | next (a comma or the container's end)
    n = len(text)
    while True:
        index = _SPACE.match(text, index).end()  # type: ignore[union-attr]
        if index >= n:
            raise ValueError("unexpected end of JSON text")
        ch = text[index]
        if expect == "value":
            if ch == "{" or ch == "[":
                stack.append(ch)
                index += 1
                after = _SPACE.match(text, index).end()  # type: ignore[union-attr]
                if after < n and text[after] == ("}" if ch == "{" else "]"):
                    stack.pop()
                    index = after + 1
                    expect = "next"
                else:
                    expect = "key" if ch == "{" else "value"
                if not stack:
                    return index
                continue
            match = (_STRING if ch == '"' else _NUMBER if ch in "-0123456789" and not text.startswith(
                "-Infinity", index) else _LITERAL).match(text, index)
            if match is None:
                raise ValueError(f"invalid JSON value at character {index}")
            index = match.end()
            if not stack:
                return index
            expect = "next"
        elif expect == "key":
            match = _STRING.match(text, index)
            if match is None:
                raise ValueError(f"expected a member name at character {index}")
            index = match.end()
            expect = "colon"
        elif expect == "colon":
            if ch != ":":
                raise ValueError(f"expected ':' at character {index}")
            index += 1
            expect = "value"
        else:  # next
            top = stack[-1]
            if ch == ",":
                index += 1
                expect = "key" if top == "{" else "value"
            elif ch == ("}" if top == "{" else "]"):
                stack.pop()
                index += 1
                if not stack:
                    return index
            else:
                raise ValueError(f"expected ',' or the end of a container at character {index}")


def is_json(text: str) -> bool:
    """True when ``text`` is exactly one valid JSON value (whitespace around it allowed)."""
    try:
        end = scan_value(text)
    except ValueError:
        return False
    return _SPACE.match(text, end).end() == len(text)  # type: ignore[union-attr]


def decode(text: str, index: int = 0) -> tuple[Any, int]:
    """Like ``JSONDecoder.raw_decode`` (leading whitespace allowed), but valid text refused by ``json`` gives a
    :class:`PartialObject` (or, for a value that is not an object, ValueError naming why)."""
    index = _SPACE.match(text, index).end()  # type: ignore[union-attr]
    try:
        return _DECODER.raw_decode(text, index)
    except (RecursionError, ValueError) as err:
        end = scan_value(text, index)  # ValueError: really not JSON
        return partial(text[index:end], err), end


def loads(text: str | bytes) -> Any:
    """``json.loads``, with :func:`decode`'s fallback for valid JSON it refuses."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    value, end = decode(text)
    if _SPACE.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise ValueError("extra data after the JSON value")
    return value


def partial(text: str, why: BaseException | None = None) -> PartialObject:
    """The parseable top-level members of the JSON object ``text`` (already known to be valid JSON)."""
    index = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", index):
        reason = "nested too deeply" if isinstance(why, RecursionError) else "has a number too large to convert"
        raise ValueError(f"a JSON value that is not an object {reason}")
    obj = PartialObject()
    obj.text = text
    index += 1
    while True:
        index = _SPACE.match(text, index).end()  # type: ignore[union-attr]
        if text[index] == "}":
            return obj
        if text[index] == ",":
            index += 1
            continue
        name, index = _DECODER.raw_decode(text, index)
        index = _SPACE.match(text, index).end() + 1  # type: ignore[union-attr]  # past the ':'
        index = _SPACE.match(text, index).end()  # type: ignore[union-attr]
        try:
            value, index = _DECODER.raw_decode(text, index)
        except (RecursionError, ValueError):
            index = scan_value(text, index)
        else:
            obj[name] = value


def one_line(text: str) -> str:
    """``text`` (valid JSON) without whitespace outside strings: one line, same value."""
    return _OUTSIDE_STRINGS.sub(lambda m: m.group(1) or "", text)
