"""Secrets never reach the log, its exports or the recorder's output: the API key and repository tokens."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from recorder.cli import cli
from recorder.emulator import Emulator
from recorder.ingest.scrub import SCRUBBED
from recorder.store import EventStore
from tests.compliance.secret_scan import find_secrets
from tests.recorder.support import API_KEY, cli_env, run_cli


def tokens(emu: Emulator, session_ids: list[str]) -> set[str]:
    found = {
        resource["authorization_token"]
        for sid in session_ids
        for resource in emu.session(sid).get("resources", [])
        if resource.get("authorization_token")
    }
    assert found, "the scenarios carry repository tokens to scrub"
    return found


def test_no_secret_anywhere(backend_url: str, tmp_path: Path) -> None:
    emu = Emulator(seed=91, heartbeat=0.2)
    finished = emu.add_standard_sessions(long_events=500)
    live = emu.add_session("live", interval=0.02, autostart=False)
    sids = [*finished, live]
    secrets = {API_KEY, *tokens(emu, sids)}
    logs = tmp_path / "logs"
    logs.mkdir()
    with emu.serve() as server:
        env = cli_env(server, backend_url)
        emu.start(live)
        emu.set_faults(finished[0], "rate_limit=1,retry_after=0.05")  # retries are reported in the output too
        result = run_cli(["record", *sids, "--follow", "--settle", "1", "--verbose", "--deadline", "120"], env)
        (logs / "record.out").write_text(result.stdout + result.stderr, encoding="utf-8")
        assert result.returncode == 0, result.stderr
        for command in (["sessions"], ["events", finished[0]], ["transcript", live], ["verify"]):
            shown = run_cli(command, env)
            assert shown.returncode == 0, (command, shown.stderr)
            (logs / f"{command[0]}.out").write_text(shown.stdout + shown.stderr, encoding="utf-8")

    with EventStore(backend_url) as store:
        snapshot = store.latest_snapshot(finished[0])
        assert snapshot is not None
        repository = next(r for r in snapshot["resources"] if r["type"] == "github_repository")
        assert repository["authorization_token"] == SCRUBBED, "the field is kept, its value replaced"
    bundle = tmp_path / "bundle"
    exported = CliRunner().invoke(cli, ["export", "--all", "--out", str(bundle), "--db", backend_url])
    assert exported.exit_code == 0, exported.output
    assert any(bundle.rglob("*.jsonl"))

    assert find_secrets(backend_url, secrets, [bundle, logs]) == []
    emu.close()
