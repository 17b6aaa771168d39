"""Events wrapped once per run (recorder.ingest.wrapped): a stream that lists the same JSON text as another stream of
the session (a primary thread) takes its wrapping, with its own thread id, and nothing else changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recorder.events import raw_event
from recorder.ingest.scrub import rules
from recorder.ingest.sink import StreamSink
from recorder.ingest.wrapped import Wrapped

EVENTS: list[dict[str, Any]] = [
    {"id": "sevt_1", "type": "agent.message", "processed_at": "2026-11-01T00:00:00.000001Z",
     "content": [{"type": "text", "text": "caf\u00e9"}]},
    {"id": "sevt_2", "type": "agent.tool_use", "processed_at": "2026-11-01T00:00:01Z",
     "input": {"command": "curl -H 'Authorization: Bearer abcdefghijkl' x", "api_key": "k-123"}},
    {"id": "sevt_3", "type": "span.model_request_end", "processed_at": "2026-11-01T00:00:02Z",
     "model_usage": {"input_tokens": 5}},
]


def _sink(session_id: str, thread_id: str | None, wrapped: Wrapped | None) -> StreamSink:
    return StreamSink(session_id, thread_id, writer=None, lease=None, wrapped=wrapped)  # type: ignore[arg-type]


def _wrap(sink: StreamSink) -> list[Any]:
    current = rules()
    texts = [json.dumps(event) for event in EVENTS]
    return [sink._raw(json.loads(text), text, index, current) for index, text in enumerate(texts)]


def test_a_thread_listing_the_session_streams_texts_gets_the_same_rows_with_its_own_thread_id() -> None:
    wrapped = Wrapped()
    session = _wrap(_sink("sesn_a", None, wrapped))
    assert len(wrapped) == len(EVENTS)
    thread = _wrap(_sink("sesn_a", "sthr_a", wrapped))
    alone = _wrap(_sink("sesn_a", "sthr_a", None))  # what the thread's rows are without the cache
    assert thread == alone
    assert all(t.thread_id == "sthr_a" and s.thread_id is None for s, t in zip(session, thread, strict=True))
    assert all(t.payload is s.payload for s, t in zip(session, thread, strict=True))  # taken, not wrapped again
    assert thread[1].scrubbed is not None and "[scrubbed]" in thread[1].payload  # scrubbed as the session's was


def test_another_session_with_the_same_texts_wraps_its_own() -> None:
    wrapped = Wrapped()
    _wrap(_sink("sesn_a", None, wrapped))
    other = _wrap(_sink("sesn_b", None, wrapped))
    assert other == _wrap(_sink("sesn_b", None, None))
    assert all(event.session_id == "sesn_b" for event in other)


def test_new_scrub_rules_are_not_answered_from_the_old_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped = Wrapped()
    before = _wrap(_sink("sesn_a", None, wrapped))
    assert '"command"' in before[1].payload and "curl" in before[1].payload
    monkeypatch.setenv("RECORDER_SECRET_NAMES", "command")
    after = _wrap(_sink("sesn_a", "sthr_a", wrapped))
    assert after == _wrap(_sink("sesn_a", "sthr_a", None))
    assert "curl" not in after[1].payload and "/input/command" in (after[1].scrubbed or "")


def test_it_holds_at_most_two_generations_of_text() -> None:
    wrapped = Wrapped(limit_chars=1000)
    current = rules()
    for n in range(100):
        text = json.dumps({"id": f"sevt_{n}", "type": "x", "pad": "p" * 80})
        wrapped.put(text, current, raw_event(json.loads(text), "sesn_a", None, text))
    assert len(wrapped) <= 2 * (1000 // 100 + 1)
    text = json.dumps({"id": "sevt_99", "type": "x", "pad": "p" * 80})
    assert wrapped.get(text, "sesn_a", "sthr_a", current) is not None  # the newest are kept
    first = json.dumps({"id": "sevt_0", "type": "x", "pad": "p" * 80})
    assert wrapped.get(first, "sesn_a", None, current) is None
