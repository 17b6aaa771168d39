"""Export bundles: deterministic, exactly as delivered, verifiable offline; one changed byte anywhere is caught."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from recorder.compliance import merkle
from recorder.compliance.bundle import verify_bundle
from recorder.compliance.export import export, safe_filename
from recorder.compliance.verify import verify
from recorder.errors import ConfigError, IntegrityViolation, NotFound
from recorder.events import raw_event
from recorder.store import EventStore, FileArchive
from tests.compliance.support import build_log, tamper
from tests.helpers import message, stamp, stream_payloads

FIXED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_bundle_verifies_offline(store: EventStore, tmp_path: Path, fmt: str) -> None:
    build_log(store)
    summary = export(store, None, tmp_path / "bundle", fmt=fmt)
    assert (summary.sessions, summary.streams, summary.events, summary.files) == (2, 3, 15, 1)
    report = verify_bundle(tmp_path / "bundle")
    assert report.ok, report.summary()
    assert (report.sessions, report.streams, report.events, report.files) == (2, 3, 15, 1)
    heads = {(h.session_id, h.thread_id): h for h in verify(store).heads}
    assert report.merkle_root == summary.merkle_root == merkle.streams_root(
        (h.session_id, h.thread_id, h.count, h.head_hash) for h in heads.values())
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["tool"]["version"] and manifest["exported_at"].endswith("Z")
    [session_a] = [s for s in manifest["sessions"] if s["session_id"] == "sesn_a"]
    assert [(s["thread_id"], s["events"], s["head_hash"]) for s in session_a["streams"]] == [
        (None, 8, heads[("sesn_a", None)].head_hash), ("sthr_1", 3, heads[("sesn_a", "sthr_1")].head_hash)]
    assert session_a["files"][0]["sha256"] == hashlib.sha256(b"# Report\n\nall green\n").hexdigest()


def test_jsonl_holds_the_events_exactly_as_delivered(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    tricky = {"type": "agent.future", "id": "sevt_tricky", "z": "nul \u0000 😀 \ud800 \"q\"", "a": [1.5, -0.0, 1e300],
              "processed_at": stamp(9)}
    store.append([raw_event(tricky, "sesn_b")])
    export(store, ["sesn_a", "sesn_b"], tmp_path / "b")
    lines = (tmp_path / "b" / "sessions" / "sesn_b" / "events.jsonl").read_bytes().splitlines()
    stored = [e.payload.encode("utf-8") for e in store.stream_events("sesn_b")]
    assert lines == stored
    assert json.loads(lines[-1]) == tricky
    thread = (tmp_path / "b" / "sessions" / "sesn_a" / "threads" / "sthr_1.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in thread] == stream_payloads(store, "sesn_a", "sthr_1")
    assert (tmp_path / "b" / "sessions" / "sesn_a" / "files" / "file_1" / "report.md").read_bytes() == \
        b"# Report\n\nall green\n"
    snapshots = (tmp_path / "b" / "sessions" / "sesn_a" / "snapshots.jsonl").read_text().splitlines()
    assert json.loads(snapshots[0])["snapshot"]["status"] == "idle"


def test_parquet_holds_the_events_exactly_as_delivered(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    export(store, ["sesn_a"], tmp_path / "b", fmt="parquet")
    path = tmp_path / "b" / "sessions" / "sesn_a" / "events.parquet"
    rows = duckdb.connect().execute(f"SELECT seq, type, payload FROM read_parquet('{path}') ORDER BY seq").fetchall()
    stored = list(store.stream_events("sesn_a"))
    assert [(r[0], r[1], r[2]) for r in rows] == [(e.seq, e.type, e.payload) for e in stored]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_the_same_log_gives_the_same_bytes(store: EventStore, tmp_path: Path, fmt: str) -> None:
    build_log(store)
    export(store, None, tmp_path / "one", fmt=fmt)
    export(store, None, tmp_path / "two", fmt=fmt)
    export(store, None, tmp_path / "three", fmt=fmt, now=FIXED)
    export(store, None, tmp_path / "four", fmt=fmt, now=FIXED)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert one.keys() == two.keys()
    differing = {name for name in one if one[name] != two[name]}
    assert differing <= {"manifest.json", "SHA256SUMS"}
    manifests = [json.loads(files["manifest.json"]) for files in (one, two)]
    for manifest in manifests:
        manifest.pop("exported_at")
        manifest.pop("manifest_sha256")
    assert manifests[0] == manifests[1]
    assert _files(tmp_path / "three") == _files(tmp_path / "four")  # and everything, given the same export time


def test_sha256sums_works_with_the_standard_tool(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    export(store, None, tmp_path / "b")
    result = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=tmp_path / "b",
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == len(_files(tmp_path / "b")) - 1


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_one_changed_byte_anywhere_is_detected(sqlite_url: str, tmp_path: Path, fmt: str) -> None:
    with EventStore(sqlite_url) as store:
        build_log(store)
        export(store, None, tmp_path / "b", fmt=fmt)
    root = tmp_path / "b"
    files = _files(root)
    assert len(files) == 7
    for name, data in files.items():
        for offset in sorted({0, len(data) // 2, len(data) - 2}):
            changed = bytearray(data)
            changed[offset] ^= 0x01
            (root / name).write_bytes(bytes(changed))
            report = verify_bundle(root)
            assert not report.ok, f"a changed byte at {offset} of {name} went unnoticed"
            (root / name).write_bytes(data)
    assert verify_bundle(root).ok


def test_added_and_missing_files_are_detected(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    export(store, None, tmp_path / "b")
    root = tmp_path / "b"
    (root / "sessions" / "extra.txt").write_text("hello")
    assert "sessions/extra.txt is in the bundle but not in the manifest" in verify_bundle(root).summary()
    (root / "sessions" / "extra.txt").unlink()
    (root / "sessions" / "sesn_b" / "events.jsonl").unlink()
    report = verify_bundle(root)
    assert not report.ok and "sessions/sesn_b/events.jsonl is in the manifest but missing" in report.summary()
    with pytest.raises(IntegrityViolation, match="is NOT intact"):
        report.raise_if_broken()


def test_a_reordered_or_truncated_stream_is_detected(store: EventStore, tmp_path: Path) -> None:
    """Even with manifest hashes recomputed to match (a forger without the original heads)."""
    build_log(store)
    export(store, None, tmp_path / "b")
    root = tmp_path / "b"
    path = root / "sessions" / "sesn_b" / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[1] + lines[0] + b"".join(lines[2:]))
    report = verify_bundle(root)
    assert any("hash chain ends at" in p.what and p.session_id == "sesn_b" for p in report.problems)


def test_export_refuses_what_it_should(store: EventStore, tmp_path: Path) -> None:
    build_log(store)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not an empty directory"):
        export(store, None, tmp_path / "full")
    with pytest.raises(NotFound, match="sesn_nope is not in the log"):
        export(store, ["sesn_nope"], tmp_path / "new")
    with pytest.raises(ConfigError, match="unknown export format"):
        export(store, None, tmp_path / "new", fmt="csv")
    tamper(store, "UPDATE events SET payload = replace(payload, 'number 4', 'number 0') WHERE position = 12")
    with pytest.raises(IntegrityViolation, match="session sesn_b, session stream: seq 4: payload does not match"):
        export(store, ["sesn_b"], tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name]  # no partial bundle left behind
    assert export(store, ["sesn_a"], tmp_path / "new").sessions == 1  # the intact session exports


def test_unsafe_ids_and_filenames_become_safe_paths(store: EventStore, tmp_path: Path) -> None:
    store.append([raw_event(message(1), "../../etc"), raw_event(message(2), "sesn_A"), raw_event(message(3), "sesn_a")])
    FileArchive(store).archive("sesn_a", {"id": "../f", "filename": "/etc/passwd"}, b"x")
    summary = export(store, None, tmp_path / "b")
    assert summary.sessions == 3
    files = _files(tmp_path / "b")
    assert all(not name.startswith("/") and ".." not in name.split("/") for name in files)
    assert len([name for name in files if name.endswith("events.jsonl")]) == 3  # sesn_A and sesn_a apart
    assert verify_bundle(tmp_path / "b").ok
    assert safe_filename("../../x y?.txt") == "_.._x y_.txt"
    assert safe_filename("...") == "file"
