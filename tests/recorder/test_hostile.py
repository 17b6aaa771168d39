"""Issue 14, "data lost or hidden silently": every class, against a scripted API (tests/recorder/fakeapi.py), on
SQLite and PostgreSQL. Each test failed on the code before the fix."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from recorder.compliance.retention import prune
from recorder.store import EventStore, RunRow, utcnow
from tests.recorder.fakeapi import FakeApi, FakeSession, event_text, stored_texts


def _runs(store: EventStore) -> list[RunRow]:
    return store.runs()


# ---------------------------------------------------------------------------------- the resume point


def test_one_event_ahead_of_its_place_never_moves_the_resume_point(store: EventStore) -> None:
    """Event 5's processed_at lies 100 s ahead. A catch-up after it must not skip the events listed after it."""
    api = FakeApi()
    texts = [event_text(i, when=100 if i == 5 else i) for i in range(1, 115)]
    session = api.add(FakeSession("sesn_skew", texts, visible=5, status="running"))
    assert not api.record(store, ["sesn_skew"]).failed
    session.visible = None
    session.status = "terminated"
    report = api.record(store, ["sesn_skew"])
    assert not report.failed
    assert stored_texts(store, "sesn_skew") == texts, "every event, once, in the API's order"
    assert report.sessions[0].complete


def test_an_event_visible_late_with_an_earlier_time_is_caught(store: EventStore) -> None:
    """The API shows an event only after later ones were read; its time is earlier than theirs (within the
    overlap window). The next catch-up picks it up; nothing is stored twice."""
    api = FakeApi()
    texts = [event_text(i) for i in range(1, 21)]
    late = texts.pop(9)  # event 10 (t = 10 s) shows up late
    session = api.add(FakeSession("sesn_late", texts, status="running"))
    api.record(store, ["sesn_late"])
    session.events = [*texts[:9], late, *texts[9:]]
    session.status = "terminated"
    assert not api.record(store, ["sesn_late"]).failed
    got = stored_texts(store, "sesn_late")
    assert sorted(got) == sorted(session.events) and len(got) == 20


def test_overlap_is_configurable(store: EventStore) -> None:
    api = FakeApi()
    api.add(FakeSession("sesn_ov", [event_text(i) for i in range(1, 101)]))
    api.record(store, ["sesn_ov"], overlap=5.0)
    api.requests.clear()
    api.record(store, ["sesn_ov"], overlap=5.0, refresh=True)
    [query] = [r for r in api.requests if "/events?" in r]
    # the median of the last 9 events (t = 96 s) minus 5 s
    assert "created_at%5Bgte%5D=2026-11-01T12%3A01%3A31" in query, query


# ------------------------------------------------------------------------------------ hostile events


DEEP = "[" * 10_000 + "]" * 10_000
HUGE = "9" * 5_000


def test_hostile_events_are_stored_byte_for_byte(store: EventStore) -> None:
    api = FakeApi()
    texts = [
        event_text(1),
        event_text(2, extra=f'"deep":{DEEP}'),
        event_text(3, extra=f'"n":{HUGE}'),
        event_text(4, event_id="sevt_" + "x" * 400),
        event_text(5, kind="agent." + "t" * 400),
        event_text(6, event_id="sevt_" + "x" * 400 + "y"),  # differs only past the 255th character
        event_text(7, event_id="", extra=f'"deep":{DEEP}'),
        event_text(8),
    ]
    api.add(FakeSession("sesn_hostile", texts))
    report = api.record(store, ["sesn_hostile"])
    assert not report.failed, [o.error for o in report.failed]
    assert stored_texts(store, "sesn_hostile") == texts
    assert report.sessions[0].complete
    assert _runs(store)[0].outcome == "ok"
    rows = list(store.stream_events("sesn_hostile", None))
    assert all(len(r.event_id) <= 255 and len(r.event_key) <= 255 and len(r.type) <= 255 for r in rows)
    assert rows[4].type == ("agent." + "t" * 400)[:255]
    again = api.record(store, ["sesn_hostile"], refresh=True)
    assert again.events_added == 0, "recording again adds nothing"


