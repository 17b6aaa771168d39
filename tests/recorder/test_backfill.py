"""Backfill: every scenario recorded through the SDK equals the emulator's truth, exactly, in order, once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from recorder.cli import cli
from recorder.emulator import ApiServer, Emulator
from recorder.store import EventStore, FileArchive
from tests.recorder.support import assert_exact, ndjson_lines, record, truth


@pytest.fixture(scope="module")
def standard() -> Iterator[tuple[Emulator, list[str], ApiServer]]:
    emu = Emulator(seed=21, heartbeat=0.2)
    sids = emu.add_standard_sessions(long_events=2500)
    with emu.serve() as server:
        yield emu, sids, server
    emu.close()


def test_every_scenario_is_recorded_exactly_once(store: EventStore, standard) -> None:
    emu, sids, server = standard
    report = record(store, server, sids)
    assert report.outcome == "ok" and not report.failed
    total = assert_exact(store, emu, sids)
    assert report.events_added == total
    for outcome in report.sessions:  # finished work ends idle (settled); only an error terminates (closed)
        status = emu.status(outcome.session_id)
        assert outcome.state == ("closed" if status == "terminated" else "settled"), (outcome, status)
        assert outcome.complete == (status == "terminated")
    assert {o.state for o in report.sessions} == {"settled", "closed"}
    head = store.head_position()

    again = record(store, server, sids)
    assert again.events_added == 0
    assert store.head_position() == head
    for outcome in again.sessions:  # closed sessions need no request; settled ones are asked again (nothing new)
        closed = emu.status(outcome.session_id) == "terminated"
        assert (outcome.skipped == "already complete in the log") == closed

    refreshed = record(store, server, sids, refresh=True)  # really asks the API again: still nothing new
    assert refreshed.events_added == 0 and store.head_position() == head
    assert_exact(store, emu, sids)


def test_discovery_records_every_listed_session(store: EventStore, standard) -> None:
    emu, sids, server = standard
    idle = [s for s in sids if emu.status(s) == "idle"]
    assert idle and len(idle) < len(sids)
    report = record(store, server, discover=True, statuses=("idle",))
    assert sorted(o.session_id for o in report.sessions) == sorted(idle)
    report = record(store, server, discover=True)
    assert sorted(o.session_id for o in report.sessions) == sorted(set(sids) - set(idle)), "only what changed"
    assert_exact(store, emu, sids)


def test_threads_snapshots_and_files(store: EventStore, standard) -> None:
    emu, sids, server = standard
    multi = next(s for s in sids if emu.scenario(s) == "multi_agent")
    with_files = [s for s in sids if emu.files(s)]
    assert with_files, "the scenarios should include sessions that wrote files"
    record(store, server, [multi, *with_files])

    assert set(store.thread_ids(multi)) == set(emu.thread_ids(multi))
    assert len(emu.thread_ids(multi)) >= 3
    for thread_id in emu.thread_ids(multi):
        snapshot = store.latest_snapshot(multi, thread_id)
        assert snapshot is not None and snapshot["id"] == thread_id
    session = store.latest_snapshot(multi)
    assert session is not None and session["status"] == "idle"
    assert session["agent"]["model"]["id"]

    archive = FileArchive(store)
    for session_id in with_files:
        expected = {f["id"]: hashlib.sha256(emu.file_content(f["id"])).hexdigest() for f in emu.files(session_id)}
        archived = {f.file_id: f.sha256 for f in archive.files(session_id)}
        assert archived == expected
        for file_id in expected:
            assert archive.content(session_id, file_id) == emu.file_content(file_id)


def test_events_command_prints_exactly_what_the_api_delivered(store: EventStore, backend_url: str, standard) -> None:
    emu, sids, server = standard
    chosen = [s for s in sids if emu.scenario(s) in ("unicode", "interrupts", "unknown_types", "multi_agent")]
    record(store, server, chosen)
    runner = CliRunner()
    for session_id in chosen:
        for thread_id in [None, *emu.thread_ids(session_id)]:
            args = ["events", session_id, "--db", backend_url]
            if thread_id:
                args += ["--thread", thread_id]
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, result.output
            lines = ndjson_lines(result.stdout)
            assert [json.loads(line) for line in lines] == truth(emu, session_id, thread_id)
            sent = [text for text in emu.ground_truth_json(session_id, thread_id)
                    if json.loads(text).get("processed_at") is not None]
            assert lines == sent, "byte for byte what the API sent"
    result = runner.invoke(cli, ["events", chosen[0], "--db", backend_url, "--type", "user.interrupt"])
    assert all(json.loads(line)["type"] == "user.interrupt" for line in ndjson_lines(result.stdout))


def test_sessions_command_lists_what_is_recorded(store: EventStore, backend_url: str, standard) -> None:
    emu, sids, server = standard
    record(store, server, sids[:3])
    result = CliRunner().invoke(cli, ["sessions", "--db", backend_url, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["session_id"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(sids[:3])
    for session_id in sids[:3]:
        distinct = {e["id"] or json.dumps(e) for tid in [None, *emu.thread_ids(session_id)]
                    for e in truth(emu, session_id, tid)}
        assert rows[session_id]["events"] == len(distinct)
        row = rows[session_id]
        closed = emu.status(session_id) == "terminated"
        assert row["complete"] is closed and row["status"] == emu.status(session_id)
        assert row["state"] == ("closed" if closed else "settled")
        assert row["archived_at"] is None and row["deleted_at"] is None
    table = CliRunner().invoke(cli, ["sessions", "--db", backend_url])
    assert all(session_id in table.stdout for session_id in sids[:3])
