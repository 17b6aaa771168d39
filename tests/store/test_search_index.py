"""The UI's read model in the store (SearchIndex, Browser), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recorder.store import Browser, EventStore, SearchIndex, SessionFilter
from tests.helpers import message, raws, span_end


@pytest.fixture(autouse=True)
def _empty_read_model(store: EventStore) -> None:
    """The shared PostgreSQL test database is emptied of the log between tests, not of the UI's read model."""
    SearchIndex(store).rebuild()


def _usage(i: int, cents: str) -> dict[str, object]:
    return {"id": f"sevt_usage_{i}", "type": "session.usage", "processed_at": f"2026-03-01T00:00:0{i}Z",
            "usage": {"list_cost": {"amount": cents, "currency": "USD"}}}


def _fill(store: EventStore) -> None:
    # sesn_a: its session stream and a primary thread holding copies of the same events (counted once)
    events = [message(0, "the gateway refactor is done"), span_end(1, "x", tokens=100), _usage(2, "250")]
    store.append(raws(events, session="sesn_a"))
    store.append(raws(events, session="sesn_a", thread="sthr_main"))
    store.append(raws([message(10, "a sub-agent reads the gateway logs"), span_end(11, "y", tokens=40)],
                      session="sesn_a", thread="sthr_child"))
    store.append(raws([message(0, "nothing to see"), span_end(1, "z", tokens=10)], session="sesn_b"))
    store.record_snapshot("sesn_a", {"id": "sesn_a", "status": "idle", "title": "Gateway",
                                     "agent": {"name": "coordinator", "model": {"id": "claude-opus-4-7"}}})
    store.record_snapshot("sesn_a", {"id": "sthr_main", "status": "idle", "agent": {"name": "coordinator"}},
                          thread_id="sthr_main")
    store.record_snapshot("sesn_a", {"id": "sthr_child", "parent_thread_id": "sthr_main", "status": "idle",
                                     "agent": {"name": "reader"}}, thread_id="sthr_child")
    store.record_snapshot("sesn_b", {"id": "sesn_b", "status": "idle", "title": "Other", "archived_at":
                                     "2026-03-02T00:00:00Z", "usage": {"list_cost": {"amount": "75"}},
                                     "agent": {"name": "solo", "model": {"id": "claude-haiku-4-5"}}})


def test_index_counts_each_event_once_and_searches(store: EventStore) -> None:
    _fill(store)
    index = SearchIndex(store)
    assert index.catch_up() == store.head_position()
    assert index.behind() == 0 and index.catch_up() == 0
    browser = Browser(store)
    a = browser.session("sesn_a")
    assert a is not None
    assert (a.events, a.model_requests) == (5, 2)
    assert (a.input_tokens, a.output_tokens) == (140, 70)
    assert (Decimal(a.list_cost or "nan"), a.currency) == (Decimal("2.5"), "USD")
    b = browser.session("sesn_b")
    assert b is not None and Decimal(b.list_cost or "nan") == Decimal("0.75")
    assert b.archived_at == "2026-03-02T00:00:00Z"

    page = index.search("gateway")
    assert page.total == 1 and [h.session_id for h in page.hits] == ["sesn_a"]
    assert page.hits[0].matches == 2
    assert "\x02gateway\x03" in page.hits[0].snippet.lower()
    assert [h.session_id for h in index.search("gate").hits] == ["sesn_a"]  # the last word is a prefix
    assert index.search("nothing see").total == 1
    assert index.search("gateway nothing").total == 0
    assert index.search("   ").total == 0 and index.search('"*)(').total == 0


def test_index_rebuilds_to_the_same_totals(store: EventStore) -> None:
    _fill(store)
    index = SearchIndex(store)
    index.catch_up(batch_rows=2)
    before = Browser(store).sessions().rows
    index.rebuild()
    assert Browser(store).sessions().rows == before
    assert index.search("gateway").total == 1


def test_index_catches_up_in_steps(store: EventStore) -> None:
    _fill(store)
    index = SearchIndex(store)
    index.catch_up(max_rows=3)
    assert index.position() == 3
    store.append(raws([message(20, "another gateway note")], session="sesn_b"))
    index.catch_up()
    assert index.position() == store.head_position()
    assert {h.session_id for h in index.search("gateway").hits} == {"sesn_a", "sesn_b"}


