"""What verification found: the report of one pass (:class:`VerifyReport`), the places where the log is not what
it should be (:class:`Problem`) and each stream's head (:class:`StreamHead`, which is also what an anchor records
per stream).

Its own module so that :mod:`.verify` (which fills a report, comparing against an anchor) and :mod:`.anchor`
(which builds an anchor from a report and compares one) both import it and neither imports the other's way back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from recorder.errors import IntegrityViolation
from recorder.output.text import counted
from recorder.store import AUDIT_GENESIS

STREAM_KINDS = frozenset({"event", "stream", "column", "log", "position", "anchor", "bundle"})
KIND_ORDER = {"event": 0, "stream": 1, "column": 2, "position": 3, "log": 4, "file": 5, "snapshot": 6, "audit": 7,
              "guard": 8, "anchor": 9}


@dataclass(frozen=True, slots=True)
class Problem:
    """One place where the log is not what it should be."""

    kind: str
    what: str
    session_id: str | None = None
    thread_id: str | None = None
    seq: int | None = None
    position: int | None = None
    rank: float = math.inf  # where in the log the damage begins (orders problems)

    def line(self) -> str:
        where: list[str] = []
        if self.session_id is not None:
            where.append(f"session {self.session_id}")
            if self.thread_id:
                where.append(f"thread {self.thread_id}")
            elif self.kind in STREAM_KINDS:
                where.append("session stream")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.position is not None:
            where.append(f"position {self.position}")
        return f"{', '.join(where)}: {self.what}" if where else self.what

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "session_id": self.session_id, "thread_id": self.thread_id, "seq": self.seq,
                "position": self.position, "what": self.what, "message": self.line()}


@dataclass(frozen=True, slots=True)
class StreamHead:
    """A stream's length and head chain hash: measured by verify, recorded per stream by an anchor."""

    session_id: str
    thread_id: str | None
    count: int
    head_hash: str


@dataclass(slots=True)
class VerifyReport:
    scope: str  # "log" (everything) or "sessions" (the sessions asked for)
    session_ids: list[str]
    sessions: int = 0
    streams: int = 0
    events: int = 0
    files: int = 0
    snapshots: int = 0
    audit_entries: int = 0
    audit_head: str = AUDIT_GENESIS
    log_head: int | None = None
    pruned_positions: int = 0
    heads: list[StreamHead] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problems_found: int = 0
    anchor: dict[str, Any] | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problems_found == 0

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        if not self.ok:
            more = self.problems_found - 1
            tail = f" (and {more} more problem{'s' if more != 1 else ''}; --format json lists them)" if more else ""
            return f"log is NOT intact: {self.first.line() if self.first else '?'}{tail}"
        what = (f"{counted(self.events, 'event')} in {counted(self.streams, 'stream')} of "
                f"{counted(self.sessions, 'session')}")
        if self.scope == "log":
            pruned = f", {self.pruned_positions:,} pruned" if self.pruned_positions else ""
            audit = counted(self.audit_entries, "audit entry", "audit entries")
            what += f" (log head {self.log_head:,}{pruned}), {audit}"
        what += f", {counted(self.files, 'file')}, {counted(self.snapshots, 'snapshot')}"
        anchored = ""
        if self.anchor is not None:
            anchored = (f"; extends the anchor of {self.anchor['created_at']} "
                        f"({self.anchor['streams']:,} streams, root {self.anchor['merkle_root'][:16]}…)")
        return f"ok: verified {what}{anchored}"

    def raise_if_broken(self) -> None:
        if not self.ok:
            raise IntegrityViolation(self.summary())

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "scope": self.scope,
            "session_ids": self.session_ids,
            "sessions": self.sessions,
            "streams": self.streams,
            "events": self.events,
            "files": self.files,
            "snapshots": self.snapshots,
            "audit_entries": self.audit_entries,
            "log_head": self.log_head,
            "pruned_positions": self.pruned_positions,
            "first_problem": self.first.to_json() if self.first else None,
            "problems_found": self.problems_found,
            "problems": [p.to_json() for p in self.problems],
            "anchor": self.anchor,
            "elapsed_s": round(self.elapsed_s, 3),
        }
