"""The text transcript: the same content as the Markdown one, laid out for a terminal, in colour on a TTY.

One line per entry (time, thread, what happened), message text and code indented below it. Colour is ANSI SGR
and only when asked for (the CLI asks when the output is a terminal). Recorded text is always cleaned for a
terminal: control characters and bidi overrides are shown as escapes, so a session cannot drive the terminal.
"""

from __future__ import annotations

import io
import textwrap
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

COLOURS = {"user": "1;36", "agent": "1;32", "system": "35", "thread": "1;34", "tool": "33", "ok": "32",
           "error": "1;31", "status": "36", "muted": "2", "unknown": "35", "header": "1", "dim": "2"}
INDENT = "    "


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, style: str, text: str) -> str:
        if not self.colour or style not in COLOURS:
            return text
        return f"\x1b[{COLOURS[style]}m{text}\x1b[0m"


def _formatter(colour: bool) -> tuple:
    paint = _Style(colour)

    def block(b: Block) -> str:
        lane = paint("dim", f"[{b.lane}] ") if b.lane else ""
        detail = paint("dim", "  " + b.detail.replace("`", "")) if b.detail else ""
        lines = [f"{paint('dim', clock(b.entry.event.processed_at))}  {lane}{paint(b.style, b.title)}{detail}"]
        if b.text:
            lines.append(textwrap.indent(b.text, INDENT, lambda _: True))
        if b.code is not None:
            lines.append(paint("dim" if b.style != "error" else "error", textwrap.indent(b.code, INDENT,
                                                                                          lambda _: True)))
        if b.note:
            lines.append(paint("dim", f"{INDENT}({b.note})"))
        return "\n".join(lines) + "\n" + ("" if b.inline else "\n")

    def day(d: date) -> str:
        return paint("header", f"\n──── {d.isoformat()} ────") + "\n\n"

    def header(summary: Summary) -> str:
        width = max(len(label) for label, _ in summary.facts)
        lines = [paint("header", summary.title), ""]
        lines += [f"{paint('dim', label.ljust(width))}  {value}" for label, value in summary.facts]
        if summary.threads:
            lines += ["", paint("header", "Threads")]
            lines += [f"  {t.thread_id}{' (primary)' if t.primary else ''}  {t.agent} · {t.model} · {t.status} · "
                      f"{t.events:,} events · {t.model_requests:,} model requests · tokens {t.tokens}"
                      for t in summary.threads]
        return "\n".join(lines) + "\n"

    return block, day, header


def write_text(events: Iterable[TimelineEvent], meta: SessionMeta, out: TextIO, *, until: Until | None = None,
               view: str = "all", max_chars: int = 2000, colour: bool = False) -> SessionState:
    """Write the text transcript of ``events`` to ``out`` (ANSI colour if ``colour``)."""
    block, day, header = _formatter(colour)
    return render_streaming(events, meta, out, block=block, day=day, header=header, until=until, view=view,
                            max_chars=max_chars, terminal=True)


def text(events: Iterable[TimelineEvent], meta: SessionMeta, **options: object) -> str:
    """The text transcript as a string."""
    buffer = io.StringIO()
    write_text(events, meta, buffer, **options)  # type: ignore[arg-type]
    return buffer.getvalue()
