"""Export bundles: a directory a third party can take away and check without the database
(``recorder verify-bundle``, :mod:`recorder.compliance.bundle`).

Layout (``<sid>``/``<tid>``: the session and thread ids, or a hash-based name when an id is unfit for a path)::

    manifest.json                         what is in the bundle, with hashes (below)
    SHA256SUMS                            every file's sha256, for `sha256sum -c SHA256SUMS`
    sessions/<sid>/events.jsonl           the session's own stream: one event per line, exactly as delivered
    sessions/<sid>/threads/<tid>.jsonl    each thread's stream
    sessions/<sid>/snapshots.jsonl        what the API said about the session and its threads, oldest first
    sessions/<sid>/files/<file_id>/<name> the files the session wrote, as archived

With ``--format parquet`` the streams are ``events.parquet`` and ``threads/<tid>.parquet`` instead, one row per
event (seq, event_id, type, processed_at, payload exactly as delivered, payload_hash, chain_hash; written by
DuckDB). Line ``n`` of a JSONL stream (row ``seq = n`` of a Parquet one) is the event with sequence number ``n``,
so the stream's hash chain can be recomputed from the bundle alone (:mod:`recorder.store.chain`).

``manifest.json`` (``format: recorder-bundle-v1``) holds the tool version, the export time, per session its
streams (path, event count, chain head), archived files (id, name, type, size, sha256, the API's metadata) and
snapshots, one RFC 6962 Merkle root over the exported streams (comparable with an anchor's entries), totals, and
every file's path, size and sha256. Its last field, ``manifest_sha256``, is the sha256 of the manifest file with
that field's value written as 64 zeros, so a change to any byte of the manifest shows too.

Deterministic: the same log gives byte-identical files; only ``exported_at`` (and so ``manifest_sha256`` and the
manifest's line in ``SHA256SUMS``) differs between two exports. The exporter recomputes every exported stream's
chain while writing and refuses to write a bundle of a stream that fails verification. The bundle is written
into a temporary directory next to ``--out`` and renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from recorder import __version__
from recorder.compliance import merkle
from recorder.errors import ConfigError, IntegrityViolation, NotFound, OutputError
from recorder.events import format_time
from recorder.store import ComplianceStore, EventStore, LogReader, StreamRow, chain

FORMAT = "recorder-bundle-v1"
FORMATS = ("jsonl", "parquet")
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
ZERO_DIGEST = "0" * 64
PARQUET_CHUNK = 20_000
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,119}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._\- ]+")


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    format: str
    sessions: int
    streams: int
    events: int
    files: int
    bytes: int
    merkle_root: str


# ------------------------------------------------------------------------------------------ names


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class _Names:
    """Path components for ids: the id itself when it is a plain name, else a hash; unique ignoring case."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, value: str) -> str:
        name = value if _SAFE_ID.fullmatch(value) and not value.endswith(".") else f"id-{_digest(value)[:24]}"
        if name.lower() in self.taken:
            name = f"{name}-{_digest(value)[:12]}"
        self.taken.add(name.lower())
        return name


def safe_filename(name: str) -> str:
    """A file name fit for any file system: unsafe characters replaced, no leading dots, at most 120 chars."""
    cleaned = _UNSAFE_CHARS.sub("_", name).strip(" .")[:120].strip(" .")
    return cleaned or "file"


# ---------------------------------------------------------------------------------------- writing


def thread_order(thread_id: str | None) -> tuple[int, bytes]:
    return (0, b"") if thread_id is None else (1, thread_id.encode("utf-8", "surrogatepass"))


class _HashingFile:
    """A binary file that keeps the sha256 and size of what was written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = hashlib.sha256()
        self.size = 0
        self.handle: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.hasher.update(data)
        self.size += len(data)

    def close(self) -> None:
        self.handle.close()


class _ChainCheck:
    """Recomputes a stream's chain while it is exported; refuses what does not verify."""

    def __init__(self, stream: StreamRow) -> None:
        self.stream = stream
        self.head = chain.genesis(stream.session_id, stream.thread_id)
        self.count = 0

    def fail(self, what: str) -> IntegrityViolation:
        thread = f"thread {self.stream.thread_id}" if self.stream.thread_id else "session stream"
        return IntegrityViolation(f"session {self.stream.session_id}, {thread}: {what}; refusing to export a log that "
                                  "fails verification (`recorder verify` says more)")

    def add(self, seq: int, payload: bytes, payload_hash: str, chain_hash: str) -> None:
        if seq != self.count + 1:
            raise self.fail(f"seq {seq} follows seq {self.count}")
        digest = hashlib.sha256(payload).hexdigest()
        if digest != payload_hash:
            raise self.fail(f"seq {seq}: payload does not match its payload_hash")
        self.head = chain.chain_hash(self.head, seq, digest)
        if self.head != chain_hash:
            raise self.fail(f"seq {seq}: chain_hash does not follow")
        self.count = seq

    def finish(self) -> None:
        if self.count != self.stream.last_seq or self.head != self.stream.head_hash:
            raise self.fail(f"its events end at seq {self.count}, the stream's head says {self.stream.last_seq}")


