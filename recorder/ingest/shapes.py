"""Answers must have the shape the SDK's models expect before anything derived from them is stored.

The recorder reads raw JSON (events are kept as delivered, unknown types included), so nothing checks the
objects it derives columns from. A wrong ``ANTHROPIC_BASE_URL`` that answers every path with the same JSON, or a
broken proxy, would otherwise be recorded: a session with status ``12345``, a thread without an id. These checks
follow the SDK's models (``anthropic.types.beta.BetaManagedAgentsSession`` and kin) for the fields the recorder
uses - ids, types, statuses, lists - and leave every other field alone (new fields and values must keep working).
Events themselves are not checked here beyond being objects: the log keeps whatever the API sent.
"""

from __future__ import annotations

import re
from typing import Any

from recorder.errors import ApiError

ID_LIMIT = 255
_STATUS = re.compile(r"[a-z][a-z_]{0,31}")  # a status word (the SDK's literals, or a new one of that form)


def sample(value: Any) -> str:
    """A short, one-line picture of an answer for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _id(obj: Any, what: str, where: str) -> str:
    if not isinstance(obj, dict):
        raise ApiError(f"{what}: the API at {where} answered with {sample(obj)}, not an object; "
                       "is ANTHROPIC_BASE_URL right?")
    value = obj.get("id")
    if not isinstance(value, str) or not value or len(value) > ID_LIMIT:
        raise ApiError(f"{what}: the API at {where} answered with an object whose id is {sample(value)}; "
                       "is ANTHROPIC_BASE_URL right?")
    return value


def _type(obj: dict[str, Any], expected: str, what: str, where: str) -> None:
    if "type" in obj and obj["type"] != expected:
        raise ApiError(f"{what}: the API at {where} answered with type {sample(obj['type'])}, not {expected!r}; "
                       "is ANTHROPIC_BASE_URL right?")


def _status(obj: dict[str, Any], what: str, where: str, required: bool) -> None:
    if "status" not in obj and not required:
        return
    status = obj.get("status")
    if not isinstance(status, str) or not _STATUS.fullmatch(status):
        raise ApiError(f"{what}: the API at {where} answered with status {sample(status)}, not a session status; "
                       "is ANTHROPIC_BASE_URL right?")


def check_session(obj: Any, session_id: str | None, what: str, where: str) -> dict[str, Any]:
    """A session object (``sessions.retrieve`` / ``sessions.list``): an id (the one asked for), type
    ``session``, a status word."""
    got = _id(obj, what, where)
    if session_id is not None and got != session_id:
        raise ApiError(f"{what}: the API at {where} answered with session {sample(got)}, not {session_id}; "
                       "is ANTHROPIC_BASE_URL right?")
    _type(obj, "session", what, where)
    _status(obj, what, where, required=True)
    return obj


def check_thread(obj: Any, what: str, where: str) -> dict[str, Any]:
    """A thread object (``threads.list``): an id, type ``session_thread`` when given, a status word if any."""
    _id(obj, what, where)
    _type(obj, "session_thread", what, where)
    _status(obj, what, where, required=False)
    return obj


def check_file(obj: Any, what: str, where: str) -> dict[str, Any]:
    """A file's metadata (``files.list``): an id; type ``file`` when given."""
    _id(obj, what, where)
    _type(obj, "file", what, where)
    return obj
