"""The secrets check (``tests.compliance.secret_scan.find_secrets``) finds a planted secret wherever it hides: any
table's text or binary column, a bundle's JSONL or (compressed) Parquet file, a log file. The recorder's tests call
it to prove the API key and authorization tokens never reach the log, its exports or its logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder.compliance.export import export
from recorder.store import EventStore, FileArchive
from tests.compliance.secret_scan import find_secrets
from tests.compliance.support import build_log
from tests.helpers import message, raws

API_KEY = "sk-ant-api03-PLANTED-secret-0123456789"
TOKEN = "ghp_PlantedAuthorizationToken42"


def test_a_clean_log_and_bundle_have_no_secret(store: EventStore, backend_url: str, tmp_path: Path) -> None:
    build_log(store)
    export(store, None, tmp_path / "bundle", fmt="parquet")
    assert find_secrets(backend_url, [API_KEY, TOKEN], [tmp_path / "bundle"]) == []


def test_planted_secrets_are_found_everywhere(store: EventStore, backend_url: str, tmp_path: Path) -> None:
    build_log(store)
    store.append(raws([message(50, text=f"the key is {API_KEY}")], session="sesn_leaky"))
    store.record_snapshot("sesn_a", {"id": "sesn_a", "status": "idle",
                                     "mcp": {"authorization_token": TOKEN}})
    FileArchive(store).archive("sesn_a", {"id": "file_bin", "filename": "dump.bin"},
                               b"\x00\xff" + TOKEN.encode() + b"\x00")
    found = find_secrets(backend_url, [API_KEY, TOKEN])
    assert any(f"{API_KEY!r} in events.payload (position=16)" == line for line in found), found
    assert any(line.startswith(f"{TOKEN!r} in session_snapshots.payload") for line in found), found
    assert any(line.startswith(f"{TOKEN!r} in sessions.snapshot") for line in found), found
    assert any(line.startswith(f"{TOKEN!r} in file_blobs.content") for line in found), found

    for fmt in ("jsonl", "parquet"):
        export(store, ["sesn_leaky"], tmp_path / fmt, fmt=fmt)
        assert any(f"events.{fmt}" in line for line in find_secrets(None, [API_KEY], [tmp_path / fmt])), fmt
    log = tmp_path / "recorder.log"
    log.write_text(f"GET /v1/sessions authorization: Bearer {TOKEN}\n")
    assert find_secrets(None, [TOKEN], [log]) == [f"{TOKEN!r} in file {log}"]


def test_json_escaped_secrets_are_found(store: EventStore, backend_url: str) -> None:
    tricky = 'key/with"quote'
    store.append(raws([message(1, text=tricky)]))
    assert find_secrets(backend_url, [tricky]) != []
    with pytest.raises(ValueError, match="empty secret"):
        find_secrets(backend_url, [""])