def _write_jsonl(reader: LogReader, stream: StreamRow, path: Path) -> tuple[int, str]:
    check = _ChainCheck(stream)
    out = _HashingFile(path)
    try:
        for rows in reader.stream_rows(stream):
            for seq, _event_id, _type, _at, payload, payload_hash, chain_hash in rows:
                check.add(seq, payload, payload_hash, chain_hash)
            out.write(b"".join(row.payload + b"\n" for row in rows))
    finally:
        out.close()
    check.finish()
    return check.count, check.head


def _write_parquet(reader: LogReader, stream: StreamRow, path: Path) -> tuple[int, str]:
    import duckdb

    check = _ChainCheck(stream)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads = 1")  # one writer thread: the same rows give the same bytes
        con.execute("SET preserve_insertion_order = true")
        con.execute("CREATE TABLE events (session_id VARCHAR, thread_id VARCHAR, seq BIGINT, event_id VARCHAR, "
                    "type VARCHAR, processed_at TIMESTAMP, payload VARCHAR, payload_hash VARCHAR, chain_hash VARCHAR)")
        for rows in reader.stream_rows(stream, batch=PARQUET_CHUNK):
            for seq, _event_id, _type, _at, payload, payload_hash, chain_hash in rows:
                check.add(seq, payload, payload_hash, chain_hash)
            columns = list(zip(*rows, strict=True))
            con.execute(
                "INSERT INTO events SELECT $1, $2, unnest($3), unnest($4), unnest($5), unnest($6), unnest($7), "
                "unnest($8), unnest($9)",
                [stream.session_id, stream.thread_id, list(columns[0]), list(columns[1]), list(columns[2]),
                 list(columns[3]), [p.decode("utf-8") for p in columns[4]], list(columns[5]), list(columns[6])],
            )
        check.finish()
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM events ORDER BY seq) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    return check.count, check.head


