"""The HTML transcript: one self-contained file that reads like a session viewer (``--format html``).

The page is static HTML (title, usage/cost summary, thread lanes) plus the session as JSON in a
``<script type="application/json">`` element and a small script that builds the timeline from it. Nothing is
loaded from anywhere: no external resources, and a Content-Security-Policy of ``default-src 'none'`` (inline
style and script only) makes sure nothing recorded can trigger a load either. Recorded text only ever reaches the
DOM through ``textContent``.

What the script shows: rows in timeline order, each model request a group (model, tokens, duration) holding what
its thread did during it; tool calls as collapsible cards with their input, result (status, duration) and
confirmation; messages, cross-thread messages, status changes with stop reasons, errors and unknown events. Lanes:
one per thread (colour, agent, model, status), shown as columns or stacked by depth, each one can be hidden. A
filter box matches ids, types, tool names and text. Every event has an anchor (``#ev-<event id>``; events with an
empty id use their key) that scrolls to it, opening its card.

It stays responsive for 100,000-event sessions: rows are built lazily, a few hundred at a time as the page is
scrolled (and up to an event when its anchor is opened); the filter runs over the data, not the DOM. Long tool
results are cut to ``max_chars`` in the page (with a note); messages are kept whole.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import tempfile
from collections.abc import Iterable
from typing import Any, TextIO

from recorder.render import html_assets
from recorder.render.blocks import Block, Describer
from recorder.render.deferred import CHUNK_CHARS, Document, Slot
from recorder.render.stream import SPOOL_BYTES
from recorder.render.summary import summarize
from recorder.replay.fold import Entry, Folder, OutcomeEvaluation, SessionState
from recorder.replay.meta import SessionMeta
from recorder.replay.timeline import TimelineEvent, Until

PALETTE = ("#2f6fdf", "#d9480f", "#2b8a3e", "#9c36b5", "#c2255c", "#0b7285", "#e67700", "#5f3dc4", "#087f5b",
           "#862e9c")
HTML_MAX_CHARS = 20_000
_SURROGATE = re.compile("[\ud800-\udfff]")


def _block_dict(block: Block) -> dict[str, Any]:
    out: dict[str, Any] = {"style": block.style, "title": block.title}
    for name in ("detail", "text", "code", "note"):
        value = getattr(block, name)
        if value:
            out[name] = value
    if block.detail:
        out["detail"] = block.detail.replace("`", "")  # Markdown code marks around ids
    if block.inline:
        out["inline"] = 1
    if block.collapsed:
        out["collapsed"] = 1
    return out


def _row_base(entry: Entry, lane: int) -> dict[str, Any]:
    """What every row of the page carries: the event's id (or key, for one without an id), type, kind, lane, time."""
    event = entry.event
    out: dict[str, Any] = {"id": event.event_id, "type": event.type, "kind": entry.kind, "lane": lane,
                           "t": event.time}
    if not event.event_id:
        out["key"] = event.key
    return out


