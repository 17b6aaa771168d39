"""The streaming skeleton shared by the Markdown and text transcripts: fold as you go, header last, shown first.

The fold runs with ``keep=False`` (counters and open tool calls / model requests only) and each entry is
formatted as it arrives into a spooled buffer (memory up to ``SPOOL_BYTES``, then a temporary file). When the
timeline ends the header — which needs the totals — is written to the output, then the body is copied after it.
Memory is therefore flat in the length of the session.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from typing import TextIO

from recorder.render.blocks import Block, Describer
from recorder.render.summary import Summary, summarize
from recorder.replay.fold import Folder, SessionState
from recorder.replay.meta import SessionMeta
from recorder.replay.timeline import TimelineEvent, Until

SPOOL_BYTES = 1024 * 1024
CHUNK_CHARS = 256 * 1024


def render_streaming(events: Iterable[TimelineEvent], meta: SessionMeta, out: TextIO, *,
                     block: Callable[[Block], str], day: Callable[[date], str], header: Callable[[Summary], str],
                     until: Until | None, view: str, max_chars: int, terminal: bool) -> SessionState:
    folder = Folder(meta, keep=False, snapshot_cost=until is None)
    describer = Describer(folder.state, max_chars=max_chars, terminal=terminal)
    current: date | None = None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="") as body:
        parts: list[str] = []  # written to the spool in chunks: one write per entry costs more than the entry
        size = 0
        for event in events:
            entry = folder.feed(event)
            described = describer.describe(entry)
            if described is None:
                continue
            when = event.processed_at
            if when is not None and when.date() != current:
                current = when.date()
                parts.append(day(current))
            text = block(described)
            parts.append(text)
            size += len(text)
            if size > CHUNK_CHARS:
                body.write("".join(parts))
                parts.clear()
                size = 0
        body.write("".join(parts))
        state = folder.finish()
        out.write(header(summarize(state, until=until, view=view, terminal=terminal)))
        body.seek(0)
        shutil.copyfileobj(body, out, CHUNK_CHARS)
    return state
