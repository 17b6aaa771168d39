"""Sessions as the API lives them, recorded through the real SDK against the emulator over loopback: idle endings,
settling, archive, delete, change detection, the service with webhooks, and the request budget."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from recorder.cli import cli
from recorder.emulator import ApiServer, Emulator
from recorder.errors import DeadlineReached
from recorder.store import DELETED_ACTION, ComplianceStore, EventStore, FileArchive, Lifecycle
from tests.recorder.support import API_KEY, assert_exact, cli_env, record, record_until, run_cli

QUICK = {"settle": 0.3, "file_index_lag": 0.3, "poll_interval": 0.05, "max_rpm": None}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(condition: Any, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def session_paths(server: ApiServer) -> list[str]:
    return [r.path for r in list(server.requests)]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    emulator = Emulator(seed=101, heartbeat=0.2, file_lag=0.1)
    yield emulator
    emulator.close()


def archived_files(store: EventStore, session_id: str) -> set[str]:
    return {f.file_id for f in FileArchive(store).files(session_id)}


def test_the_service_records_more_idle_sessions_than_its_concurrency(store: EventStore, emu: Emulator) -> None:
    """Idle sessions hold no slot: with --concurrency 2, all eight are recorded, files included — even with the
    first two waiting for the client (requires_action: still active, but nothing comes until the client acts)."""
    waiting = [emu.add_session("custom_tool", pending=True), emu.add_session("confirmation", pending=True)]
    resting = [emu.add_session(name) for name in ("tool_use", "mcp", "custom_tool", "confirmation", "outcome",
                                                  "unicode")]
    sids = [*waiting, *resting]

    def all_recorded() -> bool:
        states = Lifecycle(store).states()
        return (all(s in states and states[s].state == "settled" for s in resting)
                and all(archived_files(store, s) == {f["id"] for f in emu.files(s)} for s in sids))

    with emu.serve() as server:
        record_until(store, server, all_recorded, limit=60, discover=True, follow=True, concurrency=2,
                     sweep_interval=600, **QUICK)
    assert_exact(store, emu, sids)
    states = Lifecycle(store).states()
    for sid in sids:
        assert archived_files(store, sid) == {f["id"] for f in emu.files(sid)}, emu.scenario(sid)
    assert [states[s].state for s in waiting] == ["active", "active"]
    assert [states[s].state for s in resting] == ["settled"] * len(resting)


def test_follow_named_sessions_returns_soon_after_they_settle(store: EventStore, emu: Emulator) -> None:
    a = emu.add_session("live", interval=0.01, autostart=False)
    b = emu.add_session("tool_use", live=True, interval=0.01, autostart=False)
    with emu.serve() as server:
        settled_at: list[float] = []

        def watch() -> None:
            until(lambda: emu.is_finished(a) and emu.is_finished(b), 60)
            settled_at.append(time.monotonic())

        watcher = threading.Thread(target=watch)
        emu.start(a)
        emu.start(b)
        watcher.start()
        report = record(store, server, [a, b], follow=True, deadline=60, **QUICK)
        returned = time.monotonic()
        watcher.join()
    assert report.outcome == "ok" and not report.failed
    assert {o.session_id: o.state for o in report.sessions} == {a: "settled", b: "settled"}
    # on settling, not at the deadline (60 s); the margin is for a busy machine
    assert returned - settled_at[0] < 20.0, f"returned {returned - settled_at[0]:.1f} s after both went idle"
    assert_exact(store, emu, [a, b])
    for sid in (a, b):
        assert archived_files(store, sid) == {f["id"] for f in emu.files(sid)}


def test_an_archived_session_is_found_and_closed(store: EventStore, emu: Emulator) -> None:
    kept = emu.add_session("tool_use")
    archived = emu.add_session("mcp")
    emu.archive(archived)
    with emu.serve() as server:
        report = record(store, server, discover=True)
    outcomes = {o.session_id: o for o in report.sessions}
    assert set(outcomes) == {kept, archived}
    assert outcomes[archived].state == "closed" and outcomes[archived].complete
    assert outcomes[kept].state == "settled" and not outcomes[kept].complete
    assert_exact(store, emu, [kept, archived])
    state = Lifecycle(store).state(archived)
    assert state is not None and state.archived_at is not None


def test_a_deleted_session_keeps_its_events_and_is_marked(store: EventStore, emu: Emulator, backend_url: str
                                                           ) -> None:
    sid = emu.add_session("tool_use")
    with emu.serve() as server:
        record(store, server, [sid])
        assert_exact(store, emu, [sid])
        before = [e.payload for e in store.stream_events(sid)]
        emu.delete(sid)
        env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": server.base_url, "RECORDER_DB": backend_url}
        result = CliRunner().invoke(cli, ["record", sid, "--no-json"], env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if sid in line]
    assert len(lines) == 1 and "deleted upstream" in lines[0]
    assert [e.payload for e in store.stream_events(sid)] == before
    listed = json.loads(CliRunner().invoke(cli, ["sessions", "--format", "json"], env=env).output)
    (row,) = [r for r in listed if r["session_id"] == sid]
    assert row["deleted_at"] is not None and row["state"] == "deleted" and row["archived_at"] is None
    assert len(ComplianceStore(store).audit_entries(sid, DELETED_ACTION)) == 1


def test_a_session_deleted_while_followed_ends_the_follow_with_its_files_kept(store: EventStore, emu: Emulator
                                                                             ) -> None:
    sid = emu.add_session("tool_use")
    with emu.serve() as server:
        record(store, server, [sid])  # settles: files archived
        files = archived_files(store, sid)
        assert files == {f["id"] for f in emu.files(sid)}
        timer = threading.Timer(0.5, emu.delete, args=(sid,))
        timer.start()
        report = record(store, server, [sid], follow=True, deadline=30, settle=60)
        timer.join()
    assert report.outcome == "ok"
    assert [o.state for o in report.sessions] == ["deleted"]
    assert archived_files(store, sid) == files
    assert Lifecycle(store).state(sid).state == "deleted"  # type: ignore[union-attr]


def test_a_second_record_all_with_nothing_changed_asks_only_for_the_list(store: EventStore, emu: Emulator) -> None:
    sids = [emu.add_session(name) for name in ("tool_use", "mcp", "errors")]
    archived = emu.add_session("unicode")
    emu.archive(archived)
    with emu.serve() as server:
        first = record(store, server, discover=True)
        assert len(first.sessions) == 4
        seen = len(server.requests)
        again = record(store, server, discover=True)
        paths = session_paths(server)[seen:]
    assert again.sessions == [] and again.unchanged == 4
    assert paths and all(p.rstrip("/") == "/v1/sessions" for p in paths), paths
    assert_exact(store, emu, [*sids, archived])


def test_a_session_that_runs_again_is_recorded_again(store: EventStore, emu: Emulator) -> None:
    sid = emu.add_session("tool_use")
    with emu.serve() as server:
        record(store, server, discover=True)
        emu.send_message(sid, "one more thing", wait=True, files=1)
        again = record(store, server, discover=True, **QUICK)
    assert [o.session_id for o in again.sessions] == [sid]
    assert again.sessions[0].events_added > 0
    assert_exact(store, emu, [sid])
    assert archived_files(store, sid) == {f["id"] for f in emu.files(sid)}


def _serve(store: EventStore, server: ApiServer, port: int, deadline: float, **options: Any) -> threading.Thread:
    def run() -> None:
        with pytest.raises(DeadlineReached):
            record(store, server, discover=True, follow=True, listen=("127.0.0.1", port), deadline=deadline,
                   **options)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("faults", ["", "drop=1,duplicate=3"])
def test_a_new_session_is_recorded_through_webhooks_alone(store: EventStore, emu: Emulator, faults: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep is far away (it lists once, at the start, before the session exists): only webhooks tell the
    service of the new session. A dropped delivery and doubled ones lose and double nothing."""
    monkeypatch.setenv("ANTHROPIC_WEBHOOK_SIGNING_KEY", emu.webhook_secret)
    port = free_port()
    with emu.serve() as server:
        thread = _serve(store, server, port, 8, sweep_interval=600, **QUICK)
        try:
            assert until(lambda: len(server.requests) > 0, 5)
            time.sleep(0.3)
            emu.configure_webhooks(f"http://127.0.0.1:{port}/webhooks", emu.webhook_secret, faults or None)
            created = time.monotonic()
            sid = emu.create_session("tool_use", interval=0.01)
            emu.wait_until_finished(sid, 20)
            assert until(lambda: Lifecycle(store).state(sid) is not None
                         and Lifecycle(store).state(sid).state == "settled", 6), "not recorded within seconds"
            took = time.monotonic() - created
        finally:
            thread.join()
    assert took < 8
    assert_exact(store, emu, [sid])
    deliveries = Lifecycle(store).deliveries()
    ids = [d.webhook_id for d in deliveries]
    assert len(ids) == len(set(ids))
    assert deliveries and all(d.session_id == sid for d in deliveries)
    list_calls = [r for r in server.requests if r.path.rstrip("/") == "/v1/sessions"]
    assert len(list_calls) == 1, "one sweep only, at the start"


