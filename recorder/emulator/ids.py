"""Deterministic identifiers and randomness: everything generated is a function of the seed and a name.

Ids look like the API's (``sesn_011C…``, ``sevt_011C…``, ``sthr_011C…``, ``file_011C…``): a prefix, ``011C`` and
20 base-62 characters taken from a BLAKE2b hash of the seed and the object's key, so the same seed gives the
same ids in every run and on every machine (Python's ``hash()`` is not used: it is salted per process).
"""

from __future__ import annotations

import hashlib
import random

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TO_BASE62 = bytes(ord(_ALPHABET[b % 62]) for b in range(256))  # one character per hash byte (fast, near-uniform)


def digest(*parts: object) -> int:
    """A 128-bit integer hash of ``parts`` (stable across processes and platforms)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(), "big")


def make_id(prefix: str, *parts: object) -> str:
    """An API-looking id, e.g. ``make_id("sevt", seed, session_key, 17)`` → ``sevt_011C…``."""
    text = "\x1f".join(str(p) for p in (prefix, *parts))
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
    return f"{prefix}_011C{raw.translate(_TO_BASE62).decode()}"


def rng(*parts: object) -> random.Random:
    """A private random generator seeded from ``parts``."""
    return random.Random(digest("rng", *parts))
