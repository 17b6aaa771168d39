"""The HTML transcript is streamed: its page data is the folded session's, byte for byte, in memory that does not
grow with the session (the rows are written while the fold runs; late parts fill slots of a deferred document)."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from recorder.render import deferred
from recorder.render.deferred import Document
from recorder.render.html import _script_json, page_data, render_html, write_html
from recorder.replay.fold import fold
from recorder.replay.meta import SessionMeta, ThreadMeta
from recorder.replay.timeline import TimelineEvent, Until
from tests.helpers import traced_peak

START = datetime(2026, 11, 1, tzinfo=UTC)
META = SessionMeta("sesn_stream", {"title": "streamed"}, (
    ThreadMeta("th_main", agent_name="main", snapshot={}), ThreadMeta("th_help", "th_main", "helper", snapshot={})))


class _Null(io.StringIO):
    """A sink that keeps nothing (so a memory measurement sees only the renderer)."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def _event(n: int, data: dict[str, Any], thread_id: str | None = "th_main") -> TimelineEvent:
    at = START + timedelta(milliseconds=40 * n)
    data = {"id": f"sevt_{n:07d}", "processed_at": at.isoformat().replace("+00:00", "Z"), **data}
    return TimelineEvent(n, data["id"], data["id"], data["type"], thread_id, at, json.dumps(data), data, (None,))


def _text(rng: random.Random, words: int) -> list[dict[str, str]]:
    return [{"type": "text", "text": " ".join(rng.choice(("alpha", "beta", "漢字", "😀", "</script>", "a&b"))
                                              for _ in range(words))}]


def tangled(count: int, seed: int = 1) -> Iterator[TimelineEvent]:
    """Two threads whose model requests and tool calls overlap; a call answered long after its request ended,
    calls confirmed before their result, one never answered (at the start), a request that never ends."""
    rng = random.Random(seed)
    n = 0

    def emit(data: dict[str, Any], thread: str = "th_main") -> TimelineEvent:
        nonlocal n
        n += 1
        return _event(n, data, thread)

    yield emit({"type": "user.message", "content": _text(rng, 5)})
    never = emit({"type": "agent.tool_use", "name": "wait", "input": {"for": "ever"}})
    yield never
    late: str | None = None
    for step in range(count):
        thread = "th_help" if step % 3 == 2 else "th_main"
        start = emit({"type": "span.model_request_start"}, thread)
        yield start
        yield emit({"type": "agent.message", "content": _text(rng, rng.randint(1, 30))}, thread)
        use = emit({"type": "agent.tool_use", "name": "bash", "input": {"command": "ls"}}, thread)
        yield use
        if step % 4 == 1:
            yield emit({"type": "user.tool_confirmation", "tool_use_id": use.event_id, "result": "allow"}, thread)
        if step % 5 == 0 and late is None:
            late = use.event_id  # answered after the next request of its thread started
        else:
            yield emit({"type": "agent.tool_result", "tool_use_id": use.event_id, "is_error": step % 7 == 0,
                        "content": _text(rng, rng.randint(1, 60))}, thread)
        yield emit({"type": "span.model_request_end", "model_request_start_id": start.event_id, "is_error": False,
                    "model_usage": {"input_tokens": 10, "output_tokens": 2}}, thread)
        if late is not None and step % 5 == 3:
            yield emit({"type": "agent.tool_result", "tool_use_id": late, "content": _text(rng, 3)})
            late = None
        yield emit({"type": "session.status_idle", "stop_reason": {"type": "end_turn"}})
    yield emit({"type": "span.model_request_start"}, "th_help")
    yield emit({"type": "agent.message", "content": _text(rng, 4)}, "th_help")


def _data(page: str) -> str:
    return page.split('<script type="application/json" id="session-data">', 1)[1].split("</script>", 1)[0]


def test_streamed_page_data_is_the_folded_sessions_byte_for_byte() -> None:
    events = list(tangled(300))
    page = render_html(iter(events), META)
    expected = _script_json(page_data(fold(events, META), view="all"))
    assert _data(page) == expected
    rows = json.loads(expected)["rows"]
    assert rows[1]["status"] == "pending" and rows[-1]["title"].endswith("(in progress)")
    assert any("conf" in item and "res" in item for row in rows for item in row.get("items", ()))


def test_a_prefix_streams_the_same_as_it_folds() -> None:
    events = list(tangled(60))
    until = Until(event_id=events[137].event_id)
    page = render_html(iter(events[:138]), META, until=until)
    assert _data(page) == _script_json(page_data(fold(events[:138], META, snapshot_cost=False), until=until))


def test_deferred_document_writes_slots_in_tree_order_and_empties_its_scratch(monkeypatch: Any) -> None:
    monkeypatch.setattr(deferred, "_READ", 7)  # spans read in pieces that cut multi-byte characters
    sink = io.StringIO()
    doc = Document(sink)
    doc.write(doc.root, "a")
    first = doc.open(doc.root)
    doc.write(doc.root, "D😀")
    second = doc.open(doc.root)
    doc.write(doc.root, "F")
    inner = doc.open(first)
    doc.write(first, "C漢字")
    doc.write(second, "E")
    doc.close(second)
    doc.write(inner, "B")
    doc.close(inner)
    assert sink.getvalue() == ""  # nothing leaves before the start of the document is complete
    doc.close(first)
    doc.write(doc.root, "G")
    doc.finish()
    assert sink.getvalue() == "aBC漢字D😀EFG"
    assert doc._end == 0 and doc._waiting == 0


def test_html_of_a_long_session_stays_in_bounded_memory() -> None:
    """The regression test: the page data used to be built whole before a byte was written (about 4.3 kB of heap
    per event: 35 MB here); streamed, the peak is the spools' and chunks' memory and what is still open (here a
    call that is never answered, so nearly everything waits in the scratch file until the end): about 4.5 MB,
    the same at 5,000 or 20,000 events."""
    sink = _Null()
    peak = traced_peak(lambda: write_html(tangled(1_300), META, sink))  # 8,100 events
    assert sink.chars > 1_500_000
    assert peak < 12e6, f"peak {peak / 1e6:.1f} MB"
