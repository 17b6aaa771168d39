"""Session leases: one recorder at a time per session, with expiry and a fencing token.

Several ``recorder record`` processes (on several machines, with PostgreSQL) may share one log. Before recording a
session a recorder takes its lease; it renews it while it works and releases it when done. A lease that is not
renewed expires, so a killed worker's sessions are picked up by another. A lease held by a process of this host
that no longer exists (or is a zombie, killed but not yet reaped) is taken over at once.

Every take-over increments the session's fencing token. Each append of a recorder carries its lease as a fence:
the store checks, under the log's write lock, that the token is still the session's current one, so a recorder
that lost its lease (paused, partitioned, presumed dead) can never write again — two recorders never interleave
events of one session, which would break the API's order.

Expiry uses the recorders' clocks (naive UTC); hosts sharing a PostgreSQL log need synchronized clocks, and the
lease duration (default 30 s) should be far above any skew. Fencing keeps the log exact even if they are not.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, insert, select, update

from recorder.errors import LeaseLost
from recorder.store import schema as t
from recorder.store.database import Database, utcnow
from recorder.store.rows import Holder


def new_owner() -> str:
    """An owner name that says which process holds a lease: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead_here(owner: str) -> bool:
    """True when ``owner`` names a process of this host that does not exist any more."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """True when ``pid`` is a zombie: killed, but not yet reaped by its parent. ``os.kill(pid, 0)`` still finds
    it, yet it will never renew a lease (Linux: state ``Z`` in ``/proc/<pid>/stat``; elsewhere: False)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses, so the state follows the last ")".
    rest = text[text.rfind(b")") + 1 :].split()
    return bool(rest) and rest[0] in (b"Z", b"X")


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease held on one session; also the fence passed to ``EventStore.append``."""

    session_id: str
    owner: str
    token: int
    expires_at: datetime

    def check(self, conn: Connection) -> None:
        (failure,) = check_leases(conn, [self])
        if failure is not None:
            raise failure


def check_leases(conn: Connection, leases: Sequence[Lease]) -> list[LeaseLost | None]:
    """Whether each lease is still its session's current one (None) or was lost, in one query: the fences of a
    group commit, checked under the log's write lock."""
    if not leases:
        return []
    sessions = sorted({lease.session_id for lease in leases})
    current: dict[str, tuple[str, int]] = {
        row.session_id: (row.owner, int(row.token))
        for row in conn.execute(
            select(t.leases.c.session_id, t.leases.c.owner, t.leases.c.token).where(
                t.leases.c.session_id.in_(sessions)
            )
        )
    }
    return judge_leases(leases, current)


def judge_leases(leases: Sequence[Lease], current: dict[str, tuple[str, int]]) -> list[LeaseLost | None]:
    """Each lease against its session's current (owner, token): None where it is still the current one."""
    results: list[LeaseLost | None] = []
    for lease in leases:
        owner, token = current.get(lease.session_id, (None, None))
        if owner == lease.owner and token == lease.token:
            results.append(None)
            continue
        holder = f" (now held by {owner})" if owner is not None and owner != lease.owner else ""
        results.append(LeaseLost(
            f"lost the lease on session {lease.session_id}{holder}; another recorder took it over"
        ))
    return results


class Leases:
    """Take, renew and release session leases in the log's database."""

    def __init__(self, db: Database, owner: str | None = None, ttl: float = 30.0) -> None:
        self.db = db
        self.owner = owner or new_owner()
        self.ttl = timedelta(seconds=ttl)

    def acquire(self, session_id: str) -> Lease | Holder:
        """Take the session's lease; returns the Lease, or the current Holder when another recorder has it."""
        now = utcnow()
        expires = now + self.ttl
        with self.db.write() as conn:
            self.db.lock_log(conn)
            row = conn.execute(
                select(t.leases.c.owner, t.leases.c.token, t.leases.c.expires_at).where(
                    t.leases.c.session_id == session_id
                )
            ).first()
            if row is None:
                conn.execute(
                    insert(t.leases).values(
                        session_id=session_id, owner=self.owner, token=1, acquired_at=now, expires_at=expires
                    )
                )
                return Lease(session_id, self.owner, 1, expires)
            if row.owner != self.owner and row.expires_at > now and not _owner_is_dead_here(row.owner):
                return Holder(row.owner, row.expires_at)
            token = int(row.token) + 1
            conn.execute(
                update(t.leases)
                .where(t.leases.c.session_id == session_id)
                .values(owner=self.owner, token=token, acquired_at=now, expires_at=expires)
            )
            return Lease(session_id, self.owner, token, expires)

    def renew(self, lease: Lease) -> Lease:
        """Extend a lease; raises LeaseLost if another recorder took it over meanwhile."""
        expires = utcnow() + self.ttl
        with self.db.write() as conn:
            self.db.lock_log(conn)
            lease.check(conn)
            conn.execute(
                update(t.leases).where(t.leases.c.session_id == lease.session_id).values(expires_at=expires)
            )
        return Lease(lease.session_id, lease.owner, lease.token, expires)

    def release(self, lease: Lease) -> None:
        """Give a lease up (a no-op if it was already taken over). The row stays, expired, so the session's
        fencing token keeps counting up: an old token can never become current again."""
        with self.db.write() as conn:
            release_in(conn, lease)

    def holder(self, session_id: str) -> Holder | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.leases.c.owner, t.leases.c.expires_at).where(t.leases.c.session_id == session_id)
            ).first()
        return Holder(row.owner, row.expires_at) if row is not None else None


def release_in(conn: Connection, lease: Lease) -> None:
    """:meth:`Leases.release` inside a transaction that writes something else too (one commit for both)."""
    conn.execute(
        update(t.leases)
        .where(
            and_(
                t.leases.c.session_id == lease.session_id,
                t.leases.c.owner == lease.owner,
                t.leases.c.token == lease.token,
            )
        )
        .values(expires_at=utcnow())
    )
