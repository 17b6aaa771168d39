"""Keep secrets out of the log: values of secret-named fields are replaced before anything is stored.

The API echoes what a session was created with; a ``github_repository`` resource, for one, carries the
``authorization_token`` it was given. Every object the recorder stores (events, session and thread snapshots, file
metadata) passes through :func:`scrub`. It is the one deliberate change to "exactly as delivered": the key stays,
its value becomes ``"[scrubbed]"``, so a reader can tell. A quick text check skips objects with no such key.
The API key itself never reaches an object: it lives in the SDK client's headers, which are never stored or logged.
"""

from __future__ import annotations

import re
from typing import Any

SCRUBBED = "[scrubbed]"
SECRET_KEYS = frozenset(
    {
        "authorization_token",
        "access_token",
        "refresh_token",
        "api_key",
        "x-api-key",
        "client_secret",
        "password",
        "secret",
        "private_key",
    }
)
_QUICK = re.compile("|".join(re.escape(f'"{key}"') for key in sorted(SECRET_KEYS)), re.IGNORECASE)


def might_hold_secrets(text: str) -> bool:
    """False when the JSON ``text`` certainly has no secret-named key (cheap pre-check)."""
    return _QUICK.search(text) is not None


def scrub(value: Any) -> Any:
    """A copy of ``value`` with every secret-named field's value replaced (objects without any are returned as is)."""
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SECRET_KEYS and item not in (None, "", SCRUBBED):
                out[key] = SCRUBBED
                changed = True
            else:
                new = scrub(item)
                changed = changed or new is not item
                out[key] = new
        return out if changed else value
    if isinstance(value, list):
        items = [scrub(item) for item in value]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    return value
