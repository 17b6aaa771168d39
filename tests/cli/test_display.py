"""What people read: ids never cut, money in one format and in its own currency.

Before issue 14: analytics tables cut ids to ``sesn_011C…`` on 80 columns; an estimate priced in EUR printed with
``$`` (the list cost's currency); money came in four formats (``$12.3400``, ``$0.32 USD``, ``$0.32``, ``$0.3200``).
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from recorder.analytics import html, prices, queries
from recorder.analytics.service import opened
from recorder.analytics.window import window

from recorder.cli import cli
from recorder.money import format_money
from recorder.output import formats as output
from recorder.store import EventStore
from tests.analytics.logs import multi_agent, simple

LONG_ID = "sesn_011CZxRealisticLengthIdAbCdEfGh"


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    ("0.32", "USD", "$0.32"), (Decimal("12.34"), None, "$12.34"), ("0.105944", "USD", "$0.105944"),
    (1234.5, "EUR", "€1,234.50"), ("12", "CHF", "12.00 CHF"), (1234, "JPY", "¥1,234"), ("-0.5", "GBP", "-£0.50"),
    ("0.000001", "USD", "$0.000001"), ("nan", "USD", "—"), ("x", "USD", "—"),
])
def test_one_money_format(amount: Any, currency: str | None, shown: str) -> None:
    assert format_money(amount, currency) == shown


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def log(sqlite_url: str, tmp_path: Path) -> dict[str, Any]:
    with EventStore(sqlite_url) as store:
        multi_agent(LONG_ID).append_to(store)
        simple("sesn_two", 3, start=10_000).append_to(store)
        roster = {"agents": [{"name": "helper", "model": {"id": "claude-haiku-4-5"}}]}
        for sid in (LONG_ID, "sesn_two"):
            store.record_snapshot(sid, {"id": sid, "title": "A long title " * 8, "agent": {
                "name": "a-very-long-agent-name-indeed", "model": {"id": "claude-opus-4-7"}, "multiagent": roster}})
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"currency": "EUR", "models": {"*": {"input": 3, "output": 15, "cache_read": 0.3,
                                                                     "cache_creation": 3.75}}}))
    return {"db": sqlite_url, "duck": str(tmp_path / "a.duckdb"), "prices": str(table)}


@pytest.mark.parametrize("by", ["session", "thread"])
def test_ids_are_never_cut_on_80_columns(log: dict[str, Any], by: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with opened(log["db"], log["duck"]) as projection:
        reports = [queries.usage(projection, by, window(None, None), prices.load(log["prices"])),
                   queries.tool_calls(projection, None, window(None, None))]
    for report in reports:
        terminal = Terminal()
        output.write(report, "table", stream=terminal)
        text = terminal.getvalue()
        shown = [c.name for c in report.columns if c.in_table and c.never_cut]
        assert shown, report.title
        ids = {str(row[name]) for row in report.records() for name in shown if row[name]}
        assert any(len(i) > 30 for i in ids)
        for value in ids:
            assert value in text, (value, text)
        assert "…" in text, "other columns are still narrowed to fit"


def test_an_estimate_is_shown_in_the_price_file_currency(log: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["usage", "--prices", log["prices"], "--db", log["db"], "--analytics-db",
                                      log["duck"]])
    assert result.exit_code == 0, result.stderr
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith(("sesn", "TOTAL"))}
    assert "$12.34" in lines[LONG_ID] and "€" in lines[LONG_ID]  # list cost in USD, estimate in EUR
    assert "€" in lines["sesn_two"] and "$" not in lines["sesn_two"]  # no list cost: only the EUR estimate
    assert "$" not in lines[LONG_ID].split("$12.34")[1]
    rows = json.loads(CliRunner().invoke(cli, ["usage", "--prices", log["prices"], "--format", "json", "--db",
                                               log["db"], "--analytics-db", log["duck"]]).output)
    assert {r["estimate_currency"] for r in rows} == {"EUR"} and rows[0]["currency"] == "USD"
    with opened(log["db"], log["duck"]) as projection:
        page = html.render(projection, window(None, None), prices.load(log["prices"]), source="test")
    assert "€" in page and "$12.34" in page


def test_money_looks_the_same_in_the_table_the_transcript_and_the_page(log: dict[str, Any]) -> None:
    table = CliRunner().invoke(cli, ["usage", "--db", log["db"], "--analytics-db", log["duck"]]).output
    transcript = CliRunner().invoke(cli, ["transcript", LONG_ID, "--db", log["db"]]).output
    with opened(log["db"], log["duck"]) as projection:
        page = html.render(projection, window(None, None), None, source="test")
    for text in (table, transcript, page):
        assert "$12.34" in text
        assert "$12.3400" not in text and "$12.34 USD" not in text
