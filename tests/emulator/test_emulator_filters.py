"""Event list filters (created_at vs processed_at, types, order, limit, cursors) behave like the API's."""

from __future__ import annotations

import itertools
import operator
import re
from datetime import datetime, timedelta, timezone

import anthropic
import pytest

from tests.emulator.support import LONG_EVENTS, page_raw

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _listed(client, sid, **params):
    return page_raw(client.beta.sessions.events.with_raw_response.list, sid, **params)[0]


def _tie(events):
    """A processed_at shared by at least two consecutive events."""
    for a, b in itertools.pairwise(events):
        if a["processed_at"] == b["processed_at"]:
            return a["processed_at"]
    raise AssertionError("no tie")


def test_processed_at_is_canonical_non_decreasing_and_has_ties(standard):
    emu, names, _ = standard
    for sid in names.values():
        for thread_id in [None, *emu.thread_ids(sid)]:
            times = [e["processed_at"] for e in emu.ground_truth(sid, thread_id)]
            assert all(STAMP.match(t) for t in times), sid
            assert times == sorted(times), (sid, thread_id)
    assert _tie(emu.ground_truth(names["tool_use"]))
    assert _tie(emu.ground_truth(names["long"]))


def test_created_at_bounds_compare_against_processed_at(standard, client):
    emu, names, _ = standard
    for name in ("tool_use", "long"):
        truth = emu.ground_truth(names[name])
        tie = _tie(truth[len(truth) // 2:])
        for op, keep in (("gte", operator.ge), ("gt", operator.gt), ("lt", operator.lt), ("lte", operator.le)):
            got = _listed(client, names[name], limit=1000, **{f"created_at_{op}": tie})
            assert got == [e for e in truth if keep(e["processed_at"], tie)], (name, op)
        lo, hi = truth[len(truth) // 3]["processed_at"], truth[2 * len(truth) // 3]["processed_at"]
        window = _listed(client, names[name], limit=1000, created_at_gt=lo, created_at_lte=hi)
        assert window == [e for e in truth if lo < e["processed_at"] <= hi] and window


def test_created_at_accepts_datetimes_and_offsets(standard, client):
    emu, names, _ = standard
    truth = emu.ground_truth(names["compaction"])
    pivot = truth[40]["processed_at"]
    as_dt = datetime.fromisoformat(pivot)
    shifted = as_dt.astimezone(timezone(timedelta(hours=2))).isoformat()
    expected = [e for e in truth if e["processed_at"] >= pivot]
    assert _listed(client, names["compaction"], created_at_gte=as_dt) == expected
    assert _listed(client, names["compaction"], created_at_gte=shifted) == expected


def test_resuming_with_created_at_gte_and_dedupe_sees_every_event_once(standard, client):
    emu, names, _ = standard
    sid = names["tool_use"]
    truth = emu.ground_truth(sid)
    seen: dict[tuple[str, str], dict] = {}
    order: list[dict] = []
    since = None
    repeats = 0
    while True:  # a poller that reads 7 events at a time and resumes from the last processed_at it saw
        page = client.beta.sessions.events.with_raw_response.list(
            sid, limit=7, **({"created_at_gte": since} if since else {})).http_response.json()["data"]
        fresh = 0
        for event in page:
            key = (event["id"], event["processed_at"])
            if key in seen:
                repeats += 1
                continue
            seen[key] = event
            order.append(event)
            fresh += 1
        if not fresh:
            break
        since = page[-1]["processed_at"]
    assert order == truth
    assert repeats >= 2  # ties made the poller re-read events it had already


def test_types_filter(standard, client):
    emu, names, _ = standard
    wanted = {"agent.tool_use", "agent.tool_result"}
    truth = emu.ground_truth(names["tool_use"])
    got = _listed(client, names["tool_use"], types=sorted(wanted), limit=5)
    assert got == [e for e in truth if e["type"] in wanted] and len(got) >= 6
    unknown = _listed(client, names["unknown_types"], types=["agent.future_widget"])
    assert [e["type"] for e in unknown] == ["agent.future_widget"]
    assert _listed(client, names["tool_use"], types=["session.deleted"]) == []
    long_truth = emu.ground_truth(names["long"])
    idles = _listed(client, names["long"], types=["session.status_idle", "agent.message"], limit=1000)
    assert idles == [e for e in long_truth if e["type"] in ("session.status_idle", "agent.message")]
    assert idles[-1]["type"] == "session.status_idle" and idles[-1]["stop_reason"] == {"type": "end_turn"}
    assert _listed(client, names["long"], types=["session.status_terminated"]) == []


def test_order_desc_reverses_and_pages(standard, client):
    emu, names, _ = standard
    for name in ("multi_agent", "long"):
        truth = emu.ground_truth(names[name])
        assert _listed(client, names[name], order="desc", limit=41) == truth[::-1]
    truth = emu.ground_truth(names["budget"])
    tie = _tie(truth)
    got = _listed(client, names["budget"], order="desc", limit=3, created_at_lte=tie, types=["session.usage"])
    assert got == [e for e in truth[::-1] if e["processed_at"] <= tie and e["type"] == "session.usage"]


def test_thread_event_lists_take_only_limit_and_page(standard, client):
    """As the SDK's ``threads.events.list``: ``limit`` and ``page``; an order or a filter is refused (400)."""
    emu, names, _ = standard
    sid = names["multi_agent"]
    child = emu.thread_ids(sid)[2]
    truth = emu.ground_truth(sid, child)
    page = client.beta.sessions.threads.events.list(child, session_id=sid, limit=4)
    assert [e.id for e in page.data] == [e["id"] for e in truth[:4]]
    got = [e.id for e in client.beta.sessions.threads.events.list(child, session_id=sid, limit=3)]
    assert got == [e["id"] for e in truth]
    for extra in ({"order": "desc"}, {"types[]": "span.model_request_end"}, {"created_at[gte]": "2026-01-01Z"}):
        with pytest.raises(anthropic.BadRequestError, match="unknown parameter"):
            client.beta.sessions.threads.events.list(child, session_id=sid, extra_query=extra)


def test_long_session_random_access_is_exact(standard, client):
    emu, names, _ = standard
    sid = names["long"]
    truth = emu.ground_truth(sid)
    assert len(truth) == LONG_EVENTS
    at = truth[2_345]["processed_at"]
    first = client.beta.sessions.events.list(sid, created_at_gte=at, limit=3)
    assert [e.id for e in first.data] == [e["id"] for e in truth if e["processed_at"] >= at][:3]
    cursor = client.beta.sessions.events.list(sid, limit=1000).next_page
    second = client.beta.sessions.events.list(sid, limit=1000, page=cursor)
    assert second.data[0].id == truth[1000]["id"]
