"""Writing a session as a script: the events of every thread, in the order they happen, with their times.

A scenario drives a :class:`SessionBuilder` (``b.user_message(...)``, ``b.tool_use(...)``, ``b.spawn(...)``);
the builder keeps one synthetic clock for the whole session, so appending emissions in order keeps
``processed_at`` non-decreasing in every stream, with some exact ties. Each :class:`Emission` names the thread
that owns the event and the streams it appears in (same dict, same id, same JSON in each):

* an event of the primary thread goes to the primary thread's stream and to the session stream;
* an event of a child thread goes to that thread's stream only, unless it is one the API cross-posts to the
  session stream: ``session.thread_created``, ``session.thread_status_*``, ``agent.thread_message_sent`` and
  ``agent.thread_message_received`` (same bytes in both streams);
* a child thread's *blocking* events (``agent.custom_tool_use``, an ``agent.tool_use`` or ``agent.mcp_tool_use``
  that needs confirmation) and the client's answers to them are cross-posted too, but differently: the session
  stream's copy has ``session_thread_id`` set to the thread, the thread's own copy has none. Same id, different
  bytes (:attr:`Emission.session_copy`).

``idle()`` always emits a ``session.usage`` (cumulative usage and cost) just before the ``session.status_idle``.

The script is then either materialized at once (a finished session, times as written) or played back in real
time by a live session (times replaced by the wall clock, see :mod:`recorder.emulator.session`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recorder.apiserver.wire import format_micros
from recorder.emulator import ids, text
from recorder.emulator.snapshots import PRICES, AgentSpec, SessionSnapshot, Usage, file_object, money
from recorder.vocabulary import REQUEST_END, THREAD_CROSS_POSTED

CROSS_POSTED = THREAD_CROSS_POSTED


@dataclass
class NewThread:
    """A child thread that comes into being with an emission (its ``session.thread_created``)."""

    id: str
    agent: AgentSpec
    parent: str


@dataclass
class Emission:
    """One event of a script."""

    event: dict[str, Any]
    thread: str  # the thread that owns the event
    targets: tuple[str | None, ...]  # streams it appears in: None is the session stream, else a thread id
    at: int  # synthetic time, microseconds since the epoch
    queued_steps: int = 0  # live playback: echo it queued (processed_at null) this many steps earlier
    new_thread: NewThread | None = None
    session_copy: dict[str, Any] | None = None  # extra fields of the session stream's copy (blocking cross-posts)
    fill_usage: bool = False  # a session.usage whose usage is taken from the live session when it is applied


@dataclass
class FileSpec:
    id: str
    filename: str
    mime_type: str
    content: bytes
    created: int


@dataclass
class Script:
    """A whole session: its initial snapshot, its emissions in order and the files it wrote."""

    scenario: str
    snapshot: SessionSnapshot
    primary_agent: AgentSpec
    emissions: list[Emission]
    files: list[FileSpec] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        return self.snapshot.id

    def file_objects(self) -> list[dict[str, Any]]:
        return [file_object(f.id, f.filename, f.mime_type, len(f.content), f.created, self.session_id)
                for f in self.files]


class SessionBuilder:
    """Accumulates a session's emissions. ``key`` makes ids unique per session; the seed makes them reproducible."""

    def __init__(self, seed: int, key: str, scenario: str, start: int, agent: AgentSpec, *, title: str,
                 children: list[AgentSpec] | None = None, resources: list[dict[str, Any]] | None = None,
                 budget: dict[str, Any] | None = None, metadata: dict[str, str] | None = None) -> None:
        self.seed, self.key, self.scenario = seed, key, scenario
        self.r = ids.rng(seed, key, "script")
        self.clock = start
        self.session_id = ids.make_id("sesn", seed, key)
        self.primary = ids.make_id("sthr", seed, key, "primary")
        self.agent = agent
        self.snapshot = SessionSnapshot(
            id=self.session_id, created=start, title=title,
            agent=agent.as_api(multiagent=children), environment_id=ids.make_id("env", seed, "environment"),
            resources=resources if resources is not None else default_resources(seed, key, start),
            metadata=metadata or {}, budget=budget, vault_ids=[ids.make_id("vlt", seed, "vault")])
        self.snapshot.add_thread(self.primary, agent.as_api(), agent.model, None, start)
        self._usage_view = SessionSnapshot(**{k: getattr(self.snapshot, k) for k in (
            "id", "created", "title", "agent", "environment_id", "resources", "metadata", "budget", "vault_ids")})
        self._usage_view.add_thread(self.primary, {}, agent.model, None, start)
        self.emissions: list[Emission] = []
        self.files: list[FileSpec] = []
        self.thread_agents: dict[str, AgentSpec] = {self.primary: agent}
        self.live_usage = False  # continuations: session.usage is filled in from the live session
        self._count = 0

    # ------------------------------------------------------------------------------------------- core

    def tick(self, lo: float = 0.05, hi: float = 2.5, tie: float = 0.12) -> int:
        """Advance the clock by a random number of seconds in [lo, hi], or not at all with probability ``tie``."""
        if self.r.random() >= tie:
            self.clock += int(self.r.uniform(lo, hi) * 1_000_000) + self.r.randrange(1, 1000)
        return self.clock

    def new_id(self) -> str:
        self._count += 1
        return ids.make_id("sevt", self.seed, self.key, self._count)

    def emit(self, event_type: str, fields: dict[str, Any] | None = None, *, thread: str | None = None,
             event_id: str | None = None, tick: bool = True, queued_steps: int = 0,
             new_thread: NewThread | None = None, blocking: bool = False) -> str:
        """Append one event owned by ``thread`` (default: the primary thread); returns its id. ``blocking``: a
        child thread's blocking event (or the answer to one), cross-posted with ``session_thread_id`` set."""
        if tick:
            self.tick()
        owner = thread or self.primary
        eid = self.new_id() if event_id is None else event_id
        event: dict[str, Any] = {"type": event_type, "id": eid, **(fields or {}),
                                 "processed_at": format_micros(self.clock)}
        session_copy = None
        if owner == self.primary:
            targets: tuple[str | None, ...] = (None, owner)
        elif event_type in CROSS_POSTED:
            targets = (owner, None)
        elif blocking:
            targets, session_copy = (owner, None), {"session_thread_id": owner}
        else:
            targets = (owner,)
        if new_thread is not None:
            self._usage_view.add_thread(new_thread.id, {}, new_thread.agent.model, new_thread.parent, self.clock)
        self._usage_view.observe(event, owner, self.clock)
        self.emissions.append(Emission(event, owner, targets, self.clock, queued_steps, new_thread, session_copy,
                                       fill_usage=self.live_usage and event_type == "session.usage"))
        return eid

    def usage_so_far(self) -> Usage:
        return self._usage_view.total_usage()

    def build(self) -> Script:
        return Script(self.scenario, self.snapshot, self.agent, self.emissions, self.files)

    # ------------------------------------------------------------------------------------------- vocabulary

    def user_message(self, body: str, *, queued_steps: int = 0, extra: dict[str, Any] | None = None) -> str:
        return self.emit("user.message", {"content": [{"type": "text", "text": body}], **(extra or {})},
                         queued_steps=queued_steps)

    def system_message(self, body: str) -> str:
        return self.emit("system.message", {"content": [{"type": "text", "text": body}]})

    def running(self) -> str:
        return self.emit("session.status_running", tick=False)

    def idle(self, stop_reason: dict[str, Any] | None = None) -> str:
        """``session.usage`` then ``session.status_idle`` (``end_turn`` unless told otherwise)."""
        if not self.emissions or self.emissions[-1].event["type"] != "session.usage":
            self.usage_event()
        return self.emit("session.status_idle", {"stop_reason": stop_reason or {"type": "end_turn"},
                                                 "stop_details": None})

    def rescheduled(self) -> str:
        return self.emit("session.status_rescheduled")

    def terminated(self) -> str:
        for thread_id in self.thread_agents:
            if thread_id != self.primary and self.snapshot_status(thread_id) != "terminated":
                self.thread_status(thread_id, "terminated")
        return self.emit("session.status_terminated")

    def snapshot_status(self, thread_id: str) -> str:
        return self._usage_view.threads[thread_id].clock.status

    def span_start(self, thread: str | None = None) -> str:
        return self.emit("span.model_request_start", thread=thread)

    def span_end(self, start_id: str, thread: str | None = None, *, is_error: bool = False,
                 scale: float = 1.0) -> str:
        r = self.r
        usage = {
            "input_tokens": int(r.randint(200, 4000) * scale),
            "output_tokens": int(r.randint(20, 1500) * scale),
            "cache_read_input_tokens": int(r.randint(0, 60000) * scale),
            "cache_creation_input_tokens": int(r.choice([0, 0, r.randint(100, 8000)]) * scale),
            "speed": "standard",
        }
        return self.emit(REQUEST_END, {"model_request_start_id": start_id, "is_error": is_error,
                                                    "model_usage": usage}, thread=thread, tick=False)

    def thinking(self, thread: str | None = None) -> str:
        return self.emit("agent.thinking", thread=thread)

    def agent_message(self, body: str, thread: str | None = None, *, extra: dict[str, Any] | None = None) -> str:
        return self.emit("agent.message", {"content": [{"type": "text", "text": body}], **(extra or {})},
                         thread=thread)

    def tool_use(self, name: str, tool_input: dict[str, Any], thread: str | None = None, *,
                 permission: str | None = "allow") -> str:
        fields: dict[str, Any] = {"name": name, "input": tool_input, "evaluated_permission": permission}
        return self.emit("agent.tool_use", fields, thread=thread, blocking=permission == "ask")

    def tool_result(self, tool_use_id: str, body: str | list[dict[str, Any]], thread: str | None = None, *,
                    is_error: bool = False) -> str:
        content = [{"type": "text", "text": body}] if isinstance(body, str) else body
        return self.emit("agent.tool_result", {"tool_use_id": tool_use_id, "content": content, "is_error": is_error},
                         thread=thread)

    def mcp_tool_use(self, server: str, name: str, tool_input: dict[str, Any], thread: str | None = None) -> str:
        return self.emit("agent.mcp_tool_use", {"mcp_server_name": server, "name": name, "input": tool_input,
                                                "evaluated_permission": "allow"}, thread=thread)

    def mcp_tool_result(self, use_id: str, body: str, thread: str | None = None, *, is_error: bool = False) -> str:
        return self.emit("agent.mcp_tool_result", {"mcp_tool_use_id": use_id,
                                                   "content": [{"type": "text", "text": body}],
                                                   "is_error": is_error}, thread=thread)

    def custom_tool_use(self, name: str, tool_input: dict[str, Any], thread: str | None = None) -> str:
        return self.emit("agent.custom_tool_use", {"name": name, "input": tool_input}, thread=thread,
                         blocking=True)

    def custom_tool_result(self, use_id: str, body: str, *, is_error: bool = False, thread: str | None = None
                           ) -> str:
        return self.emit("user.custom_tool_result", {"custom_tool_use_id": use_id,
                                                     "content": [{"type": "text", "text": body}],
                                                     "is_error": is_error}, thread=thread, blocking=True)

    def tool_confirmation(self, tool_use_id: str, allow: bool, deny_message: str | None = None,
                          thread: str | None = None) -> str:
        return self.emit("user.tool_confirmation", {"tool_use_id": tool_use_id,
                                                    "result": "allow" if allow else "deny",
                                                    "deny_message": deny_message}, thread=thread, blocking=True)

    def interrupt(self, thread: str | None = None) -> str:
        """A ``user.interrupt`` as the API sends it: with an empty id (never at the same instant as another)."""
        self.tick(tie=0)
        return self.emit("user.interrupt", {"session_thread_id": thread}, event_id="", tick=False)

    def compaction(self, thread: str | None = None) -> str:
        return self.emit("agent.thread_context_compacted", thread=thread)

    def error(self, error: dict[str, Any]) -> str:
        return self.emit("session.error", {"error": error})

    def usage_event(self) -> str:
        """A ``session.usage`` event with the cumulative usage and cost so far."""
        active = round((self.clock - self.snapshot.created) / 1e6, 3)
        fields: dict[str, Any] = {"usage": self.usage_object(active)}
        if self._usage_view.budget is not None:
            fields["budget"] = self._usage_view.budget
        return self.emit("session.usage", fields, tick=False)

    def usage_object(self, active_seconds: float) -> dict[str, Any]:
        """The cumulative usage object of a ``session.usage`` emitted now."""
        return self.usage_so_far().as_api(active_seconds)

    def updated(self, **changes: Any) -> str:
        return self.emit("session.updated", changes)

    def spawn(self, agent: AgentSpec, parent: str | None = None) -> str:
        """Start a child thread running ``agent``: ``session.thread_created`` then ``..._status_running``."""
        if parent not in (None, self.primary):
            raise ValueError("one level of delegation: only the primary thread spawns subagents")
        thread_id = ids.make_id("sthr", self.seed, self.key, "child", len(self.thread_agents))
        self.thread_agents[thread_id] = agent
        new = NewThread(thread_id, agent, parent or self.primary)
        self.emit("session.thread_created", {"session_thread_id": thread_id, "agent_name": agent.name,
                                             "workflow_run_id": None}, thread=thread_id, new_thread=new)
        self.thread_status(thread_id, "running")
        return thread_id

    def thread_status(self, thread_id: str, status: str, stop_reason: dict[str, Any] | None = None) -> str:
        fields: dict[str, Any] = {"session_thread_id": thread_id, "agent_name": self.thread_agents[thread_id].name}
        if status == "idle":
            fields["stop_reason"] = stop_reason or {"type": "end_turn"}
            fields["stop_details"] = None
        return self.emit(f"session.thread_status_{status}", fields, thread=thread_id)

    def thread_message(self, sender: str, receiver: str, body: str) -> tuple[str, str]:
        """A message between threads: ``agent.thread_message_sent`` in the sender's thread, then
        ``agent.thread_message_received`` in the receiver's (two events, two ids)."""
        content = [{"type": "text", "text": body}]
        sent = self.emit("agent.thread_message_sent", {
            "to_session_thread_id": receiver, "to_agent_name": self.thread_agents[receiver].name,
            "content": content}, thread=sender)
        received = self.emit("agent.thread_message_received", {
            "from_session_thread_id": sender, "from_agent_name": self.thread_agents[sender].name,
            "content": content}, thread=receiver)
        return sent, received

    def file(self, filename: str, mime_type: str, content: bytes) -> str:
        file_id = ids.make_id("file", self.seed, self.key, filename)
        self.files.append(FileSpec(file_id, filename, mime_type, content, self.clock))
        return file_id

    # ------------------------------------------------------------------------------------------- phrases

    def turn(self, thread: str | None = None, *, tools: int = 1, error_rate: float = 0.2) -> None:
        """A typical agent turn: model request, thinking, tool calls with results, a final message."""
        r = self.r
        for _ in range(tools):
            start = self.span_start(thread)
            if r.random() < 0.5:
                self.thinking(thread)
            name, tool_input = self.pick_tool()
            use = self.tool_use(name, tool_input, thread)
            self.span_end(start, thread)
            failed = r.random() < error_rate
            body = (f"Error: command exited with status {r.randint(1, 127)}\n" + text.command_output(r, 3)
                    if failed else text.command_output(r, r.randint(2, 12)))
            self.tool_result(use, body, thread, is_error=failed)
        start = self.span_start(thread)
        self.agent_message(text.paragraph(r, r.randint(1, 4)), thread)
        self.span_end(start, thread)

    def pick_tool(self) -> tuple[str, dict[str, Any]]:
        r = self.r
        name = r.choice(("bash", "bash", "read", "grep", "glob", "edit", "write", "web_search", "web_fetch"))
        word = r.choice(text.WORDS)
        inputs: dict[str, dict[str, Any]] = {
            "bash": {"command": f"pytest -q tests/test_{word}.py", "timeout": r.choice([60, 120, 600])},
            "read": {"file_path": f"/workspace/widgets/src/{word}.py"},
            "grep": {"pattern": f"def {word}", "path": "/workspace/widgets"},
            "glob": {"pattern": f"**/*{word}*.py"},
            "edit": {"file_path": f"/workspace/widgets/src/{word}.py", "old_string": word,
                     "new_string": word.upper()},
            "write": {"file_path": f"/workspace/widgets/notes/{word}.md", "content": text.sentence(r)},
            "web_search": {"query": f"{word} {r.choice(text.WORDS)} best practice"},
            "web_fetch": {"url": f"https://docs.example.com/{word}"},
        }
        return name, inputs[name]


