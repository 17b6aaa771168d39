"""Keep secrets out of the log: secret values are replaced before anything is stored, and the row says where.

The API echoes what a session was created with; a ``github_repository`` resource, for one, carries the
``authorization_token`` it was given, and tool inputs may carry an ``Authorization: Bearer ...`` header. Every
object the recorder stores (events, session and thread snapshots, file metadata) passes through :func:`scrub_paths`.
It is the one deliberate change to "exactly as delivered": the key stays, its value becomes ``"[scrubbed]"`` (or,
inside a string, only the credential after ``Bearer``), so a reader can tell, and an event's row lists the JSON
pointers it scrubbed (``events.scrubbed``), so the record stays honest about what it altered. An event with nothing
to scrub keeps its bytes exactly.

The rules (case-insensitive; ``_``, ``-`` and case are ignored in names, so ``authorizationToken``,
``Authorization-Token`` and ``AUTHORIZATION_TOKEN`` are one name):

- a member whose name is a secret name (:data:`SECRET_NAMES`: ``token``, ``api_key``, ``password``, ``secret``,
  ``access_token``, ``refresh_token``, ``client_secret``, ``cookie``, ``authorization``, ...) loses its value,
  whatever its type;
- a member whose name *ends* in a secret word (:data:`SECRET_SUFFIXES`: ``...token``, ``...secret``,
  ``...password``, ``...api_key``, ...) loses a string value (``input_tokens`` counts do not end in ``token``;
  ``has_refresh_token: true`` is not a secret);
- in any string, the credential of ``Bearer <credential>`` / ``Basic <credential>`` and Anthropic API keys
  (``sk-ant-...``) are replaced.

Configurable through the environment (documented in the README): ``RECORDER_SECRET_NAMES`` adds names
(comma-separated), ``RECORDER_SECRET_PATTERNS`` adds regular expressions for secret values inside strings
(separated by newlines; the whole match is replaced).

The API key itself never reaches an object: it lives in the SDK client's headers, which are never stored or logged.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from typing import Any

SCRUBBED = "[scrubbed]"


_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalize(name: str) -> str:
    """A member name as the rules compare it: lower case, letters and digits only."""
    return _NOT_ALNUM.sub("", name.lower())


_normalized = functools.lru_cache(maxsize=4096)(normalize)  # member names repeat: one sub per distinct name


SECRET_NAMES = frozenset(normalize(name) for name in (
    "authorization", "proxy_authorization", "authorization_token", "auth_token", "token", "access_token",
    "refresh_token", "id_token", "session_token", "bearer_token", "api_token", "api_key", "x-api-key", "apikey",
    "client_secret", "secret", "secret_key", "secret_access_key", "signing_secret", "signing_key", "webhook_secret",
    "password", "passwd", "passphrase", "private_key", "cookie", "set-cookie", "credentials", "credential",
))
SECRET_SUFFIXES = tuple(normalize(word) for word in (
    "token", "secret", "password", "passwd", "api_key", "private_key", "access_key", "secret_key", "credentials",
))
VALUE_PATTERNS = (
    r"(?i:(?<=\bbearer ))[A-Za-z0-9\-._~+/]{8,}=*",
    r"(?i:(?<=\bbasic ))[A-Za-z0-9+/]{8,}=*",
    r"\bsk-ant-[A-Za-z0-9_\-]{8,}",
)


VALUE_WORDS = ("bearer", "basic", "sk-ant-")  # every built-in value pattern contains one of these (any case)


@dataclass(frozen=True)
class Rules:
    names: frozenset[str]
    suffixes: tuple[str, ...]
    values: re.Pattern[str]
    quick: re.Pattern[str]  # the pre-check as one pattern (what :meth:`triage` computes, faster)
    words: tuple[str, ...] = ()  # the pre-check's words, lower case, none containing another
    extra: re.Pattern[str] | None = None  # RECORDER_SECRET_PATTERNS alone (case-insensitive), if any
    any_word: re.Pattern[str] | None = None  # any of ``words``, VALUE_WORDS or ``\\u`` (in lower-cased text)

    def name_is_secret(self, name: str, value: Any) -> bool:
        key = _normalized(name)
        if key in self.names:
            return True
        return isinstance(value, str) and key.endswith(self.suffixes)

    def triage(self, text: str) -> tuple[bool, bool]:
        """The cheap pre-check of JSON ``text``: (might it hold anything to scrub, might any of its strings hold a
        secret *value*). Substring tests on the lower-cased text (C speed) instead of one case-insensitive
        alternation of some forty words and look-behinds, which cost more than everything else an event needs.
        ``\\u`` escapes may hide a value's words: then the values are always checked."""
        lowered = text.lower()
        if self.any_word is not None and self.any_word.search(lowered) is None:  # the common case: one search
            return (True, True) if self.extra is not None and self.extra.search(text) is not None else (False, False)
        values = any(word in lowered for word in VALUE_WORDS) or "\\u" in text or (
            self.extra is not None and self.extra.search(text) is not None)
        if values:
            return True, True
        return any(word in lowered for word in self.words), False


