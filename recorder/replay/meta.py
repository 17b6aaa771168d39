"""What the log knows about a session besides its events: the latest session and thread snapshots.

Snapshots are the API's own session/thread objects (secrets scrubbed by the recorder). They name the primary
agent and its model, each thread's agent and parent, and carry status, usage and ``list_cost``. Everything here
is optional: a log may hold events of a session whose snapshot was never taken, and a fold must still work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recorder.store import StreamReads


@dataclass(frozen=True, slots=True)
class ThreadMeta:
    """One thread of a session as its snapshot describes it."""

    thread_id: str
    parent_thread_id: str | None = None
    agent_name: str | None = None
    model: str | None = None
    status: str | None = None
    snapshot: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SessionMeta:
    """A session's latest snapshot and its threads (the primary thread first, when known)."""

    session_id: str
    snapshot: dict[str, Any] | None = None
    threads: tuple[ThreadMeta, ...] = ()

    @property
    def primary_thread_id(self) -> str | None:
        for thread in self.threads:
            if thread.snapshot is not None and thread.parent_thread_id is None:
                return thread.thread_id
        return None

    def thread(self, thread_id: str | None) -> ThreadMeta | None:
        for thread in self.threads:
            if thread.thread_id == thread_id:
                return thread
        return None

    @property
    def title(self) -> str | None:
        return _str(self.snapshot, "title")

    @property
    def status(self) -> str | None:
        return _str(self.snapshot, "status")

    @property
    def created_at(self) -> str | None:
        return _str(self.snapshot, "created_at")

    @property
    def agent_name(self) -> str | None:
        return agent_name(self.snapshot)

    @property
    def model(self) -> str | None:
        return agent_model(self.snapshot)


def _str(obj: dict[str, Any] | None, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def agent_name(obj: dict[str, Any] | None) -> str | None:
    """The agent name in a session or thread object."""
    agent = obj.get("agent") if isinstance(obj, dict) else None
    name = agent.get("name") if isinstance(agent, dict) else None
    return name if isinstance(name, str) else None


def agent_model(obj: dict[str, Any] | None) -> str | None:
    """The model id in a session or thread object (``agent.model`` is an object with an id, or a string)."""
    agent = obj.get("agent") if isinstance(obj, dict) else None
    model = agent.get("model") if isinstance(agent, dict) else None
    if isinstance(model, dict):
        model = model.get("id")
    return model if isinstance(model, str) else None


def thread_meta(thread_id: str, obj: dict[str, Any] | None) -> ThreadMeta:
    parent = obj.get("parent_thread_id") if isinstance(obj, dict) else None
    return ThreadMeta(thread_id=thread_id, parent_thread_id=parent if isinstance(parent, str) else None,
                      agent_name=agent_name(obj), model=agent_model(obj), status=_str(obj, "status"), snapshot=obj)


def meta_from_objects(session_id: str, session: dict[str, Any] | None,
                      threads: Sequence[dict[str, Any]] = ()) -> SessionMeta:
    """A SessionMeta from API objects (a session object and its thread objects)."""
    metas = [thread_meta(str(obj.get("id")), obj) for obj in threads if isinstance(obj, dict)]
    return SessionMeta(session_id, session, _primary_first(metas))


def _primary_first(threads: list[ThreadMeta]) -> tuple[ThreadMeta, ...]:
    primary = [t for t in threads if t.snapshot is not None and t.parent_thread_id is None]
    return tuple(primary[:1] + [t for t in threads if t not in primary[:1]])


def load_meta(store: StreamReads, session_id: str) -> SessionMeta:
    """The session's snapshots from the log (NotFound if the session is not recorded)."""
    store.require_session(session_id)
    threads = [thread_meta(tid, store.latest_snapshot(session_id, tid)) for tid in store.thread_ids(session_id)]
    return SessionMeta(session_id, store.latest_snapshot(session_id), _primary_first(threads))
