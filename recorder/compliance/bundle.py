"""Check an export bundle with no database (``recorder verify-bundle DIR``); see :mod:`.export` for the layout.

In order: the manifest's own digest (``manifest_sha256``: any changed byte of the manifest), every listed file's
size and sha256 and no file missing or added, ``SHA256SUMS`` exactly as the listed files give it, every stream's
hash chain recomputed from its events (count and head as the manifest says), every archived file's sha256, the
totals, and the Merkle root over the streams. One changed byte anywhere in the bundle fails at least one of these.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.compliance import merkle
from recorder.compliance.export import FORMAT, MANIFEST, SUMS, ZERO_DIGEST, bundle_files, sums_bytes
from recorder.compliance.report import Problem
from recorder.errors import ConfigError, IntegrityViolation
from recorder.output.text import counted
from recorder.store import chain

_DIGEST_FIELD = re.compile(rb'"manifest_sha256": "([0-9a-f]{64})"\s*\}\s*$')
_READ_BATCH = 10_000


@dataclass(slots=True)
class BundleReport:
    path: Path
    format: str | None = None
    exported_at: str | None = None
    tool_version: str | None = None
    merkle_root: str | None = None
    sessions: int = 0
    streams: int = 0
    events: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.ok:
            more = len(self.problems) - 1
            tail = f" (and {more} more problem{'s' if more != 1 else ''}; --format json lists them)" if more else ""
            return f"bundle {self.path} is NOT intact: {self.problems[0].line()}{tail}"
        return (f"ok: bundle {self.path} is intact: {counted(self.events, 'event')} in "
                f"{counted(self.streams, 'stream')} of {counted(self.sessions, 'session')}, "
                f"{counted(self.files, 'archived file')}, exported {self.exported_at} by recorder {self.tool_version}, "
                f"Merkle root {self.merkle_root}")

    def raise_if_broken(self) -> None:
        if not self.ok:
            raise IntegrityViolation(self.summary())

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "path": str(self.path), "format": self.format, "exported_at": self.exported_at,
                "tool_version": self.tool_version, "merkle_root": self.merkle_root, "sessions": self.sessions,
                "streams": self.streams, "events": self.events, "files": self.files,
                "first_problem": self.problems[0].to_json() if self.problems else None,
                "problems": [p.to_json() for p in self.problems]}


def _problem(report: BundleReport, what: str, session_id: str | None = None, thread_id: str | None = None,
             seq: int | None = None) -> None:
    report.problems.append(Problem("bundle", what, session_id, thread_id, seq))


def _sha256(path: Path) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _jsonl_payloads(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        for seq, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                raise ValueError(f"line {seq} is not terminated by a newline")
            yield seq, line[:-1]


def _parquet_payloads(path: Path) -> Iterator[tuple[int, bytes]]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        target = str(path).replace("'", "''")
        result = con.execute(f"SELECT seq, payload, payload_hash FROM read_parquet('{target}') ORDER BY seq")
        while rows := result.fetchmany(_READ_BATCH):
            for seq, payload, payload_hash in rows:
                data = payload.encode("utf-8", "surrogatepass")
                if hashlib.sha256(data).hexdigest() != payload_hash:
                    raise ValueError(f"seq {seq}: payload_hash column does not match the payload")
                yield int(seq), data
    except duckdb.Error as err:
        raise ValueError(f"unreadable Parquet ({str(err).splitlines()[0]})") from None
    finally:
        con.close()


def _check_stream(report: BundleReport, root: Path, fmt: str, session_id: str, stream: dict[str, Any]) -> None:
    thread_id = stream.get("thread_id")
    head = chain.genesis(session_id, thread_id)
    count = 0
    payloads = _jsonl_payloads if fmt == "jsonl" else _parquet_payloads
    try:
        for seq, payload in payloads(root / stream["path"]):
            if seq != count + 1:
                _problem(report, f"{stream['path']}: seq {seq} follows seq {count}", session_id, thread_id, seq)
                return
            head = chain.chain_hash(head, seq, hashlib.sha256(payload).hexdigest())
            count = seq
    except (OSError, ValueError) as err:
        _problem(report, f"{stream['path']}: {err}", session_id, thread_id)
        return
    if count != stream.get("events"):
        _problem(report, f"{stream['path']} holds {count} events, the manifest says {stream.get('events')}",
                 session_id, thread_id)
    elif head != stream.get("head_hash"):
        _problem(report, f"{stream['path']}: the events' hash chain ends at {head[:16]}…, the manifest says "
                 f"{str(stream.get('head_hash'))[:16]}… (events edited)", session_id, thread_id)
    report.events += count


def _load_manifest(report: BundleReport, root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{root} is not a bundle: cannot read {MANIFEST} ({err.strerror or err})") from None
    match = _DIGEST_FIELD.search(data)
    if match is None:
        _problem(report, f"{MANIFEST} has no manifest_sha256 as its last field (edited or truncated)")
    else:
        zeroed = data[: match.start(1)] + ZERO_DIGEST.encode() + data[match.end(1):]
        if hashlib.sha256(zeroed).hexdigest() != match.group(1).decode():
            _problem(report, f"{MANIFEST} does not match its manifest_sha256 (manifest edited)")
    try:
        manifest = json.loads(data)
    except ValueError as err:
        _problem(report, f"{MANIFEST} is not JSON ({err})")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ConfigError(f"{root} is not a recorder bundle (format {found!r}, expected {FORMAT})")
    return manifest


def verify_bundle(path: str | Path) -> BundleReport:
    """Check the bundle at ``path``. Never raises for a damaged bundle: look at ``report.ok``/``problems``."""
    root = Path(path)
    report = BundleReport(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory")
    manifest = _load_manifest(report, root)
    if manifest is None:
        return report
    try:
        _check_manifest(report, root, manifest)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        _problem(report, f"{MANIFEST} is missing a field or has a bad one ({err!r})")
    return report


def _check_manifest(report: BundleReport, root: Path, manifest: dict[str, Any]) -> None:
    report.format = manifest["event_format"]
    report.exported_at = manifest.get("exported_at")
    report.tool_version = (manifest.get("tool") or {}).get("version")
    report.merkle_root = manifest["merkle_root"]
    listed = {f["path"]: f for f in manifest["files"]}
    present = set(bundle_files(root)) - {MANIFEST, SUMS}
    for relative in sorted(present - set(listed)):
        _problem(report, f"{relative} is in the bundle but not in the manifest (added file)")
    for relative, entry in sorted(listed.items()):
        if relative not in present:
            _problem(report, f"{relative} is in the manifest but missing from the bundle")
            continue
        digest, size = _sha256(root / relative)
        if digest != entry["sha256"] or size != entry["bytes"]:
            _problem(report, f"{relative} does not match its sha256 in the manifest (file changed)")
    manifest_digest, _ = _sha256(root / MANIFEST)
    expected_sums = sums_bytes([*manifest["files"], {"path": MANIFEST, "sha256": manifest_digest}])
    try:
        sums = (root / SUMS).read_bytes()
    except OSError:
        sums = None
    if sums != expected_sums:
        _problem(report, f"{SUMS} does not list the bundle's files and their sha256 exactly (edited or missing)")
    fmt = report.format
    if fmt not in ("jsonl", "parquet"):
        _problem(report, f"unknown event_format {fmt!r}")
        return
    streams = []
    for session in manifest["sessions"]:
        session_id = session["session_id"]
        report.sessions += 1
        for stream in session["streams"]:
            report.streams += 1
            _check_stream(report, root, fmt, session_id, stream)
            streams.append((session_id, stream.get("thread_id"), int(stream["events"]), str(stream["head_hash"])))
        for f in session["files"]:
            report.files += 1
            entry = listed.get(f["path"])
            if entry is None or entry["sha256"] != f["sha256"] or entry["bytes"] != f["size_bytes"]:
                _problem(report, f"archived file {f['file_id']} ({f['path']}) does not match its sha256 and size",
                         session_id)
    totals = manifest["totals"]
    counted = {"sessions": report.sessions, "streams": report.streams, "events": report.events,
               "files": report.files}
    for key, value in counted.items():
        if totals.get(key) != value:
            _problem(report, f"the manifest's totals say {totals.get(key)} {key}, the bundle holds {value}")
    root_hash = merkle.streams_root(streams)
    if root_hash != manifest["merkle_root"]:
        _problem(report, f"the streams give Merkle root {root_hash[:16]}…, the manifest says "
                 f"{str(manifest['merkle_root'])[:16]}…")