def test_numeric_and_string_ids_are_two_events(store: EventStore) -> None:
    api = FakeApi()
    texts = [event_text(1, event_id=12345), event_text(2, event_id="12345"), event_text(3, event_id=12345.0)]
    api.add(FakeSession("sesn_ids", texts))
    report = api.record(store, ["sesn_ids"])
    assert not report.failed
    assert stored_texts(store, "sesn_ids") == texts


def test_an_unstorable_item_costs_only_its_stream_and_the_audit_says_so(store: EventStore) -> None:
    api = FakeApi()
    api.add(FakeSession("sesn_bad", [event_text(1), "[1,2,3]", event_text(3)]))
    good = [event_text(i) for i in range(1, 30)]
    api.add(FakeSession("sesn_good", good))
    report = api.record(store, ["sesn_bad", "sesn_good"])
    [failed] = report.failed
    assert failed.session_id == "sesn_bad"
    assert "item 2" in failed.error and "[1,2,3]" in failed.error and "\n" not in failed.error
    assert stored_texts(store, "sesn_bad") == [event_text(1)], "what came before it is recorded"
    assert stored_texts(store, "sesn_good") == good
    run = _runs(store)[0]
    assert run.outcome == "error" and "sesn_bad" in run.error


def test_an_unstorable_item_in_a_thread_costs_that_thread_only(store: EventStore) -> None:
    api = FakeApi()
    main = [event_text(i) for i in range(1, 40)]
    good_thread = [event_text(100 + i) for i in range(1, 40)]
    bad_thread = [event_text(200), '"just a string"', event_text(202)]
    api.add(FakeSession("sesn_th", main, threads={"sthr_good": good_thread, "sthr_bad": bad_thread}))
    report = api.record(store, ["sesn_th"], page_size=10)
    [failed] = report.failed
    assert "sthr_bad" in failed.error and "just a string" in failed.error
    assert stored_texts(store, "sesn_th") == main
    assert [e.payload for e in store.stream_events("sesn_th", "sthr_good")] == good_thread
    assert [e.payload for e in store.stream_events("sesn_th", "sthr_bad")] == [event_text(200)]
    assert not failed.complete and store.checkpoint("sesn_th").complete is False


# ------------------------------------------------------------------------------------ looping cursors


def test_a_cursor_leading_back_to_itself_stops_the_stream(store: EventStore) -> None:
    api = FakeApi()
    api.add(FakeSession("sesn_loop", [event_text(i) for i in range(1, 10)], loop_cursor=True))
    started = time.monotonic()
    report = api.record(store, ["sesn_loop"], page_size=3, deadline=30)
    assert time.monotonic() - started < 10
    [failed] = report.failed
    assert "leads back" in failed.error or "nothing new" in failed.error
    assert len([r for r in api.requests if "/events?" in r]) < 10
    assert _runs(store)[0].outcome == "error"


# ---------------------------------------------------------------------------------- answers' shapes


def test_an_answer_of_the_wrong_shape_is_refused_and_nothing_is_stored(store: EventStore) -> None:
    api = FakeApi()
    api.add(FakeSession("sesn_shape", [event_text(1)], status=12345))
    report = api.record(store, ["sesn_shape"])
    [failed] = report.failed
    assert "status 12345" in failed.error and "http://fake-api.test" in failed.error
    assert store.latest_snapshot("sesn_shape") is None
    assert stored_texts(store, "sesn_shape") == []


def test_every_endpoint_answering_the_same_json_is_refused(store: EventStore) -> None:
    api = FakeApi()
    api.add(FakeSession("sesn_same", body='{"id":"sesn_same","status":"idle","type":"session"}'))
    report = api.record(store, ["sesn_same"])
    [failed] = report.failed
    assert "`data`" in failed.error and "ANTHROPIC_BASE_URL" in failed.error


def test_a_connection_failure_names_the_url_and_fails_fast(store: EventStore) -> None:
    from recorder.ingest.retry import RetryPolicy
    from recorder.record import RecordOptions, make_client, run_recording

    url = "http://127.0.0.1:9"  # discard port: nothing listens
    started = time.monotonic()
    report = run_recording(store, ["sesn_x"], RecordOptions(retry=RetryPolicy(base=0.01, cap=0.05, max_attempts=3)),
                           client_factory=lambda: make_client(api_key="k", base_url=url))
    assert time.monotonic() - started < 15
    [failed] = report.failed
    assert url in failed.error and "ANTHROPIC_BASE_URL" in failed.error


