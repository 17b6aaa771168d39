"""The one atomic output writer (recorder.output.files): what it replaces, what it refuses, how it fails."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from recorder.errors import OutputError
from recorder.output import files


def _partials(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".partial")]


def test_a_new_file_is_written_whole_with_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    files.write_text(target, "hello\n")
    assert target.read_text() == "hello\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert _partials(tmp_path) == []


def test_a_replaced_file_keeps_its_mode_and_is_never_seen_half_written(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old")
    target.chmod(0o600)
    with files.opened(target) as stream:
        stream.write("new")
        assert target.read_text() == "old"  # not yet: the temporary file is renamed at the end
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failure_inside_the_block_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.opened(target) as stream:
        stream.write("partial")
        raise RuntimeError("the renderer failed")
    assert target.read_text() == "old" and _partials(tmp_path) == []


def test_a_symlink_is_written_through_and_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    files.write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "later.md")
    files.write_text(link, "new")
    assert link.is_symlink() and (tmp_path / "later.md").read_text() == "new"


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    files.write_text(fifo, "through the pipe")
    reader.join(timeout=10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_is_written_into_not_replaced(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    link = tmp_path / "link"
    link.symlink_to(null)
    files.write_text(null, "discarded")
    files.write_text(link, "discarded")
    assert stat.S_ISCHR(null.lstat().st_mode) and link.is_symlink()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "dir"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OutputError, match=r"cannot write .*dir: it is a directory"):
        files.write_text(target, "new")
    assert (target / "keep").read_text() == "x"


def test_a_socket_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(OutputError, match="not a regular file"):
            files.write_text(path, "new")
        assert stat.S_ISSOCK(path.lstat().st_mode)


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.md"
    with pytest.raises(OutputError) as caught:
        files.write_text(target, "new")
    assert str(caught.value) == f"cannot write {target}: No such file or directory"


def test_permission_denied_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):
        locked.chmod(0o700)
        pytest.skip("running as root: permissions are not enforced")
    with pytest.raises(OutputError, match="Permission denied"):
        files.write_text(locked / "x.md", "new")


def test_a_full_disk_injected_at_the_seam_leaves_nothing_behind(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes to /dev/full fail with ENOSPC: the temporary file's descriptor is swapped for one on /dev/full."""
    real = files._make_temp

    def full(directory: str, name: str) -> tuple[int, str]:
        handle, temp = real(directory, name)
        os.close(handle)
        return os.open("/dev/full", os.O_WRONLY), temp

    monkeypatch.setattr(files, "_make_temp", full)
    existing = tmp_path / "old.md"
    existing.write_text("old")
    for target in (tmp_path / "new.md", existing):
        with pytest.raises(OutputError, match=f"cannot write {target}: No space left on device"):
            files.write_text(target, "x" * 100_000)
    assert not (tmp_path / "new.md").exists() and existing.read_text() == "old"
    assert _partials(tmp_path) == []


def test_a_full_tmpfs_leaves_no_empty_or_partial_file(full_disk: Path) -> None:
    target = full_disk / "report.csv"
    with pytest.raises(OutputError, match="No space left on device"):
        files.write_text(target, "x" * 200_000)
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_write_via_a_path_producer_is_atomic_too(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def fails(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        files.write_via(target, fails)
    assert target.read_bytes() == b"old" and _partials(tmp_path) == []
    files.write_via(target, lambda path: path.write_bytes(b"new"))
    assert target.read_bytes() == b"new"


def test_dash_is_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    files.write_text("-", "to stdout\n")
    files.write_text(None, "again\n")
    assert capsys.readouterr().out == "to stdout\nagain\n"
