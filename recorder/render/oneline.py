"""One line per event, for ``recorder replay`` in text form: time, thread, type, and what happened.

The fold runs alongside (``keep=False``) so a tool result can name its tool and a model request end its
tokens. Text is cleaned for a terminal and cut to one line of ``width`` characters.
"""

from __future__ import annotations

from recorder.render.blocks import Describer
from recorder.render.plain import COLOURS
from recorder.replay.fold import Folder
from recorder.replay.meta import SessionMeta
from recorder.replay.timeline import TimelineEvent


class OneLine:
    def __init__(self, meta: SessionMeta, *, colour: bool = False, width: int = 160) -> None:
        self.folder = Folder(meta, keep=False, snapshot_cost=False)
        self.describer = Describer(self.folder.state, max_chars=width, terminal=True)
        self.colour = colour
        self.width = width

    def _paint(self, style: str, text: str) -> str:
        if not self.colour or style not in COLOURS:
            return text
        return f"\x1b[{COLOURS[style]}m{text}\x1b[0m"

    def line(self, event: TimelineEvent) -> str:
        entry = self.folder.feed(event)
        block = self.describer.describe(entry)
        when = event.processed_at.strftime("%H:%M:%S.%f")[:-3] if event.processed_at else "--:--:--.---"
        lane = self.describer.label(event.thread_id) if len(self.folder.state.lanes) > 1 else ""
        if block is None:
            style, title, snippet = "muted", f"model request #{entry.request.number if entry.request else '?'} "\
                "started", ""
        else:
            style, title = block.style, block.title
            body = block.text or block.code or block.detail or ""
            snippet = " ".join(body.replace("`", "").split())
        room = max(20, self.width - len(title))
        if len(snippet) > room:
            snippet = snippet[: room - 1] + "…"
        parts = [self._paint("dim", when)]
        if lane:
            parts.append(self._paint("dim", f"[{lane}]"))
        parts.append(self._paint("dim", event.type))
        parts.append(self._paint(style, title) + (f"  {snippet}" if snippet else ""))
        return "  ".join(parts)