# ---------------------------------------------------------------------------------- pruned sessions


def test_pruned_sessions_are_not_recorded_again_unless_asked(store: EventStore) -> None:
    from recorder.record import Observer

    class Lines(Observer):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def warning(self, text: str) -> None:
            self.lines.append(text)

    api = FakeApi()
    texts = [event_text(i) for i in range(1, 6)]
    api.add(FakeSession("sesn_old", texts))
    api.record(store, discover=True)
    assert stored_texts(store, "sesn_old") == texts
    prune(store, "1d", actor="ops", now=utcnow() + timedelta(days=3))
    assert stored_texts(store, "sesn_old") == []
    lines = Lines()
    report = api.record(store, discover=True, observer=lines)
    assert report.sessions == [] and stored_texts(store, "sesn_old") == []
    assert len(lines.lines) == 1 and "sesn_old" in lines.lines[0] and "--include-pruned" in lines.lines[0]
    api.record(store, discover=True, include_pruned=True)
    assert stored_texts(store, "sesn_old") == texts
    prune(store, "1d", actor="ops", now=utcnow() + timedelta(days=3))
    api.record(store, ["sesn_old"])  # named explicitly: recorded again
    assert stored_texts(store, "sesn_old") == texts


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "Infinity"])
def test_non_finite_numbers_are_refused_by_record(text: str, tmp_path) -> None:
    from click.testing import CliRunner

    from recorder.cli import cli

    for option in ("--deadline", "--request-timeout", "--poll-interval", "--lease-seconds", "--overlap"):
        result = CliRunner().invoke(cli, ["record", "sesn_x", option, text, "--db", f"sqlite:///{tmp_path}/x.db"])
        assert result.exit_code == 2, (option, result.output)
        assert "not a finite number" in result.output and "Traceback" not in result.output


def test_the_payload_of_a_hostile_event_verifies(store: EventStore) -> None:
    from recorder.compliance.verify import verify

    api = FakeApi()
    api.add(FakeSession("sesn_v", [event_text(1, extra=f'"deep":{DEEP}'), event_text(2, event_id=7),
                                   event_text(3, event_id="z" * 300)]))
    api.record(store, ["sesn_v"])
    report = verify(store)
    assert report.ok, json.dumps(report.to_json())[:500]


def test_a_wrong_base_url_is_named_at_the_first_retry(sqlite_url: str) -> None:
    """Not a minute of silence: the first connection failure is reported at once, naming the URL."""
    import os

    from tests.recorder.support import API_KEY, run_cli

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "RECORDER_"))}
    env.update(ANTHROPIC_API_KEY=API_KEY, ANTHROPIC_BASE_URL="http://127.0.0.1:9", RECORDER_DB=sqlite_url)
    result = run_cli(["record", "sesn_x", "--deadline", "5"], env, timeout=90)  # several retries, one warning
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    assert "cannot connect to http://127.0.0.1:9" in lines[0] and "ANTHROPIC_BASE_URL" in lines[0], lines
    assert len(lines) == 2, lines


def test_every_reader_copes_with_hostile_events(store: EventStore) -> None:
    """What is stored must also be readable: transcripts, timelines, analytics, verify, with no traceback."""
    from click.testing import CliRunner

    from recorder.cli import cli

    api = FakeApi()
    api.add(FakeSession("sesn_r", [event_text(1), event_text(2, extra=f'"deep":{DEEP}'),
                                   event_text(3, extra=f'"n":{HUGE}'), event_text(4, event_id=12345)]))
    assert not api.record(store, ["sesn_r"]).failed
    for command in (["transcript", "sesn_r"], ["transcript", "sesn_r", "--format", "json"], ["usage"],
                    ["events", "sesn_r"], ["verify"]):
        result = CliRunner().invoke(cli, [*command, "--db", store.url])
        assert result.exit_code == 0, (command, result.output[-500:], result.exception)
