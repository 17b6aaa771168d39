"""Every fault behaves as documented and is observable from the SDK; faults can be changed at runtime."""

from __future__ import annotations

import threading
import time

import anthropic
import httpx2
import pytest

from recorder.emulator import Emulator, FaultBook, Faults
from recorder.errors import ConfigError, NotFound
from tests.emulator.support import Reader, page_raw, sdk, thread_events_raw


def _statuses(server, sid):
    return [r.status for r in server.requests_for(sid)]


def test_rate_limit_answers_429_with_retry_after_then_the_sdk_retries_through():
    emu = Emulator(seed=1)
    sid = emu.add_session("interrupts", faults="rate_limit=2,retry_after=0.05")
    with emu.serve() as server:
        with pytest.raises(anthropic.RateLimitError) as err:
            sdk(server).beta.sessions.events.list(sid)
        assert err.value.response.headers["retry-after"] == "0.05"
        assert err.value.body["error"]["type"] == "rate_limit_error"
        page = sdk(server, max_retries=2).beta.sessions.events.list(sid)
        assert len(page.data) == len(emu.ground_truth(sid))
        assert _statuses(server, sid) == [429, 429, 200]
        assert emu.faults(sid).rate_limit == 0


def test_overloaded_and_server_error_bursts_are_counted():
    emu = Emulator(seed=1)
    sid = emu.add_session("interrupts", faults="overloaded=3,server_error=1,retry_after=0.01")
    with emu.serve() as server:
        with pytest.raises(anthropic.OverloadedError) as err:
            sdk(server, max_retries=2).beta.sessions.retrieve(sid)
        assert err.value.status_code == 529 and err.value.body["error"]["type"] == "overloaded_error"
        with pytest.raises(anthropic.InternalServerError) as err:
            sdk(server).beta.sessions.threads.list(sid)
        assert err.value.status_code == 500 and err.value.body["error"]["type"] == "api_error"
        assert sdk(server).beta.sessions.retrieve(sid).id == sid
        assert _statuses(server, sid) == [529, 529, 529, 500, 200]


def test_drop_after_cuts_a_list_body_mid_event():
    emu = Emulator(seed=1)
    sid = emu.add_session("tool_use", faults="drop_after=3")
    with emu.serve() as server:
        with pytest.raises(anthropic.APIConnectionError) as err:
            sdk(server).beta.sessions.events.list(sid, limit=10)
        assert isinstance(err.value.__cause__, httpx2.RemoteProtocolError)
        assert sdk(server).beta.sessions.retrieve(sid).status == "idle"  # only event lists are cut
        with pytest.raises(anthropic.APIConnectionError):
            sdk(server).beta.sessions.events.list(sid, limit=2)  # fewer events than N: cut before the end
        emu.set_faults(sid, "drop_after=3,times=1")
        items, _ = page_raw(sdk(server, max_retries=1).beta.sessions.events.with_raw_response.list, sid, limit=50)
        assert items == emu.ground_truth(sid)  # the SDK retried the cut page transparently
        assert [r.faults for r in server.requests_for(sid)][-3:-1] == [("drop_after=3",), ()]


def test_drop_after_cuts_a_stream_mid_event():
    emu = Emulator(seed=2, heartbeat=0.05)
    sid = emu.add_session("live", interval=0.01, autostart=False, faults="drop_after=4,on=stream")
    with emu.serve() as server:
        client = sdk(server)
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        emu.start(sid)
        reader.join()
        assert len(reader.events) == 4
        assert isinstance(reader.error, httpx2.RemoteProtocolError)
        assert client.beta.sessions.events.list(sid).data  # lists are not affected (on=stream)


def test_end_after_ends_a_stream_silently_while_the_session_runs():
    emu = Emulator(seed=2, heartbeat=0.05)
    sid = emu.add_session("live", interval=0.03, autostart=False, faults="end_after=3")
    with emu.serve() as server:
        client = sdk(server)
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        emu.start(sid)
        reader.join()
        assert reader.error is None and len(reader.events) == 3
        assert not emu.is_finished(sid)
        assert client.beta.sessions.retrieve(sid).status != "terminated"
        emu.close()


def test_heartbeat_only_streams_never_deliver_an_event():
    emu = Emulator(seed=2, heartbeat=0.05)
    sid = emu.add_session("live", interval=0.01, autostart=False, faults="heartbeat_only")
    server = emu.serve()
    try:
        reader = Reader(lambda: sdk(server).beta.sessions.events.stream(sid))
        with httpx2.stream("GET", f"{server.base_url}/v1/sessions/{sid}/events/stream",
                           headers={"x-api-key": "k"}, timeout=5) as response:
            emu.start(sid)
            lines = []
            started = time.monotonic()
            for line in response.iter_lines():
                lines.append(line)
                if time.monotonic() - started > 0.5:
                    break
        assert len(lines) >= 9 and set(lines) == {"event: ping", 'data: {"type":"ping"}', ""}
        assert emu.event_count(sid) > 5  # events were emitted meanwhile
        assert reader.events == [] and reader.thread.is_alive()  # the SDK sees nothing, forever
    finally:
        server.stop()
        emu.close()
    reader.join(5)