def test_max_rpm_is_never_exceeded_and_everything_is_recorded(sqlite_url: str, emu: Emulator) -> None:
    """--max-rpm 300: no 10 s window carries more than 60 requests (the budget does not depend on the backend)."""
    store = EventStore(sqlite_url)
    sids = [emu.add_session(name) for name in ("tool_use", "mcp", "custom_tool", "confirmation", "multi_agent",
                                               "errors", "budget", "interrupts", "outcome", "unicode", "compaction",
                                               "unknown_types", "tool_use")]
    with emu.serve() as server:
        report = record(store, server, discover=True, max_rpm=300)
        times = [r.at for r in server.requests]
    assert not report.failed
    assert_exact(store, emu, sids)
    assert len(times) > 60, "enough requests to test the budget"
    worst = max(sum(1 for t in times if start <= t < start + 10.0) for start in times)
    assert worst <= 60, f"{worst} requests in one 10 s window"
    store.close()


def test_the_service_picks_a_settled_session_up_again_when_it_runs_again(store: EventStore, emu: Emulator) -> None:
    """No webhooks: the sweep notices the changed list entry of a settled session that got a new message."""
    sid = emu.add_session("tool_use")
    settled_once: list[int] = []
    files_before: list[int] = []

    def done() -> bool:
        state = Lifecycle(store).state(sid)
        settled = state is not None and state.state == "settled"
        if not settled_once:
            if settled:  # the first time: record where the log stood, then the session runs again
                settled_once.append(store.head_position())
                files_before.append(len(archived_files(store, sid)))
                emu.send_message(sid, "and now the docs", wait=True, files=1)
            return False
        archived = archived_files(store, sid)  # the new file shows in the API's list a little later: wait for it
        return (settled and store.head_position() > settled_once[0]
                and len(recorded_ids(store, sid)) == len(emu.ground_truth(sid))
                and len(archived) == files_before[0] + 1 and archived == {f["id"] for f in emu.files(sid)})

    with emu.serve() as server:
        record_until(store, server, done, limit=60, discover=True, follow=True, sweep_interval=0.3, **QUICK)
    assert settled_once, "the session settled a first time"
    assert_exact(store, emu, [sid])
    assert Lifecycle(store).state(sid).state == "settled"  # type: ignore[union-attr]
    assert archived_files(store, sid) == {f["id"] for f in emu.files(sid)}


