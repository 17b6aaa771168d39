"""The HTML usage report: one self-contained page (inline CSS and SVG; no scripts, fonts or network) with the
charts people would rather look at than read — tokens, cost and model requests per day, cost by agent and model,
latency by model — and the tables behind them (top sessions, tools)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Any

from recorder.money import format_money
from recorder.output.formats import display_value, row_currency
from recorder.output.report import Report

from . import charts, queries
from .prices import PriceTable
from .projection import Projection
from .window import Window

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:8px 0}h3{font-size:13px;margin:12px 0 4px;color:#57606a}
.scroll{overflow-x:auto}
.meta{color:#57606a;font-size:12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:18px 0}
.tile{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px}
.tile b{display:block;font-size:20px}.tile span{color:#57606a;font-size:12px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:12px 0}
.grid{stroke:#eaeef2}.axis{font-size:11px;fill:#57606a}.legend{font-size:12px;fill:#1f2328}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:left;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#57606a;font-size:12px;margin:4px 0}.empty{color:#57606a}
.two{display:grid;grid-template-columns:1fr 1fr;gap:12px}@media(max-width:800px){.two{grid-template-columns:1fr}}
"""


def _html_table(report: Report, limit: int | None = None) -> str:
    shown = [(i, c) for i, c in enumerate(report.columns) if c.in_table]
    numeric = {"int", "float", "ratio", "ms", "seconds", "money"}
    head = "".join(f'<th class="{"n" if c.kind in numeric else ""}">{escape(c.header)}</th>' for _, c in shown)
    body = []
    for row in report.rows[:limit]:
        cells = []
        for i, c in shown:
            text = display_value(c, row[i], row_currency(report, row, c))
            if c.width and len(text) > c.width and not c.never_cut:
                text = text[: c.width - 1] + "…"
            cells.append(f'<td class="{"n" if c.kind in numeric else ""}">{escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        return '<p class="empty">nothing recorded</p>'
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _notes(report: Report) -> str:
    return "".join(f'<p class="note">{escape(note)}</p>' for note in report.notes)


def _money_fmt(currency: str | None) -> charts.Formatter:
    def fmt(value: float) -> str:
        return format_money(Decimal(repr(value)), currency)

    return fmt


def _tile(label: str, value: str) -> str:
    return f'<div class="tile"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _values(report: Report, name: str) -> list[Any]:
    return report.column(name)


def render(p: Projection, window: Window | None = None, prices: PriceTable | None = None, *,
           source: str = "") -> str:
    """The whole report page."""
    window = window or Window()
    by_day = queries.usage(p, "day", window, prices)
    by_session = queries.usage(p, "session", window, prices)
    by_agent = queries.usage(p, "agent", window, prices)
    by_model = queries.usage(p, "model", window, prices)
    latency = queries.latency(p, "model", window)
    tools = queries.tool_stats(p, window=window)
    state = p.state()

    total = by_day.total or (by_day.rows[0] if by_day.rows else None)
    names = [c.name for c in by_day.columns]
    currency = None
    currencies = {c for c in _values(by_session, "currency") if c}
    if len(currencies) == 1:
        currency = currencies.pop()
    money = _money_fmt(currency)

    def total_of(name: str) -> Any:
        return total[names.index(name)] if total is not None else None

    tiles = [
        _tile("sessions", f"{sum(1 for r in by_session.records() if r['model_requests'] or r['list_cost']):,}"),
        _tile("model requests", f"{total_of('model_requests') or 0:,}"),
        _tile("input tokens", charts.compact(total_of("input_tokens") or 0)),
        _tile("output tokens", charts.compact(total_of("output_tokens") or 0)),
        _tile("cache hit ratio", display_value(by_day.columns[names.index("cache_hit_ratio")],
                                               total_of("cache_hit_ratio"))),
        _tile("list cost", money(float(total_of("list_cost"))) if total_of("list_cost") is not None else "—"),
    ]
    if prices is not None:
        estimate = total_of("estimated_cost")
        estimate_money = _money_fmt(prices.currency)
        tiles.append(_tile("estimate (your prices)", estimate_money(float(estimate)) if estimate is not None else "—"))

    days = [display_value(by_day.columns[0], d) for d in _values(by_day, "day")]
    token_chart = charts.bar_chart(days, [
        ("input", _values(by_day, "input_tokens")),
        ("output", _values(by_day, "output_tokens")),
        ("cache write", _values(by_day, "cache_creation_input_tokens")),
    ])
    cache_chart = charts.bar_chart(days, [("cache read", _values(by_day, "cache_read_input_tokens"))],
                                   height=200)
    cost_series: list[tuple[str, list[Any]]] = [("list cost", [_float(v) for v in _values(by_day, "list_cost")])]
    if prices is not None:
        cost_series.append(("estimate", [_float(v) for v in _values(by_day, "estimated_cost")]))
    cost_chart = charts.bar_chart(days, cost_series, fmt=money, stacked=False)
    failed = _values(by_day, "failed_requests")
    ok = [(r or 0) - (f or 0) for r, f in zip(_values(by_day, "model_requests"), failed, strict=True)]
    request_chart = charts.bar_chart(days, [("succeeded", ok), ("failed", failed)])

    agents = sorted(by_agent.records(), key=lambda r: -(_float(r["list_cost"]) or 0))
    agent_chart = charts.hbar_chart([r["agent_name"] or r["agent_id"] or "(unknown)" for r in agents],
                                    [_float(r["list_cost"]) for r in agents], fmt=money, width=520)
    models = sorted(by_model.records(), key=lambda r: -(r["input_tokens"] + r["output_tokens"]))
    if window.bounded:
        model_title = "Tokens by model (input + output)"
        model_chart = charts.hbar_chart([r["model"] or "(unknown)" for r in models],
                                        [r["input_tokens"] + r["output_tokens"] for r in models], width=520)
    else:
        model_title = "Cost by model"
        model_chart = charts.hbar_chart([r["model"] or "(unknown)" for r in models],
                                        [_float(r["list_cost"]) for r in models], fmt=money, color=charts.PALETTE[1],
                                        width=520)
    lat = latency.records()
    latency_chart = charts.hbar_chart([r["model"] or "(unknown)" for r in lat], [r["p95_ms"] for r in lat],
                                      fmt=lambda v: f"{v / 1000:.2f} s", color=charts.PALETTE[2])

    cost_at = [c.name for c in by_session.columns].index("list_cost")
    top_sessions = Report(by_session.title, by_session.columns,
                          sorted(by_session.rows, key=lambda r: -(_float(r[cost_at]) or 0)))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = (f"{escape(source)} · {escape(window.describe())} · generated {generated} · "
            f"analytics at log position {state.position:,}")
    sections = [
        f"<section><h2>Tokens per day</h2>{token_chart}<h3>Cache reads per day</h3>{cache_chart}</section>",
        f"<section><h2>Cost per day</h2>{cost_chart}{_notes(by_day)}</section>",
        f"<section><h2>Model requests per day</h2>{request_chart}</section>",
        f'<div class="two"><section><h2>Cost by agent</h2>{agent_chart}</section>'
        f"<section><h2>{model_title}</h2>{model_chart}</section></div>",
        f"<section><h2>Model request latency, p95 by model</h2>{latency_chart}{_html_table(latency)}</section>",
        f"<section><h2>Top sessions by cost</h2>{_html_table(top_sessions, 25)}{_notes(by_session)}</section>",
        f"<section><h2>Tools</h2>{_html_table(tools, 30)}{_notes(tools)}</section>",
    ]
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>Usage report</title><style>{STYLE}</style></head><body><main>"
        f"<h1>Usage report</h1><div class=\"meta\">{meta}</div>"
        f"<div class=\"tiles\">{''.join(tiles)}</div>{''.join(sections)}</main></body></html>\n"
    )


def _float(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else None
