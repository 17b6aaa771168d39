"""Anchors: a small signed-off record of the log's state, kept outside the database, against truncation and
rollback.

The hash chains prove the log consistent, not complete: deleting a stream's last events and moving its head back,
or restoring last month's copy of the database, leaves a log that verifies. An anchor written now and kept
elsewhere (another machine, a ticket, a notary, an e-mail to the auditor) lets ``recorder verify --anchor FILE``
prove later that the database still *extends* it: every anchored stream still holds at least the anchored number
of events, the event at that sequence number still has the anchored chain hash (so nothing before it changed),
the log head and the audit trail did not move back. A stream removed since by an audited prune is accepted when
the prune's audit entry recorded at least the anchored events.

The file (JSON, ``format: recorder-anchor-v1``) holds one entry per stream (session, thread, event count, head
hash), the log head, the audit trail's length and head, and one RFC 6962 Merkle root over all streams
(:mod:`recorder.compliance.merkle`) — the single value worth publishing or signing (e.g. with ``gpg --detach-sign``
or ``minisign``); a damaged or edited anchor file is detected because its streams no longer give its root.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recorder import __version__
from recorder.compliance import merkle
from recorder.compliance.report import Problem, StreamHead, VerifyReport
from recorder.errors import ConfigError, IntegrityViolation
from recorder.events import format_time
from recorder.output import files
from recorder.store import AUDIT_GENESIS, AuditEntry, chain

FORMAT = "recorder-anchor-v1"


@dataclass(frozen=True, slots=True)
class Anchor:
    created_at: str
    tool_version: str
    log_head: int
    audit_entries: int
    audit_head: str
    streams: tuple[StreamHead, ...]
    merkle_root: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "tool_version": self.tool_version,
            "log_head": self.log_head,
            "audit": {"entries": self.audit_entries, "head": self.audit_head},
            "merkle": "RFC 6962 SHA-256 over the streams in (session_id, thread_id) order; see recorder.compliance"
                      ".merkle",
            "merkle_root": self.merkle_root,
            "streams": [
                {"session_id": s.session_id, "thread_id": s.thread_id, "count": s.count, "head_hash": s.head_hash}
                for s in self.streams
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def summary(self) -> dict[str, Any]:
        return {"created_at": self.created_at, "streams": len(self.streams), "log_head": self.log_head,
                "merkle_root": self.merkle_root}


def _root(streams: Iterable[StreamHead]) -> str:
    return merkle.streams_root((s.session_id, s.thread_id, s.count, s.head_hash) for s in streams)


def anchor_from_report(report: VerifyReport, now: datetime | None = None) -> Anchor:
    """The anchor of a log just verified whole and intact."""
    if report.scope != "log":
        raise ConfigError("an anchor covers the whole log; verify it without session ids")
    report.raise_if_broken()
    streams = tuple(sorted(
        report.heads,
        key=lambda s: merkle.stream_order(s.session_id, s.thread_id),
    ))
    created = format_time((now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)) or ""
    return Anchor(created, __version__, int(report.log_head or 0), report.audit_entries, report.audit_head,
                  streams, _root(streams))


def load(path: str | Path) -> Anchor:
    """Read an anchor file; a damaged one (its streams do not give its Merkle root) is an IntegrityViolation."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read anchor {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise IntegrityViolation(f"anchor {path} is damaged: not JSON ({err})") from None
    try:
        if data.get("format") != FORMAT:
            raise ConfigError(f"{path} is not a recorder anchor (format {data.get('format')!r}, expected {FORMAT})")
        streams = tuple(
            StreamHead(str(s["session_id"]), s["thread_id"], int(s["count"]), str(s["head_hash"]))
            for s in data["streams"]
        )
        anchor = Anchor(str(data["created_at"]), str(data["tool_version"]), int(data["log_head"]),
                        int(data["audit"]["entries"]), str(data["audit"]["head"]), streams, str(data["merkle_root"]))
        root = _root(streams)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise IntegrityViolation(f"anchor {path} is damaged: missing or bad field ({err})") from None
    if root != anchor.merkle_root:
        raise IntegrityViolation(f"anchor {path} is damaged: its streams give Merkle root {root[:16]}…, the file "
                                 f"says {anchor.merkle_root[:16]}… (edited anchor?)")
    return anchor


def compare(
    anchor: Anchor,
    report: VerifyReport,
    at_target: dict[int, str],
    stream_ids: dict[tuple[str, str | None], int],
    pruned: dict[tuple[str, str | None], tuple[int, str]],
    entries: Sequence[AuditEntry],
    *,
    whole_log: bool,
    sessions: Sequence[str] | None,
) -> list[Problem]:
    """Problems showing that the database does not extend ``anchor`` (called by verify, inside its pass)."""
    problems: list[Problem] = []
    counts = {(h.session_id, h.thread_id): h.count for h in report.heads}
    chosen = None if sessions is None else set(sessions)
    checked = 0
    for s in anchor.streams:
        if chosen is not None and s.session_id not in chosen:
            continue
        checked += 1
        key = (s.session_id, s.thread_id)
        if key in stream_ids:
            have = counts[key]
            if have < s.count:
                problems.append(Problem("anchor", f"holds {have} events, the anchor of {anchor.created_at} has "
                                        f"{s.count}: events lost since (tail truncated, or an older copy of the "
                                        "database restored)", s.session_id, s.thread_id, have + 1))
                continue
            found = at_target.get(stream_ids[key])
            if found is None and s.count == 0:
                found = chain.genesis(s.session_id, s.thread_id)
            if found is not None and found != s.head_hash:
                problems.append(Problem("anchor", f"the event at seq {s.count} is not the one anchored on "
                                        f"{anchor.created_at}: history rewritten since", s.session_id, s.thread_id,
                                        s.count))
        elif key in pruned:
            count, head = pruned[key]
            if count < s.count or (count == s.count and head != s.head_hash):
                problems.append(Problem("anchor", f"an audited prune removed this stream with {count} events, the "
                                        f"anchor of {anchor.created_at} has {s.count}", s.session_id, s.thread_id))
        else:
            problems.append(Problem("anchor", f"in the anchor of {anchor.created_at} with {s.count} events, missing "
                                    "from the database and removed by no audited prune (an older copy of the "
                                    "database restored, or deleted)", s.session_id, s.thread_id))
    if whole_log:
        if (report.log_head or 0) < anchor.log_head:
            problems.append(Problem("anchor", f"the log head is at position {report.log_head}, the anchor of "
                                    f"{anchor.created_at} at {anchor.log_head}: an older copy of the database?"))
        if len(entries) < anchor.audit_entries:
            problems.append(Problem("anchor", f"the audit trail has {len(entries)} entries, the anchor of "
                                    f"{anchor.created_at} has {anchor.audit_entries}: audit entries lost"))
        elif anchor.audit_entries:
            if entries[anchor.audit_entries - 1].entry_hash != anchor.audit_head:
                problems.append(Problem("anchor", f"audit entry {anchor.audit_entries} is not the one anchored on "
                                        f"{anchor.created_at}: audit trail rewritten"))
        elif anchor.audit_head != AUDIT_GENESIS:
            problems.append(Problem("anchor", "the anchor's audit head is not the empty trail's"))
    report.anchor = {**anchor.summary(), "streams_checked": checked}
    return problems


def save(anchor: Anchor, path: str | Path) -> None:
    """Write an anchor file (atomically, never over a device, a symlink or a directory: :mod:`recorder.output.files`);
    ``-`` is standard output."""
    files.write_text(path, anchor.dumps())