class _Builder:
    """Rows for the page: entries, model-request groups, tool results folded into their calls."""

    def __init__(self, state: SessionState, max_chars: int) -> None:
        self.state = state
        self.describer = Describer(state, max_chars=max_chars)
        lanes = sorted(state.lanes.values(), key=lambda lane: lane.order)
        self.lane_index = {lane.thread_id: n for n, lane in enumerate(lanes)}
        self.rows: list[dict[str, Any]] = []
        self.groups: dict[str, dict[str, Any]] = {}  # model request start id -> its group row
        self.cards: dict[str, dict[str, Any]] = {}  # tool use id -> its card

    def lane(self, thread_id: str | None) -> int:
        return self.lane_index.get(thread_id, 0) if thread_id is not None else 0

    def base(self, entry: Entry) -> dict[str, Any]:
        return _row_base(entry, self.lane(entry.event.thread_id))

    def add(self, entry: Entry) -> None:
        kind = entry.kind
        request = entry.request
        if kind == "request_start" and request is not None:
            group = {**self.base(entry), "group": 1, "n": request.number, "model": request.model, "items": []}
            self.groups[request.id] = group
            self.rows.append(group)
            return
        if kind == "request_end" and request is not None and request.id in self.groups:
            group = self.groups.pop(request.id)
            block = self.describer.describe(entry)
            group.update(end=entry.event.event_id, title=block.title if block else "", detail=block.detail if block
                         else None, style=block.style if block else "muted")
            return
        if kind in ("tool_result", "tool_confirmation") and entry.tool is not None and entry.tool.id in self.cards:
            block = self.describer.describe(entry)
            if block is not None:
                card = self.cards[entry.tool.id]
                extra = {**_block_dict(block), "id": entry.event.event_id, "t": entry.event.time}
                if kind == "tool_result":
                    card["res"] = extra
                    card["status"] = entry.tool.status
                else:
                    card["conf"] = extra
                    card["status"] = entry.tool.status
            return
        block = self.describer.describe(entry)
        if block is None:
            return
        item = {**self.base(entry), **_block_dict(block)}
        if kind == "tool_use" and entry.tool is not None:
            item["tool"] = entry.tool.name or "tool"
            item["status"] = entry.tool.status
            self.cards[entry.event.event_id] = item
        target = self.groups.get(request.id) if request is not None else None
        (target["items"] if target is not None else self.rows).append(item)


def page_data(state: SessionState, *, until: Until | None = None, view: str = "all",
              max_chars: int = HTML_MAX_CHARS) -> dict[str, Any]:
    """Everything the page's script needs, as JSON-ready data."""
    builder = _Builder(state, max_chars)
    for entry in state.entries:
        builder.add(entry)
    for group in builder.groups.values():  # requests still open where the timeline stops
        group.update(title=f"model request #{group['n']} (in progress)", style="muted")
    return {"session": state.session_id, "events": state.events, "lanes": _lane_rows(state), "rows": builder.rows,
            "until": until.describe() if until else None, "view": view}


def _script_json(data: Any) -> str:
    """JSON text safe inside a ``<script>`` element (no ``<``, ``>`` or ``&``; lone surrogates escaped)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _header(state: SessionState, until: Until | None, view: str) -> str:
    summary = summarize(state, until=until, view=view)
    e = html.escape
    facts = "".join(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in summary.facts)
    threads = ""
    if summary.threads:
        rows = "".join(
            f"<tr><td><code>{e(t.thread_id)}</code>{' ★' if t.primary else ''}</td><td>{e(t.agent)}</td>"
            f"<td>{e(t.model)}</td><td>{e(t.status)}</td><td>{e(t.parent)}</td><td class=num>{t.events:,}</td>"
            f"<td class=num>{t.model_requests:,}</td><td class=num>{e(t.tokens)}</td></tr>" for t in summary.threads)
        threads = ('<table class="threads"><thead><tr><th>thread</th><th>agent</th><th>model</th><th>status</th>'
                   "<th>parent</th><th>events</th><th>model requests</th><th>tokens in / out</th></tr></thead>"
                   f"<tbody>{rows}</tbody></table>")
    outcomes = ""
    if state.outcomes:
        rows = "".join(
            f"<tr><td>{e(o.description or o.outcome_id)}</td><td>{'' if ev.iteration is None else ev.iteration}</td>"
            f"<td>{e(ev.result or 'pending')}</td><td>{e(ev.explanation or '')}</td>"
            f"<td class=num>{e(_tokens(ev))}</td><td class=num>{e(_ms(ev.duration_ms))}</td></tr>"
            for o in state.outcomes.values() for ev in (o.evaluations or [OutcomeEvaluation(None)]))
        outcomes = ('<table class="threads outcomes"><thead><tr><th>outcome</th><th>iteration</th><th>verdict</th>'
                    "<th>explanation</th><th>grader tokens in / out</th><th>duration</th></tr></thead>"
                    f"<tbody>{rows}</tbody></table>")
    return (f'<header class="top"><h1>{e(summary.title)}</h1><table class="facts">{facts}</table>{threads}'
            f"{outcomes}</header>")


def _tokens(evaluation: OutcomeEvaluation) -> str:
    u = evaluation.usage
    return "" if u is None else f"{u.input_tokens:,} / {u.output_tokens:,}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value / 1000:.1f} s"


def _dumps(value: Any) -> str:
    """A JSON value as the page's data holds it (see ``_script_json``): one piece of the streamed document."""
    return _script_json(value)


