"""Where the analytics file lives, price tables, and report windows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from recorder.analytics import location, prices
from recorder.analytics.window import parse_point, window

from recorder.errors import ConfigError


def test_the_file_sits_beside_a_sqlite_log(tmp_path: Path) -> None:
    assert location.default_path(f"sqlite:///{tmp_path}/recorder.db") == tmp_path / "recorder.analytics.duckdb"
    assert location.default_path(f"sqlite:///{tmp_path}/log") == tmp_path / "log.analytics.duckdb"


def test_other_logs_get_a_file_in_the_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = location.default_path("postgresql://alice:secret@db.example:5433/usage")
    b = location.default_path("postgresql://bob@db.example:5433/usage")
    assert a.parent == tmp_path / "recorder" / "analytics"
    assert a.name.startswith("db.example-5433-usage-") and a.suffix == ".duckdb"
    assert a != b and "secret" not in str(a)
    assert location.default_path("sqlite://").parent == tmp_path / "recorder" / "analytics"


def test_option_then_environment_then_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    monkeypatch.setenv(location.ENV_VAR, str(tmp_path / "env.duckdb"))
    assert location.resolve(url, tmp_path / "opt.duckdb") == tmp_path / "opt.duckdb"
    assert location.resolve(url) == tmp_path / "env.duckdb"
    monkeypatch.delenv(location.ENV_VAR)
    assert location.resolve(url) == tmp_path / "r.analytics.duckdb"


def test_price_tables_in_json_and_csv() -> None:
    table = prices.parse('{"currency": "eur", "models": {"claude-sonnet-4-6": {"input": 3, "output": "15", '
                         '"cache_read_input_tokens": 0.3, "cache_write": 3.75}, "claude-*": {"input": 1, '
                         '"output": 1, "cache_read": 1, "cache_creation": 1}, "claude-haiku-*": {"input": 2, '
                         '"output": 2, "cache_read": 2, "cache_creation": 2}}}')
    assert table.currency == "EUR"
    assert table.lookup("claude-sonnet-4-6").output == Decimal(15)
    assert table.lookup("claude-haiku-4-5").input == Decimal(2)  # the longer pattern wins
    assert table.lookup("claude-opus-4-7").input == Decimal(1)
    assert table.lookup("gpt-5") is None and table.lookup(None) is None
    csv_table = prices.parse("model,input,output,cache_read,cache_creation,currency\nm1,1,2,0.1,1.25,USD\n")
    assert csv_table.lookup("m1").cache_creation == Decimal("1.25") and csv_table.currency == "USD"


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not valid JSON"),
    ('{"models": {}}', "expected"),
    ('{"models": {"m": {"input": 1, "output": 1, "cache_read": 1}}}', "no 'cache_creation' price"),
    ('{"models": {"m": {"input": -1, "output": 1, "cache_read": 1, "cache_creation": 1}}}', "non-negative"),
    ('{"models": {"m": {"input": 1, "output": 1, "cache_read": 1, "cache_creation": 1, "inptu": 2}}}', "unknown"),
    ("name,price\nx,1\n", "header model"),
    ("model,input,output,cache_read,cache_creation\nm,1,2,x,1\n", "line 2"),
    ("model,input,output,cache_read,cache_creation,currency\na,1,1,1,1,USD\nb,1,1,1,1,EUR\n", "currencies"),
])
def test_bad_price_tables_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        prices.parse(text)


def test_window_points() -> None:
    now = datetime(2026, 3, 10, 15, 30)
    assert parse_point("2026-03-02", "--since", now) == datetime(2026, 3, 2)
    assert parse_point("2026-03-02T10:00:00+02:00", "--since", now) == datetime(2026, 3, 2, 8)
    assert parse_point("2026-03-02 10:00", "--since", now) == datetime(2026, 3, 2, 10)
    assert parse_point("36h", "--since", now) == datetime(2026, 3, 9, 3, 30)
    assert parse_point("7d", "--since", now) == datetime(2026, 3, 3, 15, 30)
    assert parse_point("today", "--until", now) == datetime(2026, 3, 10)
    assert parse_point("yesterday", "--until", now) == datetime(2026, 3, 9)
    with pytest.raises(ConfigError, match="--until 'soon'"):
        parse_point("soon", "--until", now)
    with pytest.raises(ConfigError, match="before --until"):
        window("2026-03-03", "2026-03-02")
    assert not window(None, None).bounded