def test_trickle_never_trips_a_read_timeout():
    emu = Emulator(seed=1)
    sid = emu.add_session("interrupts", faults="trickle=0.02,times=1")
    server = emu.serve()
    outcome: list[object] = []
    patient = sdk(server, timeout=httpx2.Timeout(0.3, connect=1.0))

    def slow() -> None:
        try:
            outcome.append(patient.beta.sessions.events.list(sid))
        except Exception as err:
            outcome.append(err)

    worker = threading.Thread(target=slow, daemon=True)
    try:
        worker.start()
        time.sleep(1.0)
        assert worker.is_alive() and outcome == []  # 50 bytes/s, each within the 0.3 s read timeout
        assert server.requests_for(sid)[-1].faults == ("trickle=0.02",)
        started = time.monotonic()
        assert patient.beta.sessions.events.list(sid).data  # times=1: the next response is normal
        assert time.monotonic() - started < 1
    finally:
        server.stop()
    worker.join(5)
    assert not worker.is_alive() and isinstance(outcome[0], anthropic.APIConnectionError)


def test_duplicate_delivery_on_streams_and_overlapping_pages():
    emu = Emulator(seed=2, heartbeat=0.05)
    sid = emu.add_session("live", interval=0.005, autostart=False, faults="duplicate,on=stream")
    listed = emu.add_session("tool_use", faults="duplicate=2,on=list")
    with emu.serve() as server:
        client = sdk(server)
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        emu.start(sid)
        reader.until_idle()
        assert len(reader.events) >= 20 and reader.events[0::2] == reader.events[1::2]
        items, pages = page_raw(client.beta.sessions.events.with_raw_response.list, listed, limit=10)
        truth = emu.ground_truth(listed)
        assert len(items) == len(truth) + 2 * (pages - 1)
        deduped = []
        for item in items:
            if item not in deduped[-2:]:
                deduped.append(item)
        assert deduped == truth


def test_slow_first_byte_times_out_a_short_deadline():
    emu = Emulator(seed=1)
    sid = emu.add_session("interrupts", faults="slow_first_byte=1,times=1")
    with emu.serve() as server:
        started = time.monotonic()
        with pytest.raises(anthropic.APITimeoutError):
            sdk(server, timeout=0.3).beta.sessions.retrieve(sid)
        assert time.monotonic() - started < 0.9
        assert sdk(server, timeout=0.3).beta.sessions.retrieve(sid).id == sid


def test_global_faults_and_lifting_faults_at_runtime():
    emu = Emulator(seed=1, faults="server_error=1")
    sid = emu.add_session("interrupts")
    with emu.serve() as server:
        client = sdk(server)
        with pytest.raises(anthropic.InternalServerError):
            client.beta.sessions.list()
        assert [s.id for s in client.beta.sessions.list()] == [sid]
        emu.set_faults(sid, "overloaded")  # every request about this session, until lifted
        for _ in range(3):
            with pytest.raises(anthropic.OverloadedError):
                client.beta.sessions.events.list(sid)
        assert client.beta.sessions.list().data  # other requests are fine
        emu.set_faults(sid, None)
        assert client.beta.sessions.events.list(sid).data
        emu.set_faults(None, Faults(rate_limit=1, retry_after=2))
        with pytest.raises(anthropic.RateLimitError) as err:
            client.beta.files.list()
        assert err.value.response.headers["retry-after"] == "2"


def test_fault_specs_parse_round_trip_and_reject_nonsense():
    spec = "rate_limit=2,server_error,retry_after=0.5,drop_after=5,heartbeat_only,trickle=0.1,times=3,on=stream"
    faults = Faults.parse(spec)
    assert faults.rate_limit == 2 and faults.server_error == -1 and faults.trickle == 0.1 and faults.on == "stream"
    assert Faults.parse(faults.spec()) == faults
    assert Faults.parse("trickle,duplicate").trickle == 0.05 and Faults.parse("duplicate").duplicate == 1
    assert Faults.parse("").is_empty() and Faults.parse(None).is_empty()
    for bad in ("explode", "rate_limit=-1", "drop_after", "on=everywhere", "trickle=fast", "heartbeat_only=1"):
        with pytest.raises(ConfigError) as err:
            Faults.parse(bad)
        assert "\n" not in str(err.value) and "--help" in str(err.value)
    with pytest.raises(NotFound):
        Emulator().set_faults("sesn_unknown", "rate_limit")


def test_fault_book_orders_statuses_and_scopes_shaping_faults():
    book = FaultBook()
    book.set("s", "server_error=1,rate_limit=1,overloaded=1,drop_after=2,end_after=1,times=1,on=events")
    assert book.plan("s", "other").status is None  # on=events: not for retrieve & co.
    assert [book.plan("s", "list").status for _ in range(4)] == [429, 529, 500, None]
    stream = book.plan("s", "stream")
    assert stream.status is None and stream.drop_after is None  # times=1 was used by the 4th list response
    book.set("s", "drop_after=2,end_after=1,heartbeat_only")
    listing, streaming = book.plan("s", "list"), book.plan("s", "stream")
    assert (listing.drop_after, listing.end_after, listing.heartbeat_only) == (2, None, False)
    assert (streaming.drop_after, streaming.end_after, streaming.heartbeat_only) == (2, 1, True)
    book.set(None, "server_error=1")
    book.set("s", None)
    assert book.plan("other-session", "other").status == 500 and book.plan("s", "other").status is None


def test_faults_can_single_out_the_session_stream_or_the_threads() -> None:
    emu = Emulator(seed=17)
    sid = emu.add_session("multi_agent")
    child = emu.thread_ids(sid)[1]
    with emu.serve() as server:
        client = sdk(server)
        emu.set_faults(sid, "server_error=1,on=thread_events")
        assert thread_events_raw(client, sid, None)  # the session stream is untouched
        with pytest.raises(anthropic.InternalServerError):
            thread_events_raw(client, sid, child)
        emu.set_faults(sid, "server_error=1,on=session_events")
        assert thread_events_raw(client, sid, child)
        with pytest.raises(anthropic.InternalServerError):
            thread_events_raw(client, sid, None)
    emu.close()