class _Container:
    """Where rows go (the page's ``rows``, or a model request group's ``items``): a slot and how many it holds."""

    __slots__ = ("count", "slot")

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.count = 0


class _OpenGroup(_Container):
    __slots__ = ("number",)

    def __init__(self, slot: Slot, number: int) -> None:
        super().__init__(slot)
        self.number = number


class _OpenCard:
    """A tool call's card written up to its ``status``; the status, result and confirmation come later."""

    __slots__ = ("extra", "slot", "status")

    def __init__(self, slot: Slot, status: str) -> None:
        self.slot = slot
        self.status = status
        self.extra: dict[str, Any] = {}  # "res" / "conf" blocks, in the order they came


class _StreamBuilder:
    """The rows of :func:`page_data`, written as JSON while the fold runs (the same text ``_script_json`` makes
    of them): a row is written when it is made; what it learns later (a group's items and end, a card's status,
    result and confirmation) goes into a :class:`~recorder.render.deferred.Slot` of the document."""

    def __init__(self, folder: Folder, doc: Document, max_chars: int) -> None:
        self.state = folder.state
        self.doc = doc
        self.describer = Describer(folder.state, max_chars=max_chars)
        self.rows = _Container(doc.root)
        self.groups: dict[str, _OpenGroup] = {}  # model request start id -> its open group
        self.cards: dict[str, _OpenCard] = {}  # tool use id -> its card, until its result
        self._lane_index: dict[str, int] = {}

    def lane(self, thread_id: str | None) -> int:
        if thread_id is None:
            return 0
        lanes = self.state.lanes
        if len(self._lane_index) != len(lanes):  # a lane appeared: lanes only ever come after the others
            ordered = sorted(lanes.values(), key=lambda lane: lane.order)
            self._lane_index = {lane.thread_id: n for n, lane in enumerate(ordered)}
        return self._lane_index.get(thread_id, 0)

    def base(self, entry: Entry) -> dict[str, Any]:
        return _row_base(entry, self.lane(entry.event.thread_id))

    def put(self, container: _Container, text: str) -> None:
        self.doc.write(container.slot, "," + text if container.count else text)
        container.count += 1

    def add(self, entry: Entry) -> None:
        kind = entry.kind
        request = entry.request
        if kind == "request_start" and request is not None:
            group = {**self.base(entry), "group": 1, "n": request.number, "model": request.model}
            self.put(self.rows, _dumps(group)[:-1] + ',"items":[')
            self.groups[request.id] = _OpenGroup(self.doc.open(self.rows.slot), request.number)
            return
        if kind == "request_end" and request is not None and request.id in self.groups:
            open_group = self.groups.pop(request.id)
            block = self.describer.describe(entry)
            end = {"end": entry.event.event_id, "title": block.title if block else "",
                   "detail": block.detail if block else None, "style": block.style if block else "muted"}
            self.doc.write(open_group.slot, "]," + _dumps(end)[1:])
            self.doc.close(open_group.slot)
            return
        if kind in ("tool_result", "tool_confirmation") and entry.tool is not None and entry.tool.id in self.cards:
            block = self.describer.describe(entry)
            if block is not None:
                card = self.cards[entry.tool.id]
                card.extra["res" if kind == "tool_result" else "conf"] = {
                    **_block_dict(block), "id": entry.event.event_id, "t": entry.event.time}
                card.status = entry.tool.status
                if kind == "tool_result":
                    self._close_card(self.cards.pop(entry.tool.id))
            return
        block = self.describer.describe(entry)
        if block is None:
            return
        item = {**self.base(entry), **_block_dict(block)}
        target = self.groups.get(request.id) if request is not None else None
        container = target if target is not None else self.rows
        if kind == "tool_use" and entry.tool is not None:
            item["tool"] = entry.tool.name or "tool"
            self.put(container, _dumps(item)[:-1] + ",")
            self.cards[entry.event.event_id] = _OpenCard(self.doc.open(container.slot), entry.tool.status)
            return
        self.put(container, _dumps(item))

    def _close_card(self, card: _OpenCard) -> None:
        self.doc.write(card.slot, _dumps({"status": card.status, **card.extra})[1:])
        self.doc.close(card.slot)

    def finish(self) -> None:
        """Close what is still open where the timeline stops: requests in progress, calls awaiting a result."""
        for card in self.cards.values():
            self._close_card(card)
        for group in self.groups.values():
            tail = {"title": f"model request #{group.number} (in progress)", "style": "muted"}
            self.doc.write(group.slot, "]," + _dumps(tail)[1:])
            self.doc.close(group.slot)
        self.cards.clear()
        self.groups.clear()


