"""The reports: usage and cost, tool calls, latency. SQL over the read model's views; each returns a Report.

Tokens and model requests are sums over distinct ``span.model_request_end`` events (threads included, each event
counted once however many streams it was recorded from), in the window by the request's end time.

Cost. ``list_cost`` is the platform's figure, never computed here. The platform reports it cumulatively per
session (``session.usage`` events, and the session object's ``usage``), and per thread only as a total (thread
objects). So:

- by session / agent / day: the cost accrued in the window, i.e. per session the latest cumulative figure
  before ``until`` minus the latest before ``since``; by day, each increase is counted on the day it was
  reported. A session's agent is the agent the session runs (sub-agent threads count toward it).
- by thread / model: each thread's own figure; what the session's figure has beyond the sum of its threads'
  (session runtime, per-thread rounding, threads without a figure) goes to the primary thread, so per-thread
  costs add up to the session's. Without a time dimension in per-thread figures, these are left empty when a
  window is given.

An estimate is computed only from a user-supplied price table (:mod:`analytics.prices`) and shown next to the
platform's figure with the drift (estimate - list cost). It covers tokens only; ``list_cost`` also covers
session runtime and server tools, so some drift is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from recorder import vocabulary
from recorder.errors import ConfigError, NotFound
from recorder.output.report import Column, Report

from .prices import PriceTable
from .projection import Projection
from .window import Window

GROUPS = ("session", "agent", "model", "day", "thread")
TOKENS = vocabulary.TOKEN_FIELDS
GRADER = vocabulary.GRADER_TOKEN_FIELDS
REPORTED = tuple(vocabulary.SESSION_USAGE_FIELDS)  # from session.usage: server tools, runtime, cache writes by TTL
EXTRA = (*GRADER, *REPORTED)
PER_MILLION = Decimal(1_000_000)
PER_THOUSAND = Decimal(1_000)
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Group:
    """How one ``--by`` value groups rows: key columns (name, expression over ``req``) and their report columns."""

    keys: tuple[tuple[str, str], ...]
    columns: tuple[Column, ...]


_GROUPS = {
    "session": Group(
        (("session_id", "session_id"),),
        (Column("session_id", width=40), Column("title", in_table=False), Column("agent_name", label="agent", width=24),
         Column("model", in_table=False)),
    ),
    "agent": Group(
        (("agent_name", "session_agent_name"), ("agent_id", "session_agent_id")),
        (Column("agent_name", label="agent", width=32), Column("agent_id", width=36), Column("sessions", "int")),
    ),
    "model": Group((("model", "model"),), (Column("model", width=40),)),
    "day": Group((("day", "CAST(finished_at AS DATE)"),), (Column("day", "day"),)),
    "thread": Group(
        (("session_id", "session_id"), ("thread_id", "thread_id")),
        (Column("session_id", width=32), Column("thread_id", width=32), Column("agent_name", label="agent", width=20),
         Column("model", width=24), Column("is_primary", "bool", label="primary")),
    ),
}


def _check_group(by: str) -> Group:
    if by not in _GROUPS:
        raise ConfigError(f"--by {by!r}: choose one of {', '.join(GROUPS)}")
    return _GROUPS[by]


def _params(window: Window) -> dict[str, Any]:
    return {"since": window.since, "until": window.until}


def _in_window(column: str) -> str:
    """SQL: ``column`` lies in the window (a NULL time is outside any bounded window)."""
    return (f"((CAST($since AS TIMESTAMP) IS NULL OR {column} >= CAST($since AS TIMESTAMP)) AND "
            f"(CAST($until AS TIMESTAMP) IS NULL OR {column} < CAST($until AS TIMESTAMP)))")


# An observation of cumulative cost without a time (a snapshot with no updated_at) counts as the latest one.
_COST_IN_WINDOW = (
    "((CAST($since AS TIMESTAMP) IS NULL OR observed_at IS NULL OR observed_at >= CAST($since AS TIMESTAMP)) AND "
    "(CAST($until AS TIMESTAMP) IS NULL OR observed_at < CAST($until AS TIMESTAMP)))"
)


def _requests(source: str, *, model: bool, agent: bool) -> str:
    """SQL: the model requests in the window, with (only when asked: joins cost) the model and its price, and the
    session's agent."""
    columns, joins = ["r.*"], []
    if agent:
        columns.append("ss.agent_id AS session_agent_id, ss.agent_name AS session_agent_name")
        joins.append("LEFT JOIN session_snapshots ss USING (session_id)")
    if model:
        fast = "CASE WHEN r.speed = 'fast' THEN pr.fast_{} ELSE 1 END"
        columns.append(f"r.input_tokens * pr.input * {fast.format('input')} + r.output_tokens * pr.output * "
                       f"{fast.format('output')} + r.cache_read_input_tokens * pr.cache_read * "
                       f"{fast.format('cache_read')} + r.cache_creation_input_tokens * pr.cache_creation * "
                       f"{fast.format('cache_creation')} AS estimated_cost, pr.model IS NOT NULL AS priced")
        joins.append("LEFT JOIN report_prices pr ON pr.model = r.model")
    else:
        columns.append("NULL::DECIMAL(38, 15) AS estimated_cost, false AS priced")
    return f"""
        SELECT {", ".join(columns)} FROM {source} r {" ".join(joins)}
        WHERE r.id IS NOT NULL AND {_in_window("r.finished_at")}
    """