def _file_entry(root: Path, relative: str) -> dict[str, Any]:
    hasher = hashlib.sha256()
    size = 0
    with open(root / relative, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
    return {"path": relative, "bytes": size, "sha256": hasher.hexdigest()}


def _export_session(reader: LogReader, root: Path, session_id: str, directory: str, fmt: str) -> dict[str, Any]:
    base = root / directory
    base.mkdir(parents=True)
    streams = sorted(reader.streams([session_id]), key=lambda s: thread_order(s.thread_id))
    names = _Names()
    entries = []
    for stream in streams:
        if stream.thread_id is None:
            relative = f"{directory}/events.{fmt}"
        else:
            (base / "threads").mkdir(exist_ok=True)
            relative = f"{directory}/threads/{names(stream.thread_id)}.{fmt}"
        writer = _write_jsonl if fmt == "jsonl" else _write_parquet
        count, head = writer(reader, stream, root / relative)
        entries.append({"thread_id": stream.thread_id, "path": relative, "events": count, "head_hash": head})
    snapshots = list(reader.snapshots([session_id]))
    snapshot_entry = None
    if snapshots:
        relative = f"{directory}/snapshots.jsonl"
        with open(root / relative, "wb") as handle:
            for snap in snapshots:
                line = json.dumps({"thread_id": snap.thread_id, "taken_at": format_time(snap.taken_at),
                                   "payload_hash": snap.payload_hash, "snapshot": json.loads(snap.payload)},
                                  ensure_ascii=False, separators=(",", ":"))
                handle.write(line.encode("utf-8", "surrogatepass") + b"\n")
        snapshot_entry = {"path": relative, "count": len(snapshots)}
    files = []
    file_names = _Names()
    listed = sorted(reader.files([session_id], content=False), key=lambda f: f.file_id.encode("utf-8", "surrogatepass"))
    for f in (reader.file(f.session_id, f.file_id) for f in listed):
        if f.content is None:
            raise IntegrityViolation(f"session {session_id}: archived file {f.file_id} has no content; refusing to "
                                     "export (`recorder verify` says more)")
        if hashlib.sha256(f.content).hexdigest() != f.sha256:
            raise IntegrityViolation(f"session {session_id}: archived file {f.file_id} does not match its sha256; "
                                     "refusing to export (`recorder verify` says more)")
        folder = f"{directory}/files/{file_names(f.file_id)}"
        (root / folder).mkdir(parents=True)
        relative = f"{folder}/{safe_filename(f.filename)}"
        (root / relative).write_bytes(f.content)
        files.append({"file_id": f.file_id, "filename": f.filename, "mime_type": f.mime_type,
                      "size_bytes": f.size_bytes, "sha256": f.sha256, "path": relative,
                      "metadata": json.loads(f.metadata)})
    return {"session_id": session_id, "streams": entries, "files": files, "snapshots": snapshot_entry}


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest file: JSON with ``manifest_sha256`` last, set to the digest of the file with it zeroed."""
    body = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    body["manifest_sha256"] = ZERO_DIGEST
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    data = text.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(data).hexdigest()
    head, _zeroed, tail = data.rpartition(f'"manifest_sha256": "{ZERO_DIGEST}"'.encode())
    return head + f'"manifest_sha256": "{digest}"'.encode() + tail


def sums_bytes(files: Sequence[dict[str, Any]]) -> bytes:
    """``SHA256SUMS``: one ``<sha256>  <path>`` line per file, by path (the format of ``sha256sum``)."""
    return "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(files, key=lambda f: f["path"])).encode("utf-8")


def bundle_files(root: Path) -> Iterator[str]:
    """Every file under ``root``, as a POSIX path relative to it."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            yield (Path(folder) / name).relative_to(root).as_posix()


def export(
    store: EventStore,
    session_ids: Sequence[str] | None,
    out: str | Path,
    *,
    fmt: str = "jsonl",
    now: datetime | None = None,
) -> ExportSummary:
    """Write a bundle of the given sessions (None: every session) to ``out``, which must not exist or be empty."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: use jsonl or parquet")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty directory; export into a new directory")
    if not out.parent.is_dir():
        raise ConfigError(f"cannot export to {out}: directory {out.parent} does not exist")
    exported_at = format_time((now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None))
    compliance = ComplianceStore(store)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as err:
        raise OutputError(f"cannot write to {out.parent}: {err.strerror or err}") from None
    try:
        with compliance.reading() as reader:
            present = reader.session_ids(None if session_ids is None else list(dict.fromkeys(session_ids)))
            if session_ids is not None:
                for session_id in dict.fromkeys(session_ids):
                    if session_id not in present:
                        raise NotFound(compliance.missing_session_message(session_id))
            names = _Names()
            try:  # inside the read transaction, an OSError would be taken for the database's
                sessions = [
                    _export_session(reader, work, sid, f"sessions/{names(sid)}", fmt)
                    for sid in sorted(present, key=lambda s: s.encode("utf-8", "surrogatepass"))
                ]
            except OSError as err:
                raise OutputError(f"cannot write the bundle to {out}: {err.strerror or err}") from None
        listed = [_file_entry(work, relative) for relative in sorted(bundle_files(work))]
        streams = [(s["session_id"], st["thread_id"], st["events"], st["head_hash"])
                   for s in sessions for st in s["streams"]]
        merkle_root = merkle.streams_root(streams)
        totals = {
            "sessions": len(sessions),
            "streams": len(streams),
            "events": sum(s[2] for s in streams),
            "files": sum(len(s["files"]) for s in sessions),
            "bytes": sum(f["bytes"] for f in listed),
        }
        manifest = {
            "format": FORMAT,
            "tool": {"name": "recorder", "version": __version__},
            "exported_at": exported_at,
            "event_format": fmt,
            "hashing": {
                "payload_hash": "sha256 of the event's JSON text as delivered (UTF-8): one JSONL line without its "
                                "newline, or the payload column",
                "chain": "head_0 = sha256('recorder-chain-v1' 0x00 session_id 0x00 thread_id); head_n = "
                         "sha256(head_n-1 || n as 8 bytes big-endian || payload_hash_n) (raw 32-byte digests)",
                "merkle_root": "RFC 6962 SHA-256 over the streams ordered by (session_id, thread_id); leaf = "
                               "u32 len || session_id || u32 len || thread_id || u64 events || head (32 bytes)",
                "manifest_sha256": "sha256 of this file with this field's value written as 64 zeros",
            },
            "merkle_root": merkle_root,
            "totals": totals,
            "sessions": sessions,
            "files": listed,
        }
        data = manifest_bytes(manifest)
        (work / MANIFEST).write_bytes(data)
        manifest_entry = {"path": MANIFEST, "sha256": hashlib.sha256(data).hexdigest()}
        (work / SUMS).write_bytes(sums_bytes([*listed, manifest_entry]))
        if out.exists():
            out.rmdir()
        work.rename(out)
    except OSError as err:
        shutil.rmtree(work, ignore_errors=True)
        raise OutputError(f"cannot write the bundle to {out}: {err.strerror or err}") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ExportSummary(out, fmt, totals["sessions"], totals["streams"], totals["events"], totals["files"],
                         totals["bytes"], merkle_root)
