"""Recorded sessions as the SDK's own typed events: equal to what the SDK gives for the live API (the emulator)."""

from __future__ import annotations

import typing

import anthropic
import pytest

from recorder.emulator import ApiServer
from recorder.errors import NotFound
from recorder.recorded import RecordedSession
from recorder.replay import known_types, sdk_event
from recorder.replay.typed import sdk_event_classes
from tests.emulator.support import sdk
from tests.replay.conftest import Recorded

UNKNOWN = {"agent.future_widget", "session.future_checkpoint", "agent.tool_use_progress"}


@pytest.fixture(scope="module")
def live(recorded: Recorded) -> typing.Iterator[ApiServer]:
    with recorded.emu.serve() as server:
        yield server


def _sdk_list(client: anthropic.Anthropic, sid: str, thread_id: str | None = None) -> list:
    if thread_id is None:
        return list(client.beta.sessions.events.list(sid, limit=1000))
    return list(client.beta.sessions.threads.events.list(thread_id, session_id=sid, limit=1000))


def test_typed_events_equal_what_the_sdk_gives_for_the_live_api(recorded: Recorded, live: ApiServer,
                                                                scenario: str) -> None:
    sid = recorded.sid(scenario)
    client = sdk(live)
    expected = _sdk_list(client, sid)
    with RecordedSession(recorded.store, sid) as session:
        got = list(session.events())
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        if isinstance(ours, dict):
            assert ours["type"] in UNKNOWN
            assert ours == theirs.to_dict(mode="json", exclude_unset=True)  # the SDK mis-types it; we keep it raw
        else:
            assert type(ours) is type(theirs) and ours == theirs
            assert typing.get_args(type(ours).model_fields["type"].annotation) == (ours.type,)


def test_thread_views_are_typed_too(recorded: Recorded, live: ApiServer) -> None:
    sid = recorded.sid("multi_agent")
    client = sdk(live)
    with RecordedSession.open(recorded.url, sid) as session:
        for thread_id in recorded.emu.thread_ids(sid):
            assert list(session.events(thread=thread_id)) == _sdk_list(client, sid, thread_id)
        merged = list(session.events(thread="all"))
    assert len(merged) == len({e.id for e in merged})


def test_unknown_types_come_as_dicts_and_known_ones_from_the_sdks_union() -> None:
    known = known_types()
    assert {"agent.message", "session.status_idle", "span.model_request_end", "user.interrupt"} <= known
    assert not known & UNKNOWN
    raw = {"type": "agent.future_widget", "id": "sevt_x", "processed_at": "2026-03-02T09:00:00Z", "w": 1}
    assert sdk_event(raw) is raw
    message = sdk_event({"type": "agent.message", "id": "sevt_y", "processed_at": "2026-03-02T09:00:00Z",
                         "content": [{"type": "text", "text": "hi"}], "citations_v2": []})
    assert type(message) is sdk_event_classes()["agent.message"]
    assert message.content[0].text == "hi" and message.citations_v2 == []  # unknown fields are kept


def test_stream_paces_and_state_and_transcript(recorded: Recorded) -> None:
    sid = recorded.sid("custom_tool")
    with RecordedSession(recorded.store, sid) as session:
        fast = list(session.stream(speed=0))
        assert [e.id for e in fast] == [e.id for e in session.events()]
        state = session.state(until=fast[3].id)
        assert state.events == 4
        assert session.transcript("md", until=fast[3].id).count("####") >= 1
        assert '"format": "recorder.transcript/1"' in session.transcript("json")
    with pytest.raises(NotFound):
        RecordedSession(recorded.store, "sesn_missing")
