"""The analytics commands: output formats, the JSON field names DESIGN.md makes a contract, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from recorder.analytics import queries

from recorder.cli import USAGE_GROUPS, cli
from recorder.store import EventStore
from tests.analytics.logs import multi_agent, simple

USAGE_CONTRACT = {"session_id": str, "model_requests": int, "input_tokens": int, "output_tokens": int,
                  "cache_read_input_tokens": int, "cache_creation_input_tokens": int}
TOOLS_CONTRACT = ("id", "name", "kind", "input", "thread_id", "result_id", "is_error", "started_at", "finished_at",
                  "duration_ms")


@pytest.fixture
def log(sqlite_url: str, tmp_path: Path) -> dict[str, Any]:
    with EventStore(sqlite_url) as store:
        script = multi_agent()
        script.append_to(store)
        simple("sesn_two", 3, start=10_000).append_to(store)
        roster = {"agents": [{"name": "helper", "model": {"id": "claude-haiku-4-5"}}]}
        for sid in (script.session, "sesn_two"):
            store.record_snapshot(sid, {"id": sid, "agent": {"name": "lead", "model": {"id": "claude-opus-4-7"},
                                                             "multiagent": roster}})
    return {"db": sqlite_url, "duck": str(tmp_path / "cli.duckdb"), "session": script.session, "tmp": tmp_path}


def run(log: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--db", log["db"], "--analytics-db", log["duck"]])


def test_usage_by_session_json_is_the_contract(log: dict[str, Any]) -> None:
    result = run(log, "usage", "--by", "session", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["session_id"] for r in rows] == [log["session"], "sesn_two"]
    for row in rows:
        for name, kind in USAGE_CONTRACT.items():
            assert isinstance(row[name], kind), (name, row[name])
        assert row["list_cost"] is None or isinstance(row["list_cost"], float)
    assert rows[0]["model_requests"] == 4 and rows[0]["input_tokens"] == 3500 and rows[0]["list_cost"] == 12.34
    assert rows[1]["list_cost"] is None


def test_tools_json_is_the_contract(log: dict[str, Any]) -> None:
    result = run(log, "tools", log["session"], "--format", "json")
    assert result.exit_code == 0, result.output
    calls = json.loads(result.output)
    assert len(calls) == 3
    for call in calls:
        assert set(TOOLS_CONTRACT) <= set(call)
        assert call["kind"] in ("builtin", "mcp", "custom")
        assert isinstance(call["input"], dict)
        assert call["started_at"].endswith("Z")
    done, missing = calls[0], calls[2]
    assert done["result_id"] and done["is_error"] is False and done["duration_ms"] > 0
    assert missing["result_id"] is None and missing["is_error"] is None and missing["finished_at"] is None


def test_csv_and_parquet_carry_the_same_rows(log: dict[str, Any]) -> None:
    as_json = json.loads(run(log, "usage", "--by", "thread", "--format", "json").output)
    result = run(log, "usage", "--by", "thread", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["thread_id"] for r in rows] == [r["thread_id"] for r in as_json]
    assert [int(r["input_tokens"]) for r in rows] == [r["input_tokens"] for r in as_json]
    target = log["tmp"] / "usage.parquet"
    result = run(log, "usage", "--by", "thread", "--format", "parquet", "-o", str(target))
    assert result.exit_code == 0 and result.output == ""
    con = duckdb.connect()
    parquet = con.execute("SELECT thread_id, input_tokens, list_cost FROM read_parquet(?)", [str(target)]).fetchall()
    assert [(t, i) for t, i, _ in parquet] == [(r["thread_id"], r["input_tokens"]) for r in as_json]
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
                             [str(target)]).fetchall())
    assert types["input_tokens"] == "BIGINT" and types["list_cost"].startswith("DECIMAL")


def test_table_is_for_people(log: dict[str, Any]) -> None:
    result = run(log, "usage")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["session_id", "agent", "requests"]
    assert any(line.startswith("TOTAL") for line in lines)
    assert "3,500" in result.output and "$12.34" in result.output and "$12.3400" not in result.output
    latency = run(log, "latency", "--by", "session")
    assert latency.exit_code == 0 and "p95" in latency.output and "running" in latency.output
    stats = run(log, "tools", "--stats")
    assert stats.exit_code == 0 and stats.output.splitlines()[0].split()[:3] == ["kind", "name", "mcp"]


def test_prices_add_an_estimate_and_the_drift(log: dict[str, Any]) -> None:
    table = log["tmp"] / "prices.json"
    table.write_text(json.dumps({"currency": "USD", "models": {"*": {"input": 3, "output": 15, "cache_read": 0.3,
                                                                     "cache_creation": 3.75}}}))
    rows = json.loads(run(log, "usage", "--prices", str(table), "--format", "json").output)
    assert rows[0]["estimated_cost"] > 0
    assert rows[0]["cost_drift"] == pytest.approx(rows[0]["estimated_cost"] - rows[0]["list_cost"])
    assert "drift" in run(log, "usage", "--prices", str(table)).output


@pytest.mark.parametrize(("args", "code", "message"), [
    (("usage", "--since", "last tuesday"), 2, "--since 'last tuesday': expected a time"),
    (("usage", "--since", "2026-03-02", "--until", "2026-03-01"), 2, "must be before --until"),
    (("usage", "--format", "parquet"), 2, "add -o FILE"),
    (("usage", "--prices", "/nonexistent/prices.json"), 2, "no such file"),
    (("tools", "sesn_nope"), 1, "session sesn_nope is not in the log"),
])
def test_errors_are_one_line(log: dict[str, Any], args: tuple[str, ...], code: int, message: str) -> None:
    result = run(log, *args)
    assert result.exit_code == code
    assert message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_a_bad_price_file_is_named(log: dict[str, Any]) -> None:
    bad = log["tmp"] / "prices.csv"
    bad.write_text("model,input,output,cache_read\nclaude-x,1,2,3\n")
    result = run(log, "usage", "--prices", str(bad))
    assert result.exit_code == 2 and "has no 'cache_creation' price" in result.output


def test_a_file_that_is_not_an_analytics_file(log: dict[str, Any]) -> None:
    Path(log["duck"]).write_bytes(b"definitely not duckdb" * 100)
    result = run(log, "usage")
    assert result.exit_code == 1 and "delete it" in result.output and result.output.count("\n") == 1


def test_no_update_reports_without_the_log(log: dict[str, Any]) -> None:
    assert run(log, "analytics", "update").exit_code == 0
    result = CliRunner().invoke(cli, ["usage", "--no-update", "--format", "json", "--db", "sqlite:////nonexistent/x.db",
                                      "--analytics-db", log["duck"]])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2


def test_analytics_status_update_rebuild(log: dict[str, Any]) -> None:
    status = run(log, "analytics", "status", "--format", "json")
    assert json.loads(status.output)["exists"] is False
    update = run(log, "analytics", "update")
    assert update.exit_code == 0 and "projected" in update.output
    info = json.loads(run(log, "analytics", "status", "--format", "json").output)
    assert info["behind"] == 0 and info["position"] == info["log_head"] == info["log_rows"]
    assert info["tables"]["log_events"] == info["log_rows"]
    rebuild = run(log, "analytics", "rebuild")
    assert rebuild.exit_code == 0 and rebuild.output.startswith(f"rebuilt {info['log_rows']:,} log events")
    assert "up to date" in run(log, "analytics", "status").output


def test_default_file_sits_beside_a_sqlite_log(log: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["analytics", "update", "--db", log["db"]], env={"RECORDER_ANALYTICS_DB": ""})
    assert result.exit_code == 0, result.output
    assert (log["tmp"] / "log.analytics.duckdb").exists()


def test_html_report_is_self_contained(log: dict[str, Any]) -> None:
    target = log["tmp"] / "report.html"
    result = run(log, "analytics", "report", "-o", str(target), "--since", "2026-01-01")
    assert result.exit_code == 0, result.output
    page = target.read_text()
    assert page.count("<svg") >= 5 and "Usage report" in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<link" not in page


def test_every_analytics_command_is_documented() -> None:
    assert tuple(USAGE_GROUPS) == queries.GROUPS
    runner = CliRunner()
    for args in (["usage"], ["tools"], ["latency"], ["analytics"], ["analytics", "status"],
                 ["analytics", "update"], ["analytics", "rebuild"], ["analytics", "report"]):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0
        assert len(result.output.split("\n\n")[1].strip()) > 40, args