def default_resources(seed: int, key: str, created: int) -> list[dict[str, Any]]:
    """A session's mounted resources: a GitHub repository (with a credential the recorder must scrub), an input
    file and a memory store."""
    r = ids.rng(seed, key, "resources")
    when = format_micros(created)
    token = "ghp_" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                             for _ in range(36))
    return [
        {"type": "github_repository", "id": ids.make_id("sesrsc", seed, key, "repo"),
         "url": "https://github.com/acme/widgets", "mount_path": "/workspace/widgets",
         "checkout": {"type": "branch", "name": "main"}, "authorization_token": token,
         "created_at": when, "updated_at": when},
        {"type": "file", "id": ids.make_id("sesrsc", seed, key, "file"),
         "file_id": ids.make_id("file", seed, key, "input"), "mount_path": "/workspace/input/brief.pdf",
         "created_at": when, "updated_at": when},
        {"type": "memory_store", "memory_store_id": ids.make_id("memstore", seed, "team-notes"),
         "name": "team-notes", "description": "Shared notes of the platform team", "access": "read_write",
         "mount_path": "/memories/team-notes", "instructions": None},
    ]


# ------------------------------------------------------------------------------------------------ the rest of the API


def image_block(r: Any, source: str = "base64") -> dict[str, Any]:
    """An image content block (``base64`` with a small PNG, ``url`` or ``file``)."""
    if source == "url":
        return {"type": "image", "source": {"type": "url", "url": "https://example.com/screenshots/ci-red.png"}}
    if source == "file":
        return {"type": "image", "source": {"type": "file", "file_id": ids.make_id("file", r.random())}}
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + r.randbytes(600)).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}


