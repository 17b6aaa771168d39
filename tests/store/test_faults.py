"""Bad URLs, an unreachable server, read-only and full disks: one clear line, a non-zero exit, no partial batch."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from recorder.errors import ConfigError, StoreFull, StoreReadOnly, StoreUnavailable
from recorder.store import EventStore, migrate
from recorder.store.sql import make_engine
from tests.helpers import message, raws


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recorder", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("recorder: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("bogus", "bad database URL"),
        ("mysql://root@localhost/x", "unsupported database"),
        ("sqlite:////no/such/directory/log.db", "does not exist"),
    ],
)
def test_bad_database_urls(url: str, needle: str) -> None:
    assert_one_line_error(run_cli("db", "upgrade", "--db", url), needle)


def test_bad_url_from_the_environment() -> None:
    assert_one_line_error(run_cli("db", "current", env={"RECORDER_DB": "nonsense://"}), "database")


def test_unreachable_server() -> None:
    result = run_cli("db", "upgrade", "--db", "postgresql://postgres@127.0.0.1:1/nothing")
    assert_one_line_error(result, "cannot reach", "server running")
    assert result.returncode == 1


def test_unmigrated_database_says_to_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert_one_line_error(run_cli("db", "check", "--db", url), "recorder db upgrade")


def test_read_only_database_file(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    migrate.upgrade(f"sqlite:///{path}")
    migrate.downgrade(f"sqlite:///{path}", "base")
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    assert_one_line_error(run_cli("db", "upgrade", "--db", url), "read-only")
    with pytest.raises(StoreReadOnly):
        migrate.upgrade(url)


def _max_pages_engine(url: str, pages: int):
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _limit(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    return engine


def test_full_database_keeps_no_partial_batch(sqlite_url: str) -> None:
    with EventStore(sqlite_url) as store:
        store.append(raws([message(0)]))
        pages = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar_one()
    store = EventStore(sqlite_url, engine=_max_pages_engine(sqlite_url, pages + 20))
    try:
        batch = raws([message(i, text="x" * 4000) for i in range(1, 1001)])
        with pytest.raises(StoreFull, match="full"):
            store.append(batch)
        assert store.head_position() == 1
        assert store.stream_info("sesn_a").last_seq == 1
    finally:
        store.close()


# ----------------------------------------------------------------------- real disks (tmpfs)


def _can_mount() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs), so the disk itself fills up or turns read-only."""
    if not _can_mount():
        pytest.skip("mounting a small tmpfs needs root on Linux; the max_page_count test covers a full log")
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk(small_disk: Path) -> None:
    url = f"sqlite:///{small_disk / 'log.db'}"
    migrate.upgrade(url)
    filler = small_disk / "filler"
    with EventStore(url) as store:
        store.append(raws([message(0)]))
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        filler.write_bytes(b"\0" * max(0, free - 64 * 1024))
        batch = raws([message(i, text="y" * 1000) for i in range(1, 1001)])
        with pytest.raises(StoreFull, match="free space"):
            store.append(batch)
        assert store.head_position() == 1
    filler.unlink()
    with EventStore(url) as store:
        assert store.append(batch).added == 1000


def test_full_disk_from_the_cli(small_disk: Path) -> None:
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(b"\0" * (free - 8 * 1024))
    result = run_cli("db", "upgrade", "--db", f"sqlite:///{small_disk / 'log.db'}")
    assert_one_line_error(result, "full")


def test_read_only_disk(small_disk: Path) -> None:
    url = f"sqlite:///{small_disk / 'log.db'}"
    migrate.upgrade(url)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises((StoreReadOnly, StoreUnavailable)), EventStore(url) as store:
        store.append(raws([message(1)]))
    result = run_cli("db", "downgrade", "--db", url, "base", "--yes")
    assert_one_line_error(result)


def test_config_error_is_a_usage_error() -> None:
    with pytest.raises(ConfigError):
        make_engine("bogus")
    assert run_cli("db", "upgrade", "--db", "bogus").returncode == 2


@pytest.mark.parametrize("backend_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_pooled_connection_the_server_closed_is_replaced_before_use(backend_url: str) -> None:
    """The server ends an idle pooled connection (a restart, an idle timeout, an administrator): the next append
    gets a live connection and succeeds, instead of failing the run with StoreUnavailable."""
    import psycopg
    with EventStore(backend_url) as store:
        store.append(raws([message(0)], "sesn_pool"))
        admin = psycopg.connect(backend_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        try:
            killed = [pid for pid, terminated in admin.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'recorder' "
                "AND datname = current_database() AND pid <> pg_backend_pid()"
            ) if terminated]
            deadline = time.monotonic() + 30
            while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)).fetchone()[0]:
                assert time.monotonic() < deadline, "the terminated backends did not end"
                time.sleep(0.02)  # pg_terminate_backend only signals: wait until they have closed their sockets
        finally:
            admin.close()
        assert killed  # the pool's idle connection, at least
        result = store.append(raws([message(0), message(1)], "sesn_pool"))
        assert (result.added, result.skipped) == (1, 1)
        assert store.head_position() == 2


def test_an_idle_connection_past_descriptor_1024_is_alive(tmp_path: Path) -> None:
    """A recorder following hundreds of streams holds more than 1,024 descriptors, so its database connection's
    may be numbered past what ``select()`` takes: the check must still say alive (it said dead, every time)."""
    import os
    import resource
    import socket

    from recorder.store.sql import idle_connection_alive

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1500:
        pytest.skip(f"the descriptor limit ({soft}) does not allow descriptor 1500")
    ours, theirs = socket.socketpair()
    high = os.dup2(ours.fileno(), 1500)

    class Connection:
        closed = False
        broken = False

        def fileno(self) -> int:
            return high

    try:
        assert idle_connection_alive(Connection())
        theirs.sendall(b"E")  # what a server that ends the connection leaves to be read
        assert not idle_connection_alive(Connection())
    finally:
        os.close(high)
        ours.close()
        theirs.close()