def recorded_ids(store: EventStore, session_id: str) -> list[str]:
    return [e.event_id for e in store.stream_events(session_id)]


def test_listen_needs_the_signing_key_and_the_service(emu: Emulator, backend_url: str) -> None:
    with emu.serve() as server:
        env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": server.base_url, "RECORDER_DB": backend_url,
               "ANTHROPIC_WEBHOOK_SIGNING_KEY": ""}
        runner = CliRunner()
        usage = runner.invoke(cli, ["record", "--all", "--listen", "127.0.0.1:0"], env=env)
        assert usage.exit_code == 2 and "--listen goes with --all --follow" in usage.output
        no_key = runner.invoke(cli, ["record", "--all", "--follow", "--listen", "127.0.0.1:0", "--deadline", "5"],
                               env=env)
        assert no_key.exit_code == 2 and "ANTHROPIC_WEBHOOK_SIGNING_KEY" in no_key.output  # a configuration error
        # a process of its own: at its deadline the watchdog may end the process (status 3 as well)
        served = run_cli(["record", "--all", "--follow", "--listen", "127.0.0.1:0", "--deadline", "1.5"],
                         cli_env(server, backend_url, ANTHROPIC_WEBHOOK_SIGNING_KEY=emu.webhook_secret))
        assert served.returncode == 3, served.stderr