def rules() -> Rules:
    """The rules in force: the built-in ones plus what the environment adds (read on every call, cached per value)."""
    return _rules(os.environ.get("RECORDER_SECRET_NAMES", ""), os.environ.get("RECORDER_SECRET_PATTERNS", ""))


@functools.lru_cache(maxsize=8)
def _rules(extra_names: str, extra_patterns: str) -> Rules:
    from recorder.errors import ConfigError

    names = SECRET_NAMES | {normalize(n) for n in extra_names.split(",") if normalize(n)}
    patterns = [*VALUE_PATTERNS, *(p for p in extra_patterns.splitlines() if p.strip())]
    try:
        values = re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error as err:
        raise ConfigError(f"RECORDER_SECRET_PATTERNS: not a regular expression ({err})") from None
    # The cheap pre-check: any text that might hold a secret name or value. Names are matched loosely (a word of
    # a secret name anywhere), so objects that only count tokens still get the full walk, which is exact.
    words = {"token", "secret", "password", "passwd", "passphrase", "key", "cookie", "authorization", "credential",
             "bearer", "basic", "sk-ant-", *names}
    quick = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + "|" + values.pattern,
                       re.IGNORECASE)
    lowered = {w.lower() for w in words}
    minimal = tuple(sorted(w for w in lowered if not any(o != w and o in w for o in lowered)))
    extra = re.compile("|".join(f"(?:{p})" for p in patterns[len(VALUE_PATTERNS):]), re.IGNORECASE) \
        if len(patterns) > len(VALUE_PATTERNS) else None
    any_word = re.compile("|".join(re.escape(w) for w in sorted({*minimal, *VALUE_WORDS, "\\u"}, key=len,
                                                                 reverse=True)))
    return Rules(names, SECRET_SUFFIXES, values, quick, minimal, extra, any_word)


def might_hold_secrets(text: str, current: Rules | None = None) -> bool:
    """False when the JSON ``text`` certainly has nothing to scrub (cheap pre-check)."""
    return (current or rules()).triage(text)[0]


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def scrub_paths(value: Any, current: Rules | None = None, *, values: bool = True) -> tuple[Any, list[str]]:
    """A copy of ``value`` with secrets replaced, and the JSON pointers (RFC 6901) of what was replaced. When nothing
    was, ``value`` itself is returned (same object), so its original bytes can be kept. ``values=False`` (the
    pre-check found no value pattern possible in the object's text) skips the value patterns on every string."""
    current = current or rules()
    if not values and not _names_hit(value, current):
        return value, []  # the common case (a `..._tokens` count, a `key`): nothing copied
    found: list[str] = []
    return _scrub(value, (), found, current, values), found


def _names_hit(value: Any, current: Rules) -> bool:
    """Whether some member of ``value`` has a secret name (and a value :func:`_scrub` would replace)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and item not in (None, "", SCRUBBED) and current.name_is_secret(key, item):
                return True
            if isinstance(item, dict | list) and _names_hit(item, current):
                return True
        return False
    if isinstance(value, list):
        return any(isinstance(item, dict | list) and _names_hit(item, current) for item in value)
    return False


def scrub(value: Any) -> Any:
    """:func:`scrub_paths` without the paths."""
    return scrub_paths(value)[0]


def _scrub(value: Any, path: tuple[str | int, ...], found: list[str], current: Rules, values: bool = True) -> Any:
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and item not in (None, "", SCRUBBED) and current.name_is_secret(key, item):
                out[key] = SCRUBBED
                found.append(_pointer((*path, key)))
                changed = True
            else:
                new = _scrub(item, (*path, key), found, current, values)
                changed = changed or new is not item
                out[key] = new
        return out if changed else value
    if isinstance(value, list):
        items = [_scrub(item, (*path, index), found, current, values) for index, item in enumerate(value)]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    if values and isinstance(value, str) and value:
        replaced = current.values.sub(SCRUBBED, value)
        if replaced != value:
            found.append(_pointer(path))
            return replaced
    return value


def scrub_text(text: str) -> tuple[str, list[str]]:
    """Secrets replaced in JSON text that cannot be parsed back into objects (hostile events: nesting too deep,
    numbers too long): string members with a secret name lose their value, and secret values inside any string are
    replaced. The paths are not known; the one reported is ``"*"`` (somewhere in the text)."""
    current = rules()
    member = re.compile(r'("(?:[^"\\]|\\.)*"\s*:\s*)"(?:[^"\\]|\\.)*"')

    def replace_member(match: re.Match[str]) -> str:
        name_text = match.group(1).rsplit(":", 1)[0].strip()
        try:
            name = json.loads(name_text)
        except ValueError:
            return match.group(0)
        if isinstance(name, str) and current.name_is_secret(name, "a string"):
            return match.group(1) + f'"{SCRUBBED}"'
        return match.group(0)

    out = member.sub(replace_member, text)
    out = current.values.sub(SCRUBBED, out)
    return out, (["*"] if out != text else [])
