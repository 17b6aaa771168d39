"""Retention and legal hold.

``recorder prune --older-than DURATION`` removes whole sessions whose **last activity** is older than DURATION:
the latest of the last time the recorder wrote anything for the session (an event, a snapshot, an archived file)
and the latest ``processed_at`` among its events. A session under legal hold is never removed, nor one being
recorded right now (an unexpired lease). Each session is removed in its own transaction under the log's write lock,
after checking all of that again; the audit trail gets one ``prune`` entry per session with what was removed:
event counts, every stream's chain head, archived files (id, sha256, size), snapshot count and the global
positions, which ``recorder verify`` then accepts as an audited gap.

``recorder hold add|remove ID --reason`` puts a session under legal hold or releases it; both are audit entries.
Who did it: ``--by``, else ``RECORDER_ACTOR``, else ``user@host``.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from recorder import options
from recorder.errors import ConfigError
from recorder.events import format_time
from recorder.store import ComplianceStore, EventStore, Hold, PrunedSession, utcnow


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``, ``1y`` (365 days), ``30m`` (minutes), ``45s``, or a sum such as ``1y30d``
    (the rule lives in :func:`recorder.options.duration`)."""
    try:
        return options.duration(text)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def default_actor() -> str:
    """Who is acting, for the audit trail: ``RECORDER_ACTOR``, else ``user@host``."""
    actor = os.environ.get("RECORDER_ACTOR")
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(slots=True)
class PruneReport:
    older_than: str
    cutoff: datetime
    dry_run: bool
    pruned: list[PrunedSession] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # past the cutoff, kept: under legal hold
    recording: list[str] = field(default_factory=list)  # past the cutoff, kept: a recorder holds its lease

    @property
    def events(self) -> int:
        return sum(p.events for p in self.pruned)

    def to_json(self) -> dict[str, Any]:
        """What ``recorder prune --format json`` prints."""
        return {
            "dry_run": self.dry_run, "older_than": self.older_than, "cutoff": format_time(self.cutoff),
            "sessions": [{"session_id": p.session_id, "last_activity": format_time(p.last_activity),
                          "events": p.events, "streams": p.streams, "files": len(p.files), "snapshots": p.snapshots,
                          "audit_id": p.audit_id} for p in self.pruned],
            "kept_held": self.held, "kept_recording": self.recording,
        }


def prune(
    store: EventStore,
    older_than: str,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    only: Collection[str] | None = None,
) -> PruneReport:
    """Remove (``dry_run``: list) every session whose last activity is older than ``older_than``, unless held.

    ``only``: never touch a session outside these (the ones a person was shown and confirmed; pass the dry run's
    ``now`` too, so the cutoff is the same)."""
    age = parse_duration(older_than)
    now = now or utcnow()
    cutoff = now - age
    actor = actor or default_actor()
    reason = reason or f"retention: last activity older than {older_than}"
    compliance = ComplianceStore(store)
    report = PruneReport(older_than, cutoff, dry_run)
    for activity in compliance.activity():
        if activity.last_activity >= cutoff or (only is not None and activity.session_id not in only):
            continue
        if activity.held:
            report.held.append(activity.session_id)
            continue
        if activity.leased_until is not None and activity.leased_until > utcnow():
            report.recording.append(activity.session_id)
            continue
        removed = compliance.prune_session(
            activity.session_id, cutoff=cutoff, actor=actor, reason=reason, dry_run=dry_run,
            criteria={"older_than": older_than},
        )
        if removed is not None:
            report.pruned.append(removed)
    return report


def hold(store: EventStore, session_id: str, *, reason: str, actor: str | None = None) -> tuple[Hold, bool]:
    """Put a session under legal hold; (the hold, whether it is new)."""
    if not reason.strip():
        raise ConfigError("a legal hold needs a --reason")
    return ComplianceStore(store).add_hold(session_id, reason=reason, actor=actor or default_actor())


def release(store: EventStore, session_id: str, *, reason: str, actor: str | None = None) -> Hold:
    """Release a session's legal hold; returns the hold released."""
    if not reason.strip():
        raise ConfigError("releasing a legal hold needs a --reason")
    return ComplianceStore(store).release_hold(session_id, reason=reason, actor=actor or default_actor())