def _load_prices(p: Projection, prices: PriceTable | None) -> list[str]:
    """(Re)create the temporary price table for the models in the read model; returns the models without one."""
    # Prices per token, exact decimals: estimates are sums of tokens x price with no float rounding.
    p.query("CREATE OR REPLACE TEMP TABLE report_prices (model VARCHAR, input DECIMAL(24, 15), "
            "output DECIMAL(24, 15), cache_read DECIMAL(24, 15), cache_creation DECIMAL(24, 15), "
            "cache_creation_1h DECIMAL(24, 15), fast_input DECIMAL(24, 15), fast_output DECIMAL(24, 15), "
            "fast_cache_read DECIMAL(24, 15), fast_cache_creation DECIMAL(24, 15), web_search DECIMAL(24, 15))")
    if prices is None:
        return []
    models = [m for (m,) in p.query("SELECT DISTINCT model FROM model_request_ends").fetchall()]
    missing = []
    for model in sorted(models, key=lambda m: (m is None, m or "")):
        price = prices.lookup(model)
        if price is None:
            missing.append(model or "(unknown model)")
            continue
        per_token = [amount / PER_MILLION for amount in (price.input, price.output, price.cache_read,
                                                            price.cache_creation, price.one_hour)]
        per_search = (prices.web_search or Decimal(0)) / PER_THOUSAND
        p.query("INSERT INTO report_prices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [model, *per_token, *price.fast, per_search])
    return missing


def _cost_sql(by: str, window: Window) -> str | None:
    """SQL giving (key columns..., list_cost, currency, currencies) per group, or None when not attributable."""
    if by in ("session", "agent", "day"):
        key = {
            "session": "o.session_id",
            "agent": "ss.agent_name AS agent_name, ss.agent_id AS agent_id",
            "day": "CAST(o.observed_at AS DATE) AS day",
        }[by]
        return f"""
            SELECT {key}, sum(o.delta) AS list_cost, min(o.currency) AS currency,
                   count(DISTINCT o.currency) AS currencies
            FROM cost_observations o LEFT JOIN session_snapshots ss USING (session_id)
            WHERE {_COST_IN_WINDOW}
            GROUP BY ALL
        """
    if window.bounded:
        return None
    key = ("a.session_id, a.thread_id" if by == "thread"
           else "coalesce(th.model, CASE WHEN a.thread_id IS NULL THEN ss.model END) AS model")
    return f"""
        WITH session_cost AS (
            SELECT session_id, list_cost, currency FROM cost_observations WHERE is_latest
        ), thread_cost AS (
            SELECT session_id, thread_id, list_cost, currency FROM threads WHERE list_cost IS NOT NULL
        ), remainder AS (
            SELECT sc.session_id, p.thread_id, sc.list_cost - coalesce(tc.total, 0) AS list_cost, sc.currency
            FROM session_cost sc
            LEFT JOIN (SELECT session_id, sum(list_cost) AS total FROM thread_cost GROUP BY ALL) tc USING (session_id)
            LEFT JOIN primary_threads p USING (session_id)
        ), allocated AS (
            SELECT * FROM thread_cost UNION ALL SELECT * FROM remainder
        )
        SELECT {key}, sum(a.list_cost) AS list_cost, min(a.currency) AS currency,
               count(DISTINCT a.currency) AS currencies
        FROM allocated a
        LEFT JOIN threads th ON th.session_id = a.session_id AND th.thread_id = a.thread_id
        LEFT JOIN session_snapshots ss ON ss.session_id = a.session_id
        GROUP BY ALL
    """


def usage(p: Projection, by: str = "session", window: Window | None = None,
          prices: PriceTable | None = None) -> Report:
    """Model requests, the four token counts, cache hit ratio and cost, grouped ``by``."""
    group = _check_group(by)
    window = window or Window()
    missing = _load_prices(p, prices)
    keys = [name for name, _ in group.keys]
    key_select = ", ".join(f"{expr} AS {name}" for name, expr in group.keys)
    key_list = ", ".join(keys)
    cost_sql = _cost_sql(by, window)
    cost_cte = cost_sql or f"SELECT {', '.join('NULL AS ' + k for k in keys)}, NULL::DECIMAL(38, 6) AS list_cost, " \
                           "NULL::VARCHAR AS currency, 0 AS currencies WHERE false"
    with_model = by in ("model", "thread") or prices is not None
    requests = _requests("model_request_ends" if with_model else "request_ends", model=with_model,
                         agent=by == "agent")
    extra = ", count(DISTINCT session_id) AS sessions" if by == "agent" else ""
    sums = ", ".join(f"coalesce(sum({t}), 0) AS {t}" for t in TOKENS)
    base_sessions = "UNION SELECT session_id FROM sessions" if by == "session" and not window.bounded else ""
    attributes, joins, order = {
        "session": ("s.title, s.agent_name, s.model",
                    "LEFT JOIN sessions s ON s.session_id = k.session_id",
                    "coalesce(s.first_event_at, g.first_request_at) NULLS LAST, k.session_id"),
        "agent": ("g.sessions", "", "k.agent_name NULLS LAST, k.agent_id NULLS LAST"),
        "model": ("", "", "k.model NULLS LAST"),
        "day": ("", "", "k.day NULLS LAST"),
        "thread": ("coalesce(th.agent_name, CASE WHEN k.thread_id IS NULL THEN ss.agent_name END), "
                   "coalesce(th.model, CASE WHEN k.thread_id IS NULL THEN ss.model END), "
                   "coalesce(th.is_primary, k.thread_id IS NULL)",
                   "LEFT JOIN threads th ON th.session_id = k.session_id AND th.thread_id = k.thread_id "
                   "LEFT JOIN session_snapshots ss ON ss.session_id = k.session_id",
                   "k.session_id, coalesce(th.is_primary, k.thread_id IS NULL) DESC, th.created_at NULLS LAST, "
                   "k.thread_id NULLS FIRST"),
    }[by]
    matches = " AND ".join(f"{{t}}.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
    grader_sums = ", ".join(f"coalesce(sum({t}), 0) AS grader_{t}" for t in TOKENS)
    reported_sums = ", ".join(f"coalesce(sum(d_{t}), 0) AS {t}" for t in REPORTED)
    if by == "day":  # each increase on the day it was reported
        reported = (f"SELECT session_id, observed_at, "
                    f"{', '.join(f'{t} - coalesce(lag({t}) OVER w, 0) AS d_{t}' for t in REPORTED)} "
                    "FROM usage_observations WINDOW w AS (PARTITION BY session_id ORDER BY observed_at, position)")
        reported_window = _in_window("x.finished_at")
    else:  # per session: the latest figure before until, minus the latest before since (exact, no float sums)
        latest = ("SELECT * FROM usage_observations WHERE {cond} QUALIFY row_number() OVER "
                  "(PARTITION BY session_id ORDER BY observed_at DESC, position DESC) = 1")
        reported = (f"SELECT a.session_id, a.observed_at, "
                    f"{', '.join(f'a.{t} - coalesce(b.{t}, 0) AS d_{t}' for t in REPORTED)} "
                    f"FROM ({latest.format(cond='CAST($until AS TIMESTAMP) IS NULL OR observed_at < $until')}) a "
                    f"LEFT JOIN ({latest.format(cond='observed_at < $since')}) b USING (session_id) "
                    "WHERE CAST($since AS TIMESTAMP) IS NULL OR a.observed_at >= $since")
        reported_window = "true"
    sql = f"""
        WITH req AS ({requests}),
        attributed AS (
            SELECT x.*, coalesce(x.thread_hint, p.thread_id) AS thread_id,
                   coalesce(th.model, ss.model) AS model, ss.agent_id AS session_agent_id,
                   ss.agent_name AS session_agent_name
            FROM (SELECT session_id, thread_id AS thread_hint, finished_at, input_tokens, output_tokens,
                         cache_read_input_tokens, cache_creation_input_tokens, {", ".join("NULL AS d_" + t
                                                                                         for t in REPORTED)}
                  FROM outcome_evaluations WHERE end_id IS NOT NULL AND {_in_window("finished_at")}
                  UNION ALL BY NAME
                  SELECT session_id, NULL AS thread_hint, observed_at AS finished_at,
                         {", ".join("d_" + t for t in REPORTED)}
                  FROM ({reported}) r WHERE {reported_window.replace("x.finished_at", "r.observed_at")}) x
            LEFT JOIN primary_threads p ON p.session_id = x.session_id
            LEFT JOIN threads th ON th.session_id = x.session_id AND th.thread_id = coalesce(x.thread_hint, p.thread_id)
            LEFT JOIN session_snapshots ss ON ss.session_id = x.session_id
        ),
        extra AS (
            SELECT {key_select}, {grader_sums}, {reported_sums},
                   sum(coalesce(a.input_tokens * pr.input + a.output_tokens * pr.output
                                + a.cache_read_input_tokens * pr.cache_read
                                + a.cache_creation_input_tokens * pr.cache_creation, 0)
                       + coalesce(a.d_cache_creation_1h_input_tokens * (pr.cache_creation_1h - pr.cache_creation), 0)
                       + coalesce(a.d_web_search_requests * pr.web_search, 0)) AS estimated_extra
            FROM attributed a
            LEFT JOIN (SELECT model AS price_model, * EXCLUDE (model) FROM report_prices) pr ON pr.price_model = a.model
            GROUP BY ALL
        ),
        grouped AS (
            SELECT {key_select}, count(*) AS model_requests, count(*) FILTER (WHERE is_error) AS failed_requests,
                   {sums}, sum(estimated_cost) AS estimated_cost, bool_and(priced) AS all_priced,
                   min(finished_at) AS first_request_at, max(finished_at) AS last_request_at {extra}
            FROM req GROUP BY ALL
        ),
        cost AS ({cost_cte}),
        keyset AS (SELECT {key_list} FROM grouped UNION SELECT {key_list} FROM cost WHERE list_cost IS NOT NULL
                   UNION SELECT {key_list} FROM extra {base_sessions})
        SELECT {", ".join("k." + k for k in keys)}{", " + attributes if attributes else ""},
               coalesce(g.model_requests, 0), coalesce(g.failed_requests, 0),
               {", ".join(f"coalesce(g.{t}, 0)" for t in TOKENS)},
               g.cache_read_input_tokens / nullif(g.input_tokens + g.cache_read_input_tokens
                                                  + g.cache_creation_input_tokens, 0),
               {", ".join(f"coalesce(x.{t}, 0)" for t in EXTRA)},
               CASE WHEN c.currencies > 1 THEN NULL ELSE c.list_cost END,
               CASE WHEN c.currencies > 1 THEN 'mixed' ELSE c.currency END,
               CASE WHEN g.all_priced THEN g.estimated_cost + coalesce(x.estimated_extra, 0) END,
               g.first_request_at, g.last_request_at
        FROM keyset k
        LEFT JOIN grouped g ON {matches.format(t="g")}
        LEFT JOIN cost c ON {matches.format(t="c")}
        LEFT JOIN extra x ON {matches.format(t="x")}
        {joins}
        ORDER BY {order}
    """
    rows = p.query(sql, _params(window)).fetchall()

    columns: list[Column] = list(group.columns)
    columns += [
        Column("model_requests", "int", label="requests"),
        Column("failed_requests", "int", label="failed"),
        Column("input_tokens", "int", label="input"),
        Column("output_tokens", "int", label="output"),
        Column("cache_read_input_tokens", "int", label="cache read"),
        Column("cache_creation_input_tokens", "int", label="cache write"),
        Column("cache_hit_ratio", "ratio", label="cache hit"),
        *(Column(name, "seconds" if name == "active_seconds" else "int", label=_EXTRA_LABELS[name],
                 in_table=any(row[len(columns) + 7 + n] for row in rows))
          for n, name in enumerate(EXTRA)),
        Column("list_cost", "money", label="list cost"),
        Column("currency", in_table=False),
    ]
    shown_estimate = prices is not None
    columns += [
        Column("estimated_cost", "money", label="estimate", in_table=shown_estimate,
               currency_column="estimate_currency"),
        Column("estimate_currency", in_table=False),
        Column("cost_drift", "money", label="drift", in_table=shown_estimate, currency_column="estimate_currency"),
        Column("cost_drift_ratio", "ratio", label="drift %", in_table=shown_estimate),
        Column("first_request_at", "time", in_table=False),
        Column("last_request_at", "time", in_table=False),
    ]
    out_rows = []
    comparable = prices is not None
    for row in rows:
        *head, cost, currency, estimate, first_at, last_at = row
        estimate_value = _money(estimate)
        drift = drift_ratio = None
        if estimate_value is not None and cost is not None and (currency == prices.currency if prices else False):
            drift = estimate_value - cost
            drift_ratio = float(drift / cost) if cost else None
        out_rows.append((*head, cost, currency, estimate_value, prices.currency if prices else None, drift,
                         drift_ratio, first_at, last_at))

    notes = []
    if by in ("model", "thread") and window.bounded:
        notes.append("list_cost is left empty: the platform reports per-thread cost only as a total, not over time")
    elif by in ("model", "thread"):
        notes.append("list_cost: each thread's own figure; the rest of its session's figure (runtime, rounding) "
                     "is on the primary thread")
    if prices is not None:
        notes.append(f"estimate: tokens x prices from {prices.source} ({prices.currency} per million tokens; "
                     "fast requests x the fast multipliers; grader tokens at the session model's prices; 1-hour "
                     "cache writes and web searches from session.usage); list_cost also covers session runtime")
        if missing:
            notes.append(f"no price for {', '.join(missing)}: groups with its requests have no estimate")
        currencies = {r[-7] for r in out_rows if r[-7]}
        if comparable and currencies and currencies != {prices.currency}:
            notes.append(f"prices are in {prices.currency}, list cost in {', '.join(sorted(currencies))}: no drift")
    report = Report(f"Usage by {by}", columns, out_rows, notes, generated_at=_now(), window=_described(window))
    report.total = _usage_total(report, len(group.columns))
    return report


_EXTRA_LABELS = {
    "grader_input_tokens": "grader in", "grader_output_tokens": "grader out",
    "grader_cache_read_input_tokens": "grader cache read", "grader_cache_creation_input_tokens": "grader cache write",
    "web_search_requests": "web searches", "web_fetch_requests": "web fetches", "active_seconds": "active",
    "cache_creation_5m_input_tokens": "cache write 5m", "cache_creation_1h_input_tokens": "cache write 1h",
}


def _money(value: Any) -> Decimal | None:
    """An amount to the micro unit (list costs have six decimals; estimates are exact until here)."""
    if value is None:
        return None
    return (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(MICRO)


def _usage_total(report: Report, key_columns: int) -> tuple[Any, ...] | None:
    if len(report.rows) < 2:
        return None
    names = [c.name for c in report.columns]
    values: list[Any] = [None] * len(names)
    values[0] = "TOTAL"
    for name in ("model_requests", "failed_requests", *TOKENS, *EXTRA):
        index = names.index(name)
        values[index] = sum(row[index] or 0 for row in report.rows)
    if "sessions" in names:
        values[names.index("sessions")] = None
    prompt = sum(values[names.index(t)] for t in ("input_tokens", "cache_read_input_tokens",
                                                  "cache_creation_input_tokens"))
    values[names.index("cache_hit_ratio")] = values[names.index("cache_read_input_tokens")] / prompt if prompt else None
    currencies = {row[names.index("currency")] for row in report.rows if row[names.index("list_cost")] is not None}
    if len(currencies) == 1:
        values[names.index("list_cost")] = sum(row[names.index("list_cost")] or Decimal(0) for row in report.rows)
        values[names.index("currency")] = currencies.pop()
    estimates = report.column("estimated_cost")
    if estimates and all(e is not None for e in estimates):
        values[names.index("estimated_cost")] = sum(estimates, Decimal(0))
        values[names.index("estimate_currency")] = report.rows[0][names.index("estimate_currency")]
        cost = values[names.index("list_cost")]
        if cost is not None and all(d is not None for d in report.column("cost_drift")):
            drift = values[names.index("estimated_cost")] - cost
            values[names.index("cost_drift")] = drift
            values[names.index("cost_drift_ratio")] = float(drift / cost) if cost else None
    return tuple(values)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _described(window: Window) -> str | None:
    return window.describe() if window.bounded else None


# ------------------------------------------------------------------------------------------------- tools


def _require_session(p: Projection, session_id: str) -> None:
    found = p.query("SELECT count(*) FROM sessions WHERE session_id = ?", [session_id]).fetchone()
    if not found or not found[0]:
        raise NotFound(f"session {session_id} is not in the log; `recorder sessions` lists what is recorded")


TOOL_CALL_COLUMNS = [
    Column("session_id", width=32),
    Column("id", label="tool use id", in_table=False),
    Column("started_at", "time", label="started"),
    Column("thread_id", label="thread", width=20),
    Column("kind"),
    Column("name", width=28),
    Column("mcp_server_name", in_table=False),
    Column("input", "json", width=48),
    Column("result_id", in_table=False),
    Column("is_error", "bool", label="error"),
    Column("finished_at", "time", in_table=False),
    Column("duration_ms", "ms", label="duration"),
    Column("permission", in_table=False),
    Column("confirmation", label="confirmed"),
    Column("deny_message", in_table=False),
    Column("wait_ms", "ms", label="waited"),
    Column("input_chars", "int", in_table=False),
    Column("result_chars", "int", label="result chars"),
    Column("result_type", in_table=False),  # agent.tool_result, user.tool_result (self-hosted), ...
    Column("policy", in_table=False),  # the permission policy that decided: always_allow, always_ask, auto
    Column("judgement", in_table=False),  # under auto: allow, ask or deny
    Column("reason_code", in_table=False),
    Column("denied_by", label="denied by"),  # user (a confirmation) or policy (evaluated_permission deny)
]


def tool_calls(p: Projection, session_id: str | None = None, window: Window | None = None) -> Report:
    """Tool calls in order (one session's, or every session's), each with its result or NULLs."""
    window = window or Window()
    if session_id is not None:
        _require_session(p, session_id)
    names = [c.name for c in TOOL_CALL_COLUMNS]
    rows = p.query(
        f"SELECT {', '.join(names)} FROM tool_calls "
        f"WHERE (CAST($session AS VARCHAR) IS NULL OR session_id = $session) AND {_in_window('started_at')} "
        "ORDER BY session_id, started_at NULLS LAST, position",
        {**_params(window), "session": session_id},
    ).fetchall()
    columns = list(TOOL_CALL_COLUMNS)
    if session_id is not None:
        columns[0] = Column("session_id", in_table=False)
    title = f"Tool calls of {session_id}" if session_id else "Tool calls"
    return Report(title, columns, rows, generated_at=_now(), window=_described(window))


def tool_stats(p: Projection, session_id: str | None = None, window: Window | None = None) -> Report:
    """Per tool: calls, error rate, p50/p95 duration, time waiting in requires_action, confirmations."""
    window = window or Window()
    if session_id is not None:
        _require_session(p, session_id)
    rows = p.query(
        f"""
        SELECT kind, name, mcp_server_name, count(*) AS calls, count(result_id) AS results,
               count(*) FILTER (WHERE is_error) AS errors,
               count(*) FILTER (WHERE is_error) / nullif(count(result_id), 0) AS error_rate,
               quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
               max(duration_ms) AS max_ms,
               count(confirmation) AS confirmations,
               count(*) FILTER (WHERE denied_by = 'user') AS denied_by_user,
               count(*) FILTER (WHERE denied_by = 'policy') AS denied_by_policy,
               count(*) FILTER (WHERE policy = 'auto' AND judgement = 'allow') AS auto_allow,
               count(*) FILTER (WHERE policy = 'auto' AND judgement = 'ask') AS auto_ask,
               count(*) FILTER (WHERE policy = 'auto' AND judgement = 'deny') AS auto_deny,
               quantile_cont(wait_ms, 0.5) AS p50_wait_ms, quantile_cont(wait_ms, 0.95) AS p95_wait_ms,
               count(DISTINCT session_id) AS sessions
        FROM tool_calls
        WHERE (CAST($session AS VARCHAR) IS NULL OR session_id = $session) AND {_in_window('started_at')}
        GROUP BY ALL ORDER BY calls DESC, kind, name
        """,
        {**_params(window), "session": session_id},
    ).fetchall()
    columns = [
        Column("kind"), Column("name", width=32), Column("mcp_server_name", label="mcp server", width=20),
        Column("calls", "int"), Column("results", "int", in_table=False), Column("errors", "int"),
        Column("error_rate", "ratio", label="error rate"), Column("p50_ms", "ms", label="p50"),
        Column("p95_ms", "ms", label="p95"), Column("max_ms", "ms", label="max", in_table=False),
        Column("confirmations", "int", label="confirmed"),
        Column("denied_by_user", "int", label="denied (user)"),
        Column("denied_by_policy", "int", label="denied (policy)"),
        Column("auto_allow", "int", label="auto allow"), Column("auto_ask", "int", label="auto ask"),
        Column("auto_deny", "int", label="auto deny"),
        Column("p50_wait_ms", "ms", label="wait p50"), Column("p95_wait_ms", "ms", label="wait p95"),
        Column("sessions", "int"),
    ]
    title = f"Tool statistics of {session_id}" if session_id else "Tool statistics"
    return Report(title, columns, rows,
                  ["wait: time in requires_action until the client's tool result or the confirmation arrived",
                   "denied (user): a user.tool_confirmation denied it; denied (policy): evaluated_permission deny; "
                   "auto: the server's judgements under the auto permission policy"],
                  generated_at=_now(), window=_described(window))


# ---------------------------------------------------------------------------------------------- outcomes

OUTCOME_COLUMNS = [
    Column("session_id", width=32),
    Column("outcome_id", width=24),
    Column("description", width=40),
    Column("rubric", in_table=False),
    Column("max_iterations", "int", label="max", in_table=False),
    Column("iteration", "int"),
    Column("result", label="verdict", width=22),
    Column("explanation", width=48),
    *(Column(f"grader_{t}", "int", label=label) for t, label in zip(
        TOKENS, ("grader in", "grader out", "grader cache read", "grader cache write"), strict=True)),
    Column("started_at", "time", in_table=False),
    Column("finished_at", "time", in_table=False),
    Column("duration_ms", "ms", label="duration"),
    Column("heartbeats", "int", in_table=False),
    Column("defined_id", in_table=False),
    Column("start_id", in_table=False),
    Column("end_id", in_table=False),
]


def outcomes(p: Projection, session_id: str | None = None, window: Window | None = None) -> Report:
    """Each outcome (``user.define_outcome``: description, rubric) with one row per grader iteration (0-based):
    verdict, explanation, grader tokens, duration. An outcome not yet graded has one row without an iteration."""
    window = window or Window()
    if session_id is not None:
        _require_session(p, session_id)
    rows = p.query(
        f"""
        SELECT coalesce(o.session_id, e.session_id), coalesce(o.outcome_id, e.outcome_id), o.description, o.rubric,
               o.max_iterations, e.iteration, e.result, e.explanation,
               {", ".join(f"e.{t}" for t in TOKENS)}, e.started_at, e.finished_at, e.duration_ms, e.heartbeats,
               o.id, e.start_id, e.end_id
        FROM outcomes o FULL JOIN outcome_evaluations e
             ON e.session_id = o.session_id AND e.outcome_id IS NOT DISTINCT FROM o.outcome_id
        WHERE (CAST($session AS VARCHAR) IS NULL OR coalesce(o.session_id, e.session_id) = $session)
          AND {_in_window("coalesce(o.defined_at, e.started_at, e.finished_at)")}
        ORDER BY 1, coalesce(o.position, e.position), e.iteration NULLS FIRST, e.position
        """,
        {**_params(window), "session": session_id},
    ).fetchall()
    columns = list(OUTCOME_COLUMNS)
    if session_id is not None:
        columns[0] = Column("session_id", in_table=False)
    title = f"Outcomes of {session_id}" if session_id else "Outcomes"
    return Report(title, columns, rows, ["iterations are 0-based; grader tokens are span.outcome_evaluation_end "
                                         "usage (also summed as grader_* by recorder usage)"],
                  generated_at=_now(), window=_described(window))


# ----------------------------------------------------------------------------------------------- latency


def latency(p: Projection, by: str = "model", window: Window | None = None) -> Report:
    """Model request latency percentiles (start to end) and time per status, grouped ``by``."""
    group = _check_group(by)
    window = window or Window()
    _load_prices(p, None)
    keys = [name for name, _ in group.keys]
    key_select = ", ".join(f"{expr} AS {name}" for name, expr in group.keys)
    status_key = {
        "session": "i.session_id",
        "agent": "ss.agent_name AS agent_name, ss.agent_id AS agent_id",
        "day": "CAST(i.started_at AS DATE) AS day",
        "thread": "i.session_id, i.thread_id",
        "model": None,
    }[by]
    status_filter = "i.scope = 'session'" if by != "thread" else (
        "(i.scope = 'thread' OR NOT EXISTS (SELECT 1 FROM status_intervals t WHERE t.scope = 'thread' "
        "AND t.session_id = i.session_id AND t.thread_id IS NOT DISTINCT FROM i.thread_id))")
    status_sql = f"""
        SELECT {status_key},
               sum(i.seconds) FILTER (WHERE i.status = 'running') AS running_s,
               sum(i.seconds) FILTER (WHERE i.status = 'idle') AS idle_s,
               sum(i.seconds) FILTER (WHERE i.status = 'requires_action') AS requires_action_s,
               sum(i.seconds) FILTER (WHERE i.status = 'rescheduling') AS rescheduling_s
        FROM status_intervals i LEFT JOIN session_snapshots ss USING (session_id)
        WHERE {status_filter} AND {_in_window('i.started_at')}
        GROUP BY ALL
    """ if status_key else (
        f"SELECT {', '.join('NULL AS ' + k for k in keys)}, NULL::DOUBLE AS running_s, NULL::DOUBLE AS idle_s, "
        "NULL::DOUBLE AS requires_action_s, NULL::DOUBLE AS rescheduling_s WHERE false")
    on = " AND ".join(f"x.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
    sql = f"""
        WITH req AS ({_requests("model_requests", model=True, agent=by == "agent")}),
        lat AS (
            SELECT {key_select}, count(*) AS model_requests, count(latency_ms) AS timed,
                   count(*) FILTER (WHERE is_error) AS failed,
                   quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95,
                   quantile_cont(latency_ms, 0.99) AS p99, max(latency_ms) AS max_ms, avg(latency_ms) AS mean_ms
            FROM req GROUP BY ALL
        ),
        st AS ({status_sql}),
        keyset AS (SELECT {", ".join(keys)} FROM lat UNION SELECT {", ".join(keys)} FROM st)
        SELECT {", ".join("k." + k for k in keys)},
               coalesce(l.model_requests, 0), coalesce(l.failed, 0), l.p50, l.p95, l.p99, l.max_ms, l.mean_ms,
               s.running_s, s.idle_s, s.requires_action_s, s.rescheduling_s
        FROM keyset k
        LEFT JOIN lat l ON {on.replace("x.", "l.")}
        LEFT JOIN st s ON {on.replace("x.", "s.")}
        ORDER BY {", ".join("k." + k + " NULLS LAST" for k in keys)}
    """
    rows = p.query(sql, _params(window)).fetchall()
    key_columns = [c for c in group.columns if c.name in keys]
    columns = [
        *key_columns,
        Column("model_requests", "int", label="requests"), Column("failed_requests", "int", label="failed"),
        Column("p50_ms", "ms", label="p50"), Column("p95_ms", "ms", label="p95"), Column("p99_ms", "ms", label="p99"),
        Column("max_ms", "ms", label="max"), Column("mean_ms", "ms", label="mean", in_table=False),
        Column("running_s", "seconds", label="running", in_table=by != "model"),
        Column("idle_s", "seconds", label="idle", in_table=by != "model"),
        Column("requires_action_s", "seconds", label="requires action", in_table=by != "model"),
        Column("rescheduling_s", "seconds", label="rescheduling", in_table=by != "model"),
    ]
    notes = ["latency: from span.model_request_start to its span.model_request_end"]
    if by == "model":
        notes.append("time per status is per session or thread, not per model: use --by session, agent, day "
                     "or thread")
    return Report(f"Latency by {by}", columns, rows, notes, generated_at=_now(), window=_described(window))
