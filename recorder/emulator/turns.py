"""Later turns: what a session does when a client sends it events after it went idle.

A client's events (``user.message``, ``user.custom_tool_result``, ``user.tool_confirmation``, ``user.interrupt``)
are given ids and emitted at once; then the session runs one more turn, written with the same
:class:`~recorder.emulator.builder.SessionBuilder` vocabulary as the scenarios: ``session.status_running``, model
requests and tool calls, a message, output files, ``session.usage`` (cumulative, filled in from the live session
when applied) and ``session.status_idle`` with ``end_turn``.
"""

from __future__ import annotations

from typing import Any

from recorder.emulator import ids, text
from recorder.emulator.builder import Emission, FileSpec, SessionBuilder
from recorder.emulator.session import EmulatedSession
from recorder.emulator.snapshots import AgentSpec
from recorder.errors import ConfigError

ACCEPTED = ("user.message", "user.custom_tool_result", "user.tool_confirmation", "user.interrupt")


def user_event(seed: int, session: EmulatedSession, turn: int, number: int, raw: dict[str, Any]) -> dict[str, Any]:
    """The event a client sent, as the session records it (an id; ``processed_at`` is set when emitted)."""
    kind = raw.get("type")
    if kind not in ACCEPTED:
        raise ConfigError(f"events[{number}].type: the emulator accepts {', '.join(ACCEPTED)}, not {kind!r}")
    if kind == "user.message" and not isinstance(raw.get("content"), list):
        raise ConfigError(f"events[{number}].content: expected a list of content blocks")
    event_id = "" if kind == "user.interrupt" else ids.make_id("sevt", seed, session.id, "turn", turn, "user", number)
    fields = {k: v for k, v in raw.items() if k not in ("type", "id", "processed_at")}
    return {"type": kind, "id": event_id, **fields}


def next_turn(seed: int, session: EmulatedSession, turn: int, at: int, *, tools: int = 1, files: int = 0,
              answered: list[dict[str, Any]] | None = None) -> tuple[list[Emission], list[FileSpec]]:
    """The emissions (and files) of one more turn of ``session``, starting at ``at``."""
    primary = session.snapshot.primary_thread
    info = session.snapshot.threads[primary]
    agent = AgentSpec(id=str(info.agent.get("id", "")), name=str(info.agent.get("name", "agent")), model=info.model)
    b = SessionBuilder(seed, f"{session.id}/turn{turn}", session.scenario, at, agent, title=session.snapshot.title)
    b.session_id, b.primary, b.thread_agents = session.id, primary, {primary: agent}
    b._usage_view.add_thread(primary, {}, info.model, None, at)
    b.live_usage = True
    b.running()
    for event in answered or []:
        if event["type"] == "user.tool_confirmation":
            allowed = event.get("result") == "allow"
            b.tool_result(str(event.get("tool_use_id", "")), "done" if allowed else "Tool use denied by the user.",
                          is_error=not allowed)
    b.turn(tools=tools, error_rate=0.0)
    for k in range(files):
        body = f"# Turn {turn + 1}\n\n{text.paragraph(b.r, 2)}\n".encode()
        b.file(f"turn{turn + 1}-{k + 1}.md", "text/markdown", body)
    b.idle()
    return b.emissions, b.files