def _lane_rows(state: SessionState) -> list[dict[str, Any]]:
    lanes = sorted(state.lanes.values(), key=lambda lane: lane.order)
    lane_rows = [{"id": lane.thread_id, "label": lane.label, "agent": lane.agent_name, "model": lane.model,
                  "status": lane.status, "primary": lane.is_primary, "depth": state.depth(lane.thread_id),
                  "events": lane.events, "colour": PALETTE[n % len(PALETTE)]} for n, lane in enumerate(lanes)]
    if not lane_rows:
        lane_rows = [{"id": None, "label": "session", "agent": None, "model": None, "status": state.status,
                      "primary": True, "depth": 0, "events": state.events, "colour": PALETTE[0]}]
    return lane_rows


def write_html(events: Iterable[TimelineEvent], meta: SessionMeta, out: TextIO, *, until: Until | None = None,
               view: str = "all", max_chars: int = HTML_MAX_CHARS) -> SessionState:
    """Write the HTML transcript of ``events`` to ``out``; returns the folded state (counters only).

    Streamed, in memory that does not grow with the session: the fold keeps only counters and what is still open,
    the rows are written as JSON as they are made (:class:`_StreamBuilder`) into a spooled body, and the page —
    whose header and data start need the totals — is written when the timeline ends, the body copied into it.
    """
    folder = Folder(meta, keep=False, snapshot_cost=until is None)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="") as body:
        doc = Document(body)
        builder = _StreamBuilder(folder, doc, max_chars)
        for event in events:
            builder.add(folder.feed(event))
        builder.finish()
        doc.finish()
        state = folder.finish()
        title = html.escape(f"{meta.title or state.session_id} — session transcript")
        out.write(html_assets.PAGE_HEAD.replace("{title}", title))
        out.write(_header(state, until, view))
        out.write(html_assets.PAGE_BODY)
        out.write('<script type="application/json" id="session-data">')
        start = {"session": state.session_id, "events": state.events, "lanes": _lane_rows(state)}
        out.write(_dumps(start)[:-1] + ',"rows":[')
        body.seek(0)
        shutil.copyfileobj(body, out, CHUNK_CHARS)
        out.write("]," + _dumps({"until": until.describe() if until else None, "view": view})[1:])
        out.write("</script>\n<script>")
        out.write(html_assets.SCRIPT)
        out.write("</script>\n</body>\n</html>\n")
    return state


def render_html(events: Iterable[TimelineEvent], meta: SessionMeta, **options: Any) -> str:
    """The HTML transcript as a string."""
    buffer = io.StringIO()
    write_html(events, meta, buffer, **options)
    return buffer.getvalue()
