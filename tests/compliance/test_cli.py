"""The compliance commands: verify, anchor, export, verify-bundle, hold, prune, audit, db roles."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from recorder.store import EventStore
from tests.compliance.support import build_log, tamper

COMMANDS = [["verify"], ["anchor"], ["export"], ["verify-bundle"], ["hold"], ["hold", "add"], ["hold", "remove"],
            ["hold", "list"], ["prune"], ["audit"], ["db", "roles"]]


@pytest.fixture
def log_url(sqlite_url: str) -> str:
    with EventStore(sqlite_url) as store:
        build_log(store)
    return sqlite_url


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_is_documented(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert len(result.output.split("\n\n")[1].strip()) > 30  # a real description, not just the usage line


def test_verify(log_url: str) -> None:
    result = run("verify", "--db", log_url)
    assert result.exit_code == 0
    assert result.output.startswith("ok: verified 15 events in 3 streams of 2 sessions")
    report = json.loads(run("verify", "--db", log_url, "--format", "json", "sesn_b").output)
    assert (report["ok"], report["events"], report["scope"], report["first_problem"]) == (True, 4, "sessions", None)


def test_verify_reports_the_first_bad_place_in_one_line(log_url: str) -> None:
    with EventStore(log_url) as store:
        tamper(store, "UPDATE events SET payload = replace(payload, 'number 5', 'number 6') WHERE position = 10")
    result = run("verify", "--db", log_url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == ("recorder: log is NOT intact: session sesn_a, session stream, seq 5, position 10: "
                             "payload does not match its payload_hash (payload or hash edited)\n")
    result = run("verify", "--db", log_url, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert (report["first_problem"]["session_id"], report["first_problem"]["seq"]) == ("sesn_a", 5)
    assert run("verify", "--db", log_url, "sesn_b").exit_code == 0  # the other session is intact


def test_verify_from_a_real_process_prints_no_traceback(log_url: str) -> None:
    with EventStore(log_url) as store:
        tamper(store, "DELETE FROM events WHERE position = 4")
    result = subprocess.run([sys.executable, "-m", "recorder", "verify", "--db", log_url], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "recorder: log is NOT intact: session sesn_a, session stream, seq 4, position 5: seq 3 missing before this "
        "event (deleted events) (and 1 more problem; --format json lists them)"]


def test_anchor_and_verify_against_it(log_url: str, tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    result = run("anchor", "--db", log_url, "-o", str(path))
    assert result.exit_code == 0 and "anchored 3 streams at log head 15" in result.output
    to_stdout, in_file = json.loads(run("anchor", "--db", log_url).output), json.loads(path.read_text())
    assert to_stdout.pop("created_at") != "" and in_file.pop("created_at") != ""
    assert to_stdout == in_file
    result = run("verify", "--db", log_url, "--anchor", str(path))
    assert result.exit_code == 0 and "extends the anchor" in result.output
    with EventStore(log_url) as store:
        tamper(store, "DELETE FROM events WHERE position = 15",
               "UPDATE streams SET last_seq = 7, head_hash = (SELECT chain_hash FROM events WHERE position = 14) "
               "WHERE stream_key = 'sesn_a/'", "UPDATE log_head SET last_position = 14")
    assert run("verify", "--db", log_url).exit_code == 0
    result = run("verify", "--db", log_url, "--anchor", str(path))
    assert result.exit_code == 1
    assert "session sesn_a, session stream, seq 8: holds 7 events, the anchor of" in result.stderr
    assert run("verify", "--db", log_url, "--anchor", str(tmp_path / "missing.json")).exit_code == 2


def test_export_and_verify_bundle(log_url: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = run("export", "--db", log_url, "--all", "--out", str(out))
    assert result.exit_code == 0 and result.output.startswith("exported 15 events in 3 streams of 2 sessions")
    result = run("verify-bundle", str(out))
    assert result.exit_code == 0 and result.output.startswith(f"ok: bundle {out} is intact: 15 events")
    assert json.loads(run("verify-bundle", str(out), "--format", "json").output)["ok"] is True
    events = out / "sessions" / "sesn_b" / "events.jsonl"
    events.write_bytes(events.read_bytes().replace(b"number 2", b"number 3"))
    result = run("verify-bundle", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"recorder: bundle {out} is NOT intact: sessions/sesn_b/events.jsonl does not "
                                    "match its sha256")
    assert run("export", "--db", log_url, "--out", str(tmp_path / "x")).exit_code == 2  # neither IDs nor --all
    assert run("export", "--db", log_url, "--all", "--out", str(out)).exit_code == 2  # not empty
    assert run("verify-bundle", str(tmp_path)).exit_code == 2  # not a bundle


def test_hold_prune_audit(log_url: str) -> None:
    assert run("hold", "add", "sesn_a", "--db", log_url, "--reason", "case 12", "--by", "alice").exit_code == 0
    listed = json.loads(run("hold", "list", "--db", log_url, "--format", "json").output)
    assert [(h["session_id"], h["held_by"], h["reason"]) for h in listed] == [("sesn_a", "alice", "case 12")]
    assert "sesn_a" in run("hold", "list", "--db", log_url).output
    time.sleep(1.1)  # let the sessions' last activity be more than a second ago
    result = run("prune", "--db", log_url, "--older-than", "1s", "--dry-run", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.output)["kept_held"] == ["sesn_a"]
    assert run("prune", "--db", log_url, "--older-than", "forever").exit_code == 2
    assert run("hold", "add", "sesn_nope", "--db", log_url, "--reason", "x").exit_code == 1
    assert run("hold", "add", "sesn_a", "--db", log_url).exit_code == 2  # --reason is required
    result = run("hold", "remove", "sesn_a", "--db", log_url, "--reason", "closed", "--by", "bob")
    assert result.exit_code == 0 and "no longer under legal hold" in result.output
    trail = json.loads(run("audit", "--db", log_url, "--format", "json").output)
    assert [(e["action"], e["actor"], e["reason"]) for e in trail] == [("hold", "alice", "case 12"),
                                                                      ("release", "bob", "closed")]
    assert "release" in run("audit", "--db", log_url, "--session", "sesn_a").output


def test_db_roles_prints_its_sql() -> None:
    result = run("db", "roles", "--sql", "--writer", "w", "--reader", "r")
    assert result.exit_code == 0
    assert "GRANT SELECT, INSERT ON events TO w;" in result.output.splitlines()
    assert run("db", "roles", "--sql", "--writer", "W!", "--reader", "r").exit_code == 2


def test_db_roles_refuses_sqlite(log_url: str) -> None:
    result = run("db", "roles", "--db", log_url)
    assert result.exit_code == 2 and "PostgreSQL only" in result.stderr