def test_browse_sorts_filters_and_builds_the_thread_tree(store: EventStore) -> None:
    _fill(store)
    SearchIndex(store).catch_up()
    browser = Browser(store)
    by_cost = browser.sessions(sort="list_cost", descending=True).rows
    assert [r.session_id for r in by_cost] == ["sesn_a", "sesn_b"]
    assert [r.session_id for r in browser.sessions(sort="list_cost", descending=False).rows] == ["sesn_b", "sesn_a"]
    page = browser.sessions()
    assert page.total == 2 and page.totals["tokens"] == sum(r.tokens for r in page.rows)
    assert [r.session_id for r in browser.sessions(SessionFilter(status="archived")).rows] == ["sesn_b"]
    assert [r.session_id for r in browser.sessions(SessionFilter(agent="coordinator")).rows] == ["sesn_a"]
    assert [r.session_id for r in browser.sessions(SessionFilter(model="claude-haiku-4-5")).rows] == ["sesn_b"]
    assert browser.sessions(SessionFilter(session_ids=[])).rows == []
    threads = browser.threads("sesn_a")
    assert [t.thread_id for t in threads] == ["sthr_main", "sthr_child"]
    assert threads[0].tokens["input_tokens"] == 100 and threads[1].tokens["input_tokens"] == 40


def test_index_notices_a_log_replaced_under_it(store: EventStore, backend_url: str) -> None:
    _fill(store)
    index = SearchIndex(store)
    index.catch_up()
    with store.write() as conn:  # a different log at the same positions (as after a restore elsewhere)
        from sqlalchemy import text

        conn.execute(text("UPDATE ui_index_state SET chain_hash = 'x' WHERE id = 1"))
    store.append(raws([message(30, "after the restore")], session="sesn_c"))
    index.catch_up()
    assert index.position() == store.head_position()
    assert Browser(store).session("sesn_a").events == 5  # type: ignore[union-attr]


def test_windows_of_a_session(store: EventStore) -> None:
    store.append(raws([message(i) for i in range(25)], session="sesn_w"))
    SearchIndex(store).catch_up()
    browser = Browser(store)
    assert browser.window_keys("sesn_w", 0, 10) == [f"sevt_{i:08d}" for i in range(10)]
    assert browser.window_keys("sesn_w", 2, 10) == [f"sevt_{i:08d}" for i in range(20, 25)]
    assert browser.window_keys("sesn_w", 3, 10) == []
    assert browser.event_window("sesn_w", "sevt_00000017", 10) == 1
    assert browser.event_window("sesn_w", "nope", 10) is None
    copies = browser.copies("sesn_w", ["sevt_00000003", "sevt_00000004"])
    assert [c.event_id for c in copies] == ["sevt_00000003", "sevt_00000004"]


def test_a_word_in_most_of_the_archive_ranks_the_latest_matches(store: EventStore) -> None:
    _fill(store)
    index = SearchIndex(store)
    index.catch_up()
    full = index.ranked("gateway")
    assert not full.capped and [s for s, _, _ in full.sessions] == ["sesn_a"]
    store.append(raws([message(40, "gateway again")], session="sesn_b"))
    index.catch_up()
    capped = index.ranked("gateway", cap=1)
    assert capped.capped and [s for s, _, _ in capped.sessions] == ["sesn_b"]  # the most recent match
    assert index.ranked("gateway", cap=3).sessions[0][0] in ("sesn_a", "sesn_b")
    found = index.snippets("gateway", [capped.sessions[0][2]])
    assert next(iter(found.values()))[2] == "\x02gateway\x03 again"


def test_the_list_marks_what_the_lifecycle_knows(store: EventStore) -> None:
    """Archived or deleted upstream as the recorder found it (a 404 leaves no session.deleted event): the list
    shows it, and the status filter finds it."""
    from datetime import datetime

    from recorder.store import Lifecycle

    _fill(store)
    SearchIndex(store).catch_up()
    browser = Browser(store)
    assert browser.session("sesn_b").deleted_at is None  # type: ignore[union-attr]
    archived = SessionFilter(status="archived")
    assert "sesn_a" not in [r.session_id for r in browser.sessions(archived).rows]
    lifecycle = Lifecycle(store)
    lifecycle.mark_deleted("sesn_b", actor="test", reason="the API answers 404", details={})
    lifecycle.set_state("sesn_a", "closed", upstream_status="idle", upstream_updated_at=None,
                        archived_at=datetime(2026, 11, 30, 12, 0))
    assert browser.session("sesn_b").deleted_at is not None  # type: ignore[union-attr]
    assert [r.session_id for r in browser.sessions(SessionFilter(status="deleted")).rows] == ["sesn_b"]
    assert browser.session("sesn_a").archived_at == "2026-11-30T12:00:00.000000Z"  # type: ignore[union-attr]
    assert "sesn_a" in [r.session_id for r in browser.sessions(archived).rows]
