"""Every command that only reads works on a read-only SQLite file or medium (verifying an archive copy on
read-only media is a compliance use case), and a read-only opening cannot write, on SQLite and PostgreSQL.

Tests run as root, who bypasses file permissions, so "read-only" is made real twice: a tmpfs mounted and then
remounted read-only (the kernel refuses writes even to root), and a chmod'ed file in a chmod'ed directory read by
an unprivileged user (``setpriv`` to ``nobody``). Neither is skipped silently: without root or setpriv the test
fails, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.cli import cli
from recorder.errors import StoreReadOnly
from recorder.store import EventStore, migrate, open_read_only
from tests.compliance.support import build_log
from tests.helpers import message, raws

READERS = [
    ["sessions"], ["sessions", "--format", "json"], ["events", "sesn_a"], ["transcript", "sesn_a"],
    ["transcript", "sesn_a", "--format", "html"], ["replay", "sesn_a", "--speed", "0"], ["verify"],
    ["verify", "sesn_b"], ["verify", "--workers", "2"], ["anchor"], ["hold", "list"], ["audit"], ["db", "current"],
    ["usage", "--analytics-db", "{tmp}/a.duckdb"], ["tools", "--analytics-db", "{tmp}/a.duckdb"],
    ["latency", "--analytics-db", "{tmp}/a.duckdb"], ["export", "--all", "--out", "{tmp}/bundle"],
]


def _build(path: Path) -> str:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    with EventStore(url) as store:
        build_log(store)
    return url


@pytest.fixture
def read_only_medium(tmp_path: Path) -> Iterator[Path]:
    """A directory on a filesystem mounted read-only, holding a migrated log with two sessions."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root to mount a read-only filesystem (tests run as root here)")
    mountpoint = tmp_path / "medium"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mountpoint)], check=True)
    try:
        _build(mountpoint / "log.db")
        for leftover in ("log.db-wal", "log.db-shm"):
            assert not (mountpoint / leftover).exists() or (mountpoint / leftover).stat().st_size >= 0
        subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], check=True)
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_read_only_medium(args: list[str], read_only_medium: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{read_only_medium / 'log.db'}"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--db", url]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.stderr
    with pytest.raises(OSError):
        (read_only_medium / "probe").write_text("x")  # the medium really is read-only


def test_writing_to_a_read_only_medium_is_one_line(read_only_medium: Path) -> None:
    url = f"sqlite:///{read_only_medium / 'log.db'}"
    result = CliRunner().invoke(cli, ["hold", "add", "sesn_a", "--reason", "x", "--db", url])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and "read-only" in result.stderr


def test_chmod_read_only_file_read_by_another_user(request: pytest.FixtureRequest) -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.fail("this test needs root and setpriv(1) to read as an unprivileged user")
    home = Path(tempfile.mkdtemp(prefix="recorder-ro-"))  # pytest's own tmp dirs are root's alone (0700)
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    home.chmod(0o755)
    archive = home / "archive"
    archive.mkdir()
    url = _build(archive / "log.db")
    with EventStore(url) as store:  # a clean copy: the WAL checkpointed into the file
        store.engine.dispose()
    for leftover in archive.glob("log.db-*"):
        leftover.unlink()
    (archive / "log.db").chmod(0o444)
    archive.chmod(0o555)
    for args in (["verify"], ["sessions"], ["events", "sesn_b"], ["transcript", "sesn_a"]):
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "recorder",
             *args, "--db", url],
            capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)},
        )
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not list(archive.glob("log.db-*"))


def test_a_read_only_opening_cannot_write(store: EventStore) -> None:
    store.append(raws([message(1)]))
    with open_read_only(store.url) as reader:
        assert reader.head_position() == 1
        with pytest.raises(StoreReadOnly):
            reader.append(raws([message(2)]))
    assert store.head_position() == 1
