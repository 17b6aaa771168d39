"""API objects (agent, session, thread, file metadata) and the bookkeeping that keeps them current.

A session's snapshot is derived from its events, so it is right at every moment of a live session and identical
for a finished one: ``status`` follows the latest ``session.status_*`` event, ``usage`` sums the ``model_usage``
of every ``span.model_request_end`` in every thread (priced per model into ``list_cost``), ``stats`` and
``updated_at`` follow the event times. Threads are tracked the same way from ``session.thread_status_*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recorder.apiserver.wire import format_micros
from recorder.money import minor_units
from recorder.vocabulary import REQUEST_END, SESSION_STATUS, THREAD_STATUS

# List prices in USD per million tokens: input, output, cache write (5 min), cache read.
PRICES: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {
    "claude-opus-4-7": (Decimal(5), Decimal(25), Decimal("6.25"), Decimal("0.50")),
    "claude-sonnet-4-6": (Decimal(3), Decimal(15), Decimal("3.75"), Decimal("0.30")),
    "claude-haiku-4-5": (Decimal(1), Decimal(5), Decimal("1.25"), Decimal("0.10")),
}
_MILLION = Decimal(1_000_000)

STATUS_OF_EVENT = SESSION_STATUS
THREAD_STATUS_OF_EVENT = THREAD_STATUS


def money(amount: Decimal) -> dict[str, str]:
    """An amount as the API writes it: an integer string of minor units ("2500" is $25.00)."""
    return {"amount": minor_units(amount, "USD"), "currency": "USD"}


@dataclass
class Usage:
    """Token counts of model requests, per model, and what they cost at list price."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cost: Decimal = Decimal(0)
    web_search_requests: int = 0
    web_fetch_requests: int = 0

    def add(self, model: str, model_usage: dict[str, Any]) -> None:
        i, o = model_usage["input_tokens"], model_usage["output_tokens"]
        cr, cw = model_usage["cache_read_input_tokens"], model_usage["cache_creation_input_tokens"]
        self.input_tokens += i
        self.output_tokens += o
        self.cache_read_input_tokens += cr
        self.cache_creation_input_tokens += cw
        p_in, p_out, p_cw, p_cr = PRICES.get(model, PRICES["claude-sonnet-4-6"])
        self.cost += (i * p_in + o * p_out + cw * p_cw + cr * p_cr) / _MILLION

    def merged(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
                     self.cache_read_input_tokens + other.cache_read_input_tokens,
                     self.cache_creation_input_tokens + other.cache_creation_input_tokens,
                     self.cost + other.cost, self.web_search_requests + other.web_search_requests,
                     self.web_fetch_requests + other.web_fetch_requests)

    def as_api(self, active_seconds: float | None) -> dict[str, Any]:
        """The API's usage object (session ``usage``, ``session.usage`` events, thread ``usage``)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": self.cache_creation_input_tokens,
                               "ephemeral_1h_input_tokens": 0},
            "server_tool_use": {"web_search_requests": self.web_search_requests,
                                "web_fetch_requests": self.web_fetch_requests},
            "active_seconds": active_seconds,
            "list_cost": money(self.cost),
        }


# ------------------------------------------------------------------------------------------------ objects

_ALLOW = {"type": "always_allow"}
BUILTIN_TOOLS = ("bash", "edit", "read", "write", "glob", "grep", "web_fetch", "web_search")


def toolset(ask: tuple[str, ...] = ()) -> dict[str, Any]:
    """The built-in agent toolset, with ``ask`` tools needing confirmation."""
    configs = [{"type": name, "name": name, "enabled": True,
                "permission_policy": {"type": "always_ask"} if name in ask else _ALLOW} for name in BUILTIN_TOOLS]
    return {"type": "agent_toolset_20260401", "default_config": {"enabled": True, "permission_policy": _ALLOW},
            "configs": configs}


def mcp_toolset(server: str, tools: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "mcp_toolset", "mcp_server_name": server,
            "default_config": {"enabled": True, "permission_policy": _ALLOW},
            "configs": [{"name": t, "enabled": True, "permission_policy": _ALLOW} for t in tools]}


def custom_tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "custom", "name": name, "description": description,
            "input_schema": {"type": "object", "properties": properties, "required": sorted(properties)}}


@dataclass
class AgentSpec:
    """Enough to write an agent object: the primary agent of a session or the agent of a child thread."""

    id: str
    name: str
    model: str
    version: int = 1
    system: str | None = None
    description: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    mcp_servers: list[dict[str, Any]] = field(default_factory=list)
    skills: list[dict[str, Any]] = field(default_factory=list)

    def as_api(self, *, multiagent: list[AgentSpec] | None = None) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "type": "agent",
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "system": self.system,
            "model": {"id": self.model, "speed": "standard"},
            "tools": self.tools,
            "mcp_servers": self.mcp_servers,
            "skills": self.skills,
            "execution_identity": {"type": "service_account"},
        }
        if multiagent is not None:
            obj["multiagent"] = {"type": "coordinator", "agents": [a.as_api() for a in multiagent]}
        return obj


def file_object(file_id: str, filename: str, mime_type: str, size: int, created: int, session_id: str
                ) -> dict[str, Any]:
    return {"type": "file", "id": file_id, "filename": filename, "mime_type": mime_type, "size_bytes": size,
            "created_at": format_micros(created), "downloadable": True, "expires_at": None,
            "scope": {"type": "session", "id": session_id}}


# ------------------------------------------------------------------------------------------------ tracking


@dataclass
class _Clock:
    """Status periods of a session or thread, for ``stats``."""

    status: str
    since: int
    active: int = 0
    last: int = 0

    def move(self, status: str, at: int) -> None:
        if self.status == "running":
            self.active += at - self.since
        self.status, self.since, self.last = status, at, at

    def active_seconds(self, now: int) -> float:
        running = now - self.since if self.status == "running" else 0
        return round((self.active + max(running, 0)) / 1e6, 3)


@dataclass
class ThreadInfo:
    """A thread as the tracker knows it."""

    id: str
    agent: dict[str, Any]
    model: str
    parent: str | None
    created: int
    clock: _Clock
    usage: Usage = field(default_factory=Usage)
    first_running: int | None = None


@dataclass
class SessionSnapshot:
    """Session-level facts that change with events; objects are rendered from it on request."""

    id: str
    created: int
    title: str
    agent: dict[str, Any]
    environment_id: str
    resources: list[dict[str, Any]]
    metadata: dict[str, str]
    budget: dict[str, Any] | None
    vault_ids: list[str]
    clock: _Clock = field(init=False)
    threads: dict[str, ThreadInfo] = field(default_factory=dict)
    primary_thread: str = ""
    archived_at: int | None = None

    def __post_init__(self) -> None:
        self.clock = _Clock("idle", self.created, last=self.created)

    # --- updates (called with each emitted event, in order)

    def add_thread(self, thread_id: str, agent: dict[str, Any], model: str, parent: str | None, created: int
                   ) -> None:
        self.threads[thread_id] = ThreadInfo(thread_id, agent, model, parent, created,
                                             _Clock("running" if parent else "idle", created, last=created))
        if parent is None:
            self.primary_thread = thread_id

    def observe(self, event: dict[str, Any], thread_id: str, at: int) -> None:
        """Update from one event of ``thread_id`` (its own thread, not where it was cross-posted)."""
        kind = event.get("type")
        self.clock.last = max(self.clock.last, at)
        thread = self.threads.get(thread_id)
        if thread is not None:
            thread.clock.last = max(thread.clock.last, at)
        if kind in STATUS_OF_EVENT:
            self.clock.move(STATUS_OF_EVENT[kind], at)
            primary = self.threads.get(self.primary_thread)
            if primary is not None:
                primary.clock.move(STATUS_OF_EVENT[kind], at)
                if kind == "session.status_running" and primary.first_running is None:
                    primary.first_running = at
        elif kind in THREAD_STATUS_OF_EVENT:
            child = self.threads.get(event.get("session_thread_id", ""))
            if child is not None:
                child.clock.move(THREAD_STATUS_OF_EVENT[kind], at)
                if kind == "session.thread_status_running" and child.first_running is None:
                    child.first_running = at
        elif kind == REQUEST_END and thread is not None:
            thread.usage.add(thread.model, event["model_usage"])
        elif kind == "agent.tool_use" and thread is not None:
            if event.get("name") == "web_search":
                thread.usage.web_search_requests += 1
            elif event.get("name") == "web_fetch":
                thread.usage.web_fetch_requests += 1
        elif kind == "session.updated" and event.get("budget") is not None:
            self.budget = event["budget"]

    def total_usage(self) -> Usage:
        total = Usage()
        for thread in self.threads.values():
            total = total.merged(thread.usage)
        return total

    # --- rendering

    def session_object(self, now: int | None = None) -> dict[str, Any]:
        """The session object. ``now`` (live sessions) extends running time to the present."""
        end = self.clock.since if self.clock.status == "terminated" else (now or self.clock.last)
        active = self.clock.active_seconds(end)
        return {
            "type": "session",
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "created_at": format_micros(self.created),
            "updated_at": format_micros(self.clock.last),
            "archived_at": None if self.archived_at is None else format_micros(self.archived_at),
            "environment_id": self.environment_id,
            "agent": self.agent,
            "resources": self.resources,
            "metadata": self.metadata,
            "budget": self.budget,
            "vault_ids": self.vault_ids,
            "deployment_id": None,
            "outcome_evaluations": [],
            "stats": {"active_seconds": active, "duration_seconds": round((end - self.created) / 1e6, 3)},
            "usage": self.total_usage().as_api(active),
        }

    @property
    def status(self) -> str:
        return self.clock.status

    def thread_object(self, thread_id: str, now: int | None = None) -> dict[str, Any]:
        t = self.threads[thread_id]
        end = t.clock.since if t.clock.status == "terminated" else (now or t.clock.last)
        active = t.clock.active_seconds(end)
        startup = None if t.first_running is None else round((t.first_running - t.created) / 1e6, 3)
        return {
            "type": "session_thread",
            "id": t.id,
            "session_id": self.id,
            "parent_thread_id": t.parent,
            "status": t.clock.status,
            "agent": t.agent,
            "created_at": format_micros(t.created),
            "updated_at": format_micros(t.clock.last),
            "archived_at": None,
            "workflow_run_id": None,
            "stats": {"active_seconds": active, "duration_seconds": round((end - t.created) / 1e6, 3),
                      "startup_seconds": startup},
            "usage": t.usage.as_api(active),
        }
