"""The per-stream hash chain that makes the log tamper-evident. Pure functions, shared by append and verify.

    genesis(stream)  = sha256("recorder-chain-v1\\0" ‖ session_id ‖ "\\0" ‖ thread_id-or-empty)
    payload_hash(e)  = sha256(payload text as UTF-8)
    chain_hash(e_n)  = sha256(chain_hash(e_{n-1}) ‖ seq_n as 8 bytes big-endian ‖ payload_hash(e_n))

Each event's hash covers its payload, its place in the stream and everything before it, so an edited byte, a
deleted, swapped or inserted event, or an event moved to another stream breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def genesis(session_id: str, thread_id: str | None) -> str:
    seed = b"recorder-chain-v1\0" + session_id.encode("utf-8") + b"\0" + (thread_id or "").encode("utf-8")
    return hashlib.sha256(seed).hexdigest()


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chain_hash(previous: str, seq: int, payload_digest: str) -> str:
    return hashlib.sha256(
        bytes.fromhex(previous) + seq.to_bytes(8, "big") + bytes.fromhex(payload_digest)
    ).hexdigest()


def extend(previous: str, seq: int, payloads: Iterable[str]) -> list[tuple[str, str]]:
    """``(payload_hash, chain_hash)`` of the events that follow ``previous`` in one stream, at ``seq + 1``,
    ``seq + 2``...: the two functions above for a run of events, as the append path needs them for every event it
    writes. The head is carried as bytes from one event to the next (never turned into text and back), and the
    loop makes no call but the hashing: planning costs what the hashing does."""
    sha256 = hashlib.sha256
    head = bytes.fromhex(previous)
    out: list[tuple[str, str]] = []
    for payload in payloads:
        seq += 1
        digest = sha256(payload.encode("utf-8")).digest()
        linked = sha256(head + seq.to_bytes(8, "big") + digest)
        head = linked.digest()
        out.append((digest.hex(), linked.hexdigest()))
    return out
