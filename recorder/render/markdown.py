"""The Markdown transcript (the default of ``recorder transcript``): a readable conversation.

A header (title, agent, model, status, timing, tokens, list cost, counts, and a table of threads for multi-agent
sessions), then one section per day and the entries in timeline order: user and agent messages in full, tool
calls with their input and (truncated) result and status, confirmations, cross-thread messages, model requests
with their tokens, status changes with stop reasons, errors, and unknown event types with their JSON.
Entries of child threads carry the thread's agent name in brackets.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from datetime import date
from typing import TextIO

from recorder.render.blocks import Block
from recorder.render.display import clock
from recorder.render.stream import render_streaming
from recorder.render.summary import Summary
from recorder.replay.fold import SessionState
from recorder.replay.meta import SessionMeta
from recorder.replay.timeline import TimelineEvent, Until

ICONS = {"user": "👤", "agent": "🤖", "system": "⚙️", "thread": "📨", "error": "⚠️", "unknown": "❓", "status": "•"}
_BACKTICKS = re.compile("`{3,}")


def fence(text: str, lang: str = "") -> str:
    """``text`` in a fenced code block whose fence no run of backticks inside it can close."""
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=2)
    bar = "`" * max(3, longest + 1)
    return f"{bar}{lang}\n{text}\n{bar}\n"


def _block(block: Block) -> str:
    when = clock(block.entry.event.processed_at)
    lane = f"[{block.lane}] " if block.lane else ""
    detail = f" · {block.detail}" if block.detail else ""
    if block.inline:
        return f"\n`{when}` {lane}{block.title}{detail}\n"
    if block.collapsed:
        return (f"\n<details><summary>{lane}{block.title} · {when}</summary>\n\n{block.text or ''}\n\n"
                "</details>\n")
    icon = ICONS.get(block.style, "")
    parts = [f"\n#### {icon + ' ' if icon else ''}{lane}{block.title} · {when}\n"]
    if block.detail:
        parts.append(f"\n{block.detail}\n")
    if block.text:
        parts.append(f"\n{block.text}\n")
    if block.code is not None:
        parts.append("\n" + fence(block.code, block.lang))
    if block.note:
        parts.append(f"\n*({block.note})*\n")
    return "".join(parts)


def _day(day: date) -> str:
    return f"\n## {day.isoformat()}\n"


def _header(summary: Summary) -> str:
    lines = [f"# {summary.title}\n"]
    lines += [f"- **{label}:** {value}" for label, value in summary.facts]
    if summary.threads:
        lines += ["", "| thread | agent | model | status | parent | events | model requests | tokens in / out |",
                  "|---|---|---|---|---|---:|---:|---|"]
        lines += [f"| `{t.thread_id}`{' (primary)' if t.primary else ''} | {t.agent} | {t.model} | {t.status} | "
                  f"{t.parent} | {t.events:,} | {t.model_requests:,} | {t.tokens} |" for t in summary.threads]
    return "\n".join(lines) + "\n"


def write_markdown(events: Iterable[TimelineEvent], meta: SessionMeta, out: TextIO, *, until: Until | None = None,
                   view: str = "all", max_chars: int = 2000) -> SessionState:
    """Write the Markdown transcript of ``events`` to ``out``; returns the folded state (counters only)."""
    return render_streaming(events, meta, out, block=_block, day=_day, header=_header, until=until, view=view,
                            max_chars=max_chars, terminal=False)


def markdown(events: Iterable[TimelineEvent], meta: SessionMeta, **options: object) -> str:
    """The Markdown transcript as a string."""
    buffer = io.StringIO()
    write_markdown(events, meta, buffer, **options)  # type: ignore[arg-type]
    return buffer.getvalue()
