"""One Merkle root over many streams' chain heads, as in RFC 6962 (Certificate Transparency), section 2.1.

    MTH({})      = SHA-256()
    MTH({d0})    = SHA-256(0x00 ‖ d0)                                   a leaf
    MTH(D[n])    = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))            k: the largest power of two < n

The distinct leaf and node prefixes make a leaf impossible to pass off as an inner node. A stream's leaf data is

    u32(len(session_id)) ‖ session_id ‖ u32(len(thread_id)) ‖ thread_id ‖ u64(event count) ‖ head hash (32 bytes)

(UTF-8, big-endian lengths; the session-level stream has an empty thread id), and the leaves are ordered by
(session_id, thread_id) as UTF-8 bytes, so the same streams always give the same root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _mth(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)  # the largest power of two smaller than n
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def root(leaves: Sequence[bytes]) -> str:
    """The RFC 6962 Merkle tree hash of ``leaves`` (leaf data, in order), as hex."""
    if not leaves:
        return EMPTY_ROOT
    return _mth([leaf_hash(data) for data in leaves]).hex()


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def stream_leaf(session_id: str, thread_id: str | None, count: int, head_hash: str) -> bytes:
    session, thread = _text(session_id), _text(thread_id or "")
    return (
        len(session).to_bytes(4, "big") + session + len(thread).to_bytes(4, "big") + thread
        + count.to_bytes(8, "big") + bytes.fromhex(head_hash)
    )


def stream_order(session_id: str, thread_id: str | None) -> tuple[bytes, bytes]:
    return _text(session_id), _text(thread_id or "")


def streams_root(streams: Iterable[tuple[str, str | None, int, str]]) -> str:
    """The root over (session_id, thread_id, count, head_hash) tuples, in the canonical order."""
    ordered = sorted(streams, key=lambda s: stream_order(s[0], s[1]))
    return root([stream_leaf(*s) for s in ordered])
