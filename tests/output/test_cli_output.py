"""Every command that writes a file writes it the same way: `-o -` is standard output, a symlink is written
through, a device or FIFO is never replaced, and a missing directory, a directory or a full disk is one line on
stderr, exit 1, no traceback and no 0-byte or partial file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from recorder.store import EventStore
from tests.compliance.support import build_log


@pytest.fixture
def log_url(sqlite_url: str) -> str:
    with EventStore(sqlite_url) as store:
        build_log(store)
    return sqlite_url


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("recorder: cannot write"), result.stderr
    assert "Traceback" not in result.output + result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def _writers(url: str, tmp_path: Path) -> dict[str, list[str]]:
    """command -> its arguments before -o (each writes the file its own -o names)."""
    duck = str(tmp_path / "analytics.duckdb")
    return {
        "transcript": ["transcript", "sesn_a", "--db", url],
        "anchor": ["anchor", "--db", url],
        "usage": ["usage", "--db", url, "--analytics-db", duck, "--format", "csv"],
        "analytics report": ["analytics", "report", "--db", url, "--analytics-db", duck],
    }


COMMANDS = ["transcript", "anchor", "usage", "analytics report"]


@pytest.mark.parametrize("command", COMMANDS)
def test_dash_is_standard_output(command: str, log_url: str, tmp_path: Path) -> None:
    result = run(*_writers(log_url, tmp_path)[command], "-o", "-")
    assert result.exit_code == 0, result.output
    assert len(result.stdout) > 50 and not (Path.cwd() / "-").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_directory_is_one_line(command: str, log_url: str, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.out"
    _one_line_error(run(*_writers(log_url, tmp_path)[command], "-o", str(target)), str(target),
                    "No such file or directory")


def test_transcript_onto_a_directory_is_one_line(log_url: str, tmp_path: Path) -> None:
    _one_line_error(run("transcript", "sesn_a", "--db", log_url, "-o", str(tmp_path)), "is a directory")
    assert tmp_path.is_dir()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symlink_is_written_through(command: str, log_url: str, tmp_path: Path) -> None:
    real = tmp_path / "real.out"
    real.write_text("old")
    link = tmp_path / "link.out"
    link.symlink_to(real)
    result = run(*_writers(log_url, tmp_path)[command], "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.stat().st_size > 50


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize("command", ["transcript", "anchor"])
def test_a_device_node_is_not_replaced(command: str, log_url: str, tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = run(*_writers(log_url, tmp_path)[command], "-o", str(null))
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(null.lstat().st_mode)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_leaves_no_file(command: str, log_url: str, tmp_path: Path, full_disk: Path) -> None:
    target = full_disk / "x.out"
    _one_line_error(run(*_writers(log_url, tmp_path)[command], "-o", str(target)), str(target),
                    "No space left on device")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


@pytest.mark.parametrize("args", [["sessions", "--format", "json"], ["events", "sesn_a"], ["--help"]],
                         ids=" ".join)
def test_stdout_on_a_full_disk_is_one_line(args: list[str], log_url: str, tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "recorder", *args, *(["--db", log_url] if args[0] != "--help"
                                                                            else [])],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["recorder: cannot write to standard output: No space left on device"]


def test_the_analytics_file_on_a_full_disk_is_not_left_behind(log_url: str, full_disk: Path) -> None:
    """A read model that could not be created leaves no 0-byte file: the next run (with space) just works."""
    duck = full_disk / "analytics.duckdb"
    first = run("usage", "--db", log_url, "--analytics-db", str(duck))
    assert first.exit_code == 1 and "full" in first.stderr and "Traceback" not in first.stderr
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
    (full_disk / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,size=64m", str(full_disk)], check=True)  # room for the whole file
    second = run("usage", "--db", log_url, "--analytics-db", str(duck))
    assert second.exit_code == 0, second.output