def document_block(r: Any, source: str = "base64", title: str | None = "spec.pdf") -> dict[str, Any]:
    """A document content block (``base64`` PDF, ``text``, ``url`` or ``file``), with a title and context."""
    if source == "text":
        src: dict[str, Any] = {"type": "text", "media_type": "text/plain", "data": text.paragraph(r, 3)}
    elif source == "url":
        src = {"type": "url", "url": "https://example.com/docs/runbook.pdf"}
    elif source == "file":
        src = {"type": "file", "file_id": ids.make_id("file", r.random())}
    else:
        src = {"type": "base64", "media_type": "application/pdf",
               "data": base64.b64encode(b"%PDF-1.7\n" + r.randbytes(1500)).decode()}
    return {"type": "document", "source": src, "title": title, "context": "Attached by the user"}


class AdvisorSpec(AgentSpec):
    """The platform advisor (``agent: {type: advisor}``): its threads run the agent ``anthropic.advisor``."""

    def as_api(self, *, multiagent: list[AgentSpec] | None = None) -> dict[str, Any]:
        return {"type": "advisor", "model": self.model}


class FullBuilder(SessionBuilder):
    """A :class:`SessionBuilder` that also writes the events the basic vocabulary lacks: self-hosted tool results,
    refusals, outcome graders, workflow runs and usage with 1-hour cache writes.

    It follows the same life cycle: a refusal is an idle (``stop_reason: refusal``) with ``session.usage`` just
    before it; a child thread's blocking events go through :meth:`SessionBuilder.emit` with ``blocking=True`` (the
    session stream's copy gets ``session_thread_id``). ``session.deleted`` is never written into a script: it is
    what an open stream receives when the session is deleted (:meth:`recorder.emulator.Emulator.delete`), and a
    deleted session has no history left to list."""

    one_hour_cache_writes: int = 0  # how many of the cache writes so far were made with a 1-hour TTL

    def self_hosted_result(self, tool_use_id: str, body: str | list[dict[str, Any]], thread: str | None = None, *,
                           is_error: bool = False) -> str:
        """``user.tool_result``: the client's answer to an ``agent.tool_use`` in a self-hosted environment (in a child
        thread, cross-posted to the session stream like any answer to a blocking event)."""
        content = [{"type": "text", "text": body}] if isinstance(body, str) else body
        return self.emit("user.tool_result", {"tool_use_id": tool_use_id, "content": content, "is_error": is_error},
                         thread=thread, blocking=True)

    def refusal(self, category: str | None, explanation: str | None, thread: str | None = None) -> str:
        """An idle with ``stop_reason: refusal`` and its ``stop_details``: the session's (``session.usage`` just
        before it, as before every idle) or a child thread's (``session.thread_status_idle``)."""
        details = {"type": "refusal", "category": category, "explanation": explanation}
        if thread is None or thread == self.primary:
            if not self.emissions or self.emissions[-1].event["type"] != "session.usage":
                self.usage_event()
            return self.emit("session.status_idle", {"stop_reason": {"type": "refusal"}, "stop_details": details})
        return self.emit("session.thread_status_idle", {
            "session_thread_id": thread, "agent_name": self.thread_agents[thread].name,
            "stop_reason": {"type": "refusal"}, "stop_details": details}, thread=thread)

    def define_outcome(self, description: str, rubric: dict[str, Any], max_iterations: int = 3) -> str:
        outcome_id = ids.make_id("outc", self.seed, self.key, len(self.emissions))
        self.emit("user.define_outcome", {"outcome_id": outcome_id, "description": description, "rubric": rubric,
                                          "max_iterations": max_iterations})
        return outcome_id

    def grade(self, outcome_id: str, iteration: int, result: str, explanation: str, usage: dict[str, Any], *,
              heartbeats: int = 1) -> str:
        """One grader iteration (0-based): ``span.outcome_evaluation_start``, heartbeats, ``..._end``."""
        started = self.emit("span.outcome_evaluation_start", {"outcome_id": outcome_id, "iteration": iteration})
        for _ in range(heartbeats):
            self.tick(5.0, 15.0, tie=0)
            self.emit("span.outcome_evaluation_ongoing", {"outcome_id": outcome_id, "iteration": iteration},
                      tick=False)
        return self.emit("span.outcome_evaluation_end", {
            "outcome_evaluation_start_id": started, "outcome_id": outcome_id, "iteration": iteration,
            "result": result, "explanation": explanation, "usage": usage})

    def span_end_usage(self, start_id: str, model_usage: dict[str, Any], thread: str | None = None) -> str:
        """A ``span.model_request_end`` with the given ``model_usage`` (for figures a scenario must control)."""
        return self.emit(REQUEST_END, {"model_request_start_id": start_id, "is_error": False,
                                                    "model_usage": model_usage}, thread=thread, tick=False)

    def cache_ttl_1h(self, tokens: int) -> None:
        """Say that ``tokens`` of the cache writes so far were made with a 1-hour TTL: every ``session.usage`` from
        now on splits ``cache_creation`` accordingly and prices them at twice the input rate (against 1.25 times
        for 5-minute writes)."""
        self.one_hour_cache_writes = tokens

    def usage_object(self, active_seconds: float) -> dict[str, Any]:
        usage = self.usage_so_far()
        obj = usage.as_api(active_seconds)
        one_hour = min(self.one_hour_cache_writes, usage.cache_creation_input_tokens)
        if one_hour:
            obj["cache_creation"] = {"ephemeral_5m_input_tokens": usage.cache_creation_input_tokens - one_hour,
                                     "ephemeral_1h_input_tokens": one_hour}
            price_in = PRICES.get(self.agent.model, PRICES["claude-sonnet-4-6"])[0]
            extra = one_hour * price_in * (Decimal(2) - Decimal("1.25")) / Decimal(1_000_000)
            obj["list_cost"] = money(usage.cost + extra)
        return obj

    def workflow_run(self, name: str, phases: list[str], *, description: str | None = None) -> tuple[str, list[str]]:
        """``workflow_run.created`` with its phases; returns (run id, phase ids)."""
        run_id = ids.make_id("wfrun", self.seed, self.key, name)
        phase_ids = [ids.make_id("wfphase", self.seed, self.key, name, p) for p in phases]
        self.emit("workflow_run.created", {
            "workflow_run_id": run_id, "name": name, "description": description,
            "phases": [{"id": pid, "name": p, "description": f"Phase {p}"} for pid, p in zip(phase_ids, phases,
                                                                                          strict=True)]})
        return run_id, phase_ids

    def workflow_event(self, event_type: str, run_id: str | None, **fields: Any) -> str:
        return self.emit(event_type, {"workflow_run_id": run_id, **fields})
