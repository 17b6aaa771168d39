"""Secret scrubbing: case-insensitive names, common secret names, bearer values inside strings, configurable, and
the event's row records which paths were altered. Secrets then appear nowhere: the log, ``events``, transcripts
(Markdown, JSON, HTML), the DuckDB analytics file and export bundles (JSON lines and Parquet).

Before issue 14 the rules matched exact key names only: ``authorizationToken``, an ``Authorization: Bearer ...``
header value and a plain ``token`` field were stored verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from recorder.cli import cli
from recorder.errors import ConfigError
from recorder.ingest.scrub import SCRUBBED, might_hold_secrets, scrub_paths, scrub_text
from recorder.store import EventStore
from tests.compliance.secret_scan import find_secrets
from tests.recorder.fakeapi import FakeApi, FakeSession, event_text, stored_texts

SECRETS = {
    "authorizationToken": "ghp_AuthorizationTokenSecret01",
    "token": "tok_PlainTokenSecret02",
    "api_key": "key_ApiKeySecret03",
    "Password": "pw_PasswordSecret04",
    "SECRET": "sec_SecretSecret05",
    "access_token": "at_AccessTokenSecret06",
    "refresh_token": "rt_RefreshTokenSecret07",
    "client_secret": "cs_ClientSecretSecret08",
    "Cookie": "session=CookieSecret09",
    "slack_bot_token": "xoxb-SlackBotTokenSecret10",
    "X-Api-Key": "sk-ant-api03-ApiKeyHeaderSecret11",
}
BEARER = "eyJhbGciOiJIUzI1NiJ9.BearerSecret12"


def test_the_rules() -> None:
    obj = {
        "id": "sevt_1", "type": "agent.tool_use", **SECRETS,
        "input": {"command": f"curl -H 'Authorization: Bearer {BEARER}' https://x", "headers": [
            {"name": "authorization", "value": "Basic QWxhZGRpbjpvcGVuc2VzYW1l"}]},
        "model_usage": {"input_tokens": 12, "output_tokens": 3, "max_tokens": 100},
        "has_refresh_token": True, "key": "a-cache-key", "empty_token": "",
    }
    clean, paths = scrub_paths(obj)
    for name in SECRETS:
        assert clean[name] == SCRUBBED, name
        assert f"/{name}" in paths
    assert clean["input"]["command"] == f"curl -H 'Authorization: Bearer {SCRUBBED}' https://x"
    assert clean["input"]["headers"][0]["value"] == f"Basic {SCRUBBED}"
    assert "/input/command" in paths and "/input/headers/0/value" in paths
    assert clean["model_usage"] == obj["model_usage"] and clean["has_refresh_token"] is True
    assert clean["key"] == "a-cache-key" and clean["empty_token"] == ""
    assert len(paths) == len(SECRETS) + 2
    untouched = {"id": "sevt_2", "type": "span.model_request_end", "model_usage": {"input_tokens": 5}}
    same, none = scrub_paths(untouched)
    assert same is untouched and none == []


def test_hostile_text_is_scrubbed_too() -> None:
    raw = '{"id":"e","authorizationToken":"' + SECRETS["authorizationToken"] + '","x":"Bearer ' + BEARER + '"}'
    out, paths = scrub_text(raw)
    assert SECRETS["authorizationToken"] not in out and BEARER not in out and paths == ["*"]
    assert might_hold_secrets(raw)


def test_the_rules_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    obj = {"tenant_pin": "1234", "note": "order ORD-99887766 shipped"}
    assert scrub_paths(obj)[1] == []
    monkeypatch.setenv("RECORDER_SECRET_NAMES", "tenant-PIN, other")
    monkeypatch.setenv("RECORDER_SECRET_PATTERNS", r"ORD-\d{8}")
    clean, paths = scrub_paths(obj)
    assert clean == {"tenant_pin": SCRUBBED, "note": f"order {SCRUBBED} shipped"}
    assert paths == ["/tenant_pin", "/note"]
    monkeypatch.setenv("RECORDER_SECRET_PATTERNS", "([")
    with pytest.raises(ConfigError, match="RECORDER_SECRET_PATTERNS"):
        scrub_paths(obj)


def _dump_duckdb(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        return json.dumps({f"{schema}.{name}": con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
                           for schema, name in tables}, default=str, ensure_ascii=False)


def _texts() -> list[str]:
    members = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in SECRETS.items())
    tool = json.dumps({"command": f"curl -H 'Authorization: Bearer {BEARER}' https://example.test"})
    return [
        event_text(1, kind="user.message", extra='"content":[{"type":"text","text":"hi"}]'),
        event_text(2, kind="agent.tool_use", extra=f'"name":"bash","input":{tool}'),
        event_text(3, kind="agent.custom_tool_use", extra=f'"name":"deploy","input":{{{members}}}'),
        event_text(4, kind="agent.message", extra=f'"content":[{{"type":"text","text":"use Bearer {BEARER}"}}]'),
        event_text(5, kind="span.model_request_end",
                   extra='"model_usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":0,'
                         '"cache_creation_input_tokens":0}'),
    ]


def test_secrets_stay_out_of_everything(store: EventStore, tmp_path: Path) -> None:
    api = FakeApi()
    texts = _texts()
    api.add(FakeSession("sesn_secret", texts))
    report = api.record(store, ["sesn_secret"])
    assert not report.failed, [o.error for o in report.failed]
    stored = stored_texts(store, "sesn_secret")
    assert stored[0] == texts[0] and stored[4] == texts[4], "events with nothing to scrub keep their bytes"
    with store.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT seq, scrubbed FROM events WHERE session_id = 'sesn_secret'")).all())
    assert rows[1] is None and rows[5] is None
    assert json.loads(rows[2]) == ["/input/command"]
    assert json.loads(rows[3]) == [f"/input/{name}" for name in SECRETS]
    assert json.loads(rows[4]) == ["/content/0/text"]

    url, out = store.url, tmp_path / "out"
    out.mkdir()
    runner = CliRunner()
    for name, args in {
        "events.ndjson": ["events", "sesn_secret"],
        "t.md": ["transcript", "sesn_secret"], "t.json": ["transcript", "sesn_secret", "--format", "json"],
        "t.html": ["transcript", "sesn_secret", "--format", "html"],
        "tools.json": ["tools", "sesn_secret", "--format", "json", "--analytics-db", str(tmp_path / "a.duckdb")],
        "usage.json": ["usage", "--format", "json", "--analytics-db", str(tmp_path / "a.duckdb")],
    }.items():
        result = runner.invoke(cli, [*args, "--db", url])
        assert result.exit_code == 0, (args, result.stderr)
        (out / name).write_text(result.stdout, encoding="utf-8")
    assert SCRUBBED in (out / "t.md").read_text()
    for fmt in ("jsonl", "parquet"):
        result = runner.invoke(cli, ["export", "--all", "--format", fmt, "--out", str(tmp_path / fmt), "--db", url])
        assert result.exit_code == 0, result.stderr
    dump = _dump_duckdb(tmp_path / "a.duckdb")  # compressed on disk: scan its decoded values
    assert '"deploy"' in dump and SCRUBBED in dump
    (out / "analytics.json").write_text(dump, encoding="utf-8")
    secrets = {*SECRETS.values(), BEARER}
    assert find_secrets(url, secrets, [out, tmp_path / "jsonl", tmp_path / "parquet", tmp_path / "a.duckdb"]) == []
    assert runner.invoke(cli, ["verify", "--db", url]).exit_code == 0


@pytest.mark.parametrize("text", [
    '{"type":"agent.message","content":[{"type":"text","text":"plain words only"}]}',
    '{"model_usage":{"input_tokens":5}}', '{"AUTHORIZATION":"x"}', '{"a":"BeArEr abcdefghijkl"}',
    '{"a":"Basic abcdefghij"}', '{"a":"SK-ANT-abcdefgh"}', '{"Set-Cookie":"x"}', '{"x_api_key":1}',
    '{"a":"caf\u00e9 token"}', '{"a":"caf\u00e9"}', '{"PassPhrase":"x"}', '{"a":"\u212aey"}',
])
def test_the_ascii_pre_check_agrees_with_the_pattern(text: str) -> None:
    from recorder.ingest.scrub import rules

    assert might_hold_secrets(text) == (rules().quick.search(text) is not None)


def test_an_added_pattern_keeps_the_pre_check_on_the_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORDER_SECRET_PATTERNS", r"ghp_[A-Za-z0-9]{8,}")
    assert might_hold_secrets('{"a":"ghp_abcdefghij"}')
    assert not might_hold_secrets('{"a":"plain"}')


def _corpus() -> list[str]:
    from tests.benchmarks.common import realistic_events

    texts = [json.dumps(e, ensure_ascii=False) for e in realistic_events(400, seed=5)]
    texts += _texts()
    texts += [
        '{"a":"Bearer abcdefghijk"}', '{"a":"BASIC QWxhZGRpbjpvcGVuc2VzYW1l"}', '{"a":"sk-ant-api03-abcdefgh"}',
        '{"a":"\\u0062earer abcdefghijk"}', '{"to\\u006ben":"x"}', '{"API-KEY":"v"}', '{"Cookie":"c"}',
        '{"passPhrase":"p"}', '{"n":"nothing here"}', '{"x":{"y":[{"secretSauce":"s"}]}}',
    ]
    return texts


def test_the_pre_check_misses_nothing_the_full_rules_find(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast pre-check (substring tests) says "maybe" wherever the old one-pattern check did, and skipping the
    value patterns when it says "no value" changes no result."""
    from recorder.ingest.scrub import rules

    for extra in ("", r"ORD-\d{8}"):
        monkeypatch.setenv("RECORDER_SECRET_PATTERNS", extra)
        current = rules()
        for raw in [*_corpus(), '{"note":"order ORD-99887766"}']:
            maybe, values = current.triage(raw)
            if current.quick.search(raw) is not None:
                assert maybe, raw
            obj = json.loads(raw)
            full = scrub_paths(obj, current)
            if full[1]:
                assert maybe, raw
                assert scrub_paths(obj, current, values=values) == full, raw
