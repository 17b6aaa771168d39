"""The JSON transcript is streamed: the same text as dumping the folded session whole, in flat memory."""

from __future__ import annotations

import io
import json

import pytest

from recorder.render.structured import transcript, write_json
from recorder.replay.fold import fold
from recorder.replay.timeline import TimelineEvent, Until
from tests.helpers import traced_peak
from tests.replay.test_html_streaming import META, _event, _Null, tangled


def _whole(events: list[TimelineEvent], indent: int | None, **options: object) -> str:
    """What the JSON transcript was before it was streamed: the whole fold, dumped at once."""
    document = transcript(fold(events, META, snapshot_cost="until" not in options), **options)  # type: ignore[arg-type]
    text = json.dumps(document, ensure_ascii=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(document, ensure_ascii=True, indent=indent)
    return text + "\n"


def _streamed(events: list[TimelineEvent], indent: int | None, **options: object) -> str:
    out = io.StringIO()
    write_json(iter(events), META, out, indent=indent, **options)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("indent", [2, None])
def test_streamed_json_is_the_whole_dump_byte_for_byte(indent: int | None) -> None:
    events = list(tangled(200))
    assert _streamed(events, indent) == _whole(events, indent)
    document = json.loads(_streamed(events, indent))
    assert document["tool_calls"][0]["status"] == "pending" and document["turns"][0]["ended_at"] is not None
    assert any(r["event_ids"] for r in document["model_requests"])


def test_a_prefix_and_a_lone_surrogate_stream_the_same() -> None:
    events = list(tangled(40))
    odd = _event(len(events) + 1, {"type": "agent.message", "content": [{"type": "text", "text": "a\ud800b 😀 é"}]})
    events.append(odd)
    assert _streamed(events, 2) == _whole(events, 2)
    assert "\\ud800" in _streamed(events, 2) and "\\ud83d\\ude00" in _streamed(events, 2)
    until = Until(event_id=events[100].event_id)
    assert _streamed(events[:101], 2, until=until) == _whole(events[:101], 2, until=until)


def test_json_of_a_long_session_stays_in_bounded_memory() -> None:
    """Regression: the whole document used to be built, then dumped (about 7 kB of heap per event: 45 MB here)."""
    sink = _Null()
    peak = traced_peak(lambda: write_json(tangled(1_000), META, sink))  # 6,200 events
    assert sink.chars > 2_000_000
    assert peak < 12e6, f"peak {peak / 1e6:.1f} MB"
