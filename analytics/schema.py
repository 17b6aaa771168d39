"""The read model's DuckDB schema: append-only fact tables written by the projection, and the views reports read.

Tables (written only by :mod:`analytics.projection`)
    ``projection_state``   one row: schema version, last log position projected and its chain hash, counts, the
                           last retention prune applied.
    ``streams``            the log's streams seen so far: stream id -> (session, thread or NULL).
    ``log_events``         one row per log row (an event in one stream): position, stream, key, type, time.
                           Every event is here, unknown types included.
    ``f_*``                one row per log row of a type the model understands, keyed by ``position``:
                           ``f_request_end`` (model_usage), ``f_tool_use``, ``f_tool_result``, ``f_confirmation``,
                           ``f_status`` (with a refusal's category and explanation), ``f_usage``
                           (``session.usage``), ``f_error`` (with the error type's own fields as JSON),
                           ``f_thread_created``, ``f_outcome`` (``user.define_outcome`` and
                           ``span.outcome_evaluation_*``), ``f_thread_hint`` (an event's ``session_thread_id``).
    ``distinct_events``    one row per distinct event of a session (``INDEX_EVENTS``). The same event (same key)
                           can be in several streams of a session: it counts once, at its first position, and
                           belongs to the thread of the stream it came from when that is a thread stream, else to
                           its ``session_thread_id`` (else NULL: the session's primary thread, resolved in views).
    ``session_snapshots``, ``thread_snapshots``, ``snapshot_agents``
                           what the API last said about sessions and threads (agent, model, status, list cost),
                           replaced wholesale when it changed.
    ``primary_threads``, ``threads``, ``sessions``
                           small tables derived (``DERIVED``) from the facts and snapshots at the end of each
                           update that changed anything: each session's primary thread; every thread with its
                           agent, model (its snapshot, else the session agent's roster by name) and own list cost;
                           every session with its agent, model, counts and latest list cost.

Views (what reports and ad-hoc SQL read)
    ``events``             ``distinct_events`` with the event id, and the thread resolved to the session's
                           primary thread for session-level events (NULL while the primary is unknown).
    ``request_ends``       one row per ``span.model_request_end``: tokens, is_error (usage reads it);
    ``model_request_ends`` the same with its thread and the model that served it (the thread's agent).
    ``model_requests``     ``span.model_request_start``/``_end`` paired: latency, tokens, is_error, thread, model.
    ``tool_calls``         tool uses (built-in, MCP, custom) with their result (or NULLs), confirmation and the
                           time spent waiting in ``requires_action``.
    ``messages``, ``errors``, ``usage_snapshots``, ``status_changes``, ``status_intervals``,
    ``cost_observations``  (every recorded cumulative ``list_cost``: ``session.usage`` events and snapshots).
    ``outcomes``           each ``user.define_outcome``; ``outcome_evaluations`` each grader iteration
                           (start and end paired, heartbeats counted) with its verdict and grader tokens.
    ``usage_observations`` each ``session.usage``'s server tool requests, active seconds, cache writes by TTL.

Event types come from :mod:`recorder.vocabulary` (the SQL lists are built there); ``extract.HANDLED`` says how
the projection treats each one.

The fact tables are a pure function of the log rows (each written once, in the same transaction as the
checkpoint), so an interrupted or repeated projection can never count an event twice. ``distinct_events`` and the
derived tables are functions of the fact tables and snapshots, whatever runs they were built in, so a rebuild
gives identical tables. Pairing (requests, tool calls, status intervals) lives in views.
"""

from __future__ import annotations

from recorder import vocabulary
from recorder.events import SURROGATE_PREFIX
from recorder.vocabulary import sql_list

SCHEMA_VERSION = 2

TOOL_USE_TYPES_SQL = sql_list(vocabulary.TOOL_USE_KINDS)
TOOL_RESULT_TYPES_SQL = sql_list(vocabulary.TOOL_RESULTS)
CLIENT_RESULT_TYPES_SQL = sql_list(vocabulary.CLIENT_RESULTS)
MESSAGE_TYPES_SQL = sql_list(vocabulary.MESSAGE_TYPES)
OUTCOME_TYPES_SQL = sql_list((vocabulary.OUTCOME_DEFINED, vocabulary.OUTCOME_START, vocabulary.OUTCOME_ONGOING,
                              vocabulary.OUTCOME_END))

TABLES = """
CREATE TABLE projection_state (
    id INTEGER PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    position BIGINT NOT NULL,
    chain_hash VARCHAR,
    log_rows BIGINT NOT NULL,
    pruned_audit_id BIGINT NOT NULL,
    indexed_position BIGINT NOT NULL,
    source VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    snapshots_at TIMESTAMP
);
CREATE TABLE streams (stream_id INTEGER NOT NULL, session_id VARCHAR NOT NULL, thread_id VARCHAR);
CREATE TABLE log_events (
    position BIGINT NOT NULL, stream_id INTEGER NOT NULL, event_key VARCHAR NOT NULL, type VARCHAR NOT NULL,
    processed_at TIMESTAMP, payload_chars BIGINT NOT NULL
);
CREATE TABLE f_thread_hint (position BIGINT NOT NULL, thread_id VARCHAR NOT NULL);
CREATE TABLE f_request_end (
    position BIGINT NOT NULL, start_id VARCHAR, is_error BOOLEAN, input_tokens BIGINT, output_tokens BIGINT,
    cache_read_input_tokens BIGINT, cache_creation_input_tokens BIGINT, speed VARCHAR
);
CREATE TABLE f_tool_use (
    position BIGINT NOT NULL, kind VARCHAR NOT NULL, name VARCHAR, mcp_server_name VARCHAR, input VARCHAR,
    input_chars BIGINT, permission VARCHAR, policy VARCHAR, judgement VARCHAR, reason_code VARCHAR
);
CREATE TABLE f_tool_result (
    position BIGINT NOT NULL, kind VARCHAR NOT NULL, tool_use_id VARCHAR, is_error BOOLEAN, result_chars BIGINT
);
CREATE TABLE f_confirmation (position BIGINT NOT NULL, tool_use_id VARCHAR, result VARCHAR, deny_message VARCHAR);
CREATE TABLE f_status (
    position BIGINT NOT NULL, scope VARCHAR NOT NULL, status VARCHAR NOT NULL, stop_reason VARCHAR,
    event_ids VARCHAR[], refusal_category VARCHAR, refusal_explanation VARCHAR
);
CREATE TABLE f_usage (
    position BIGINT NOT NULL, input_tokens BIGINT, output_tokens BIGINT, cache_read_input_tokens BIGINT,
    cache_creation_5m_tokens BIGINT, cache_creation_1h_tokens BIGINT, active_seconds DOUBLE,
    web_search_requests BIGINT, web_fetch_requests BIGINT, list_cost DECIMAL(20, 6), currency VARCHAR,
    budget_max_list_cost DECIMAL(20, 6), budget_currency VARCHAR
);
CREATE TABLE f_error (
    position BIGINT NOT NULL, error_type VARCHAR, message VARCHAR, retry_status VARCHAR, details VARCHAR
);
CREATE TABLE f_outcome (
    position BIGINT NOT NULL, outcome_id VARCHAR, phase VARCHAR NOT NULL, iteration BIGINT, result VARCHAR,
    explanation VARCHAR, start_id VARCHAR, description VARCHAR, rubric VARCHAR, max_iterations BIGINT,
    input_tokens BIGINT, output_tokens BIGINT, cache_read_input_tokens BIGINT, cache_creation_input_tokens BIGINT
);
CREATE TABLE f_thread_created (position BIGINT NOT NULL, thread_id VARCHAR, agent_name VARCHAR);
CREATE TABLE session_snapshots (
    session_id VARCHAR NOT NULL, title VARCHAR, status VARCHAR, agent_id VARCHAR, agent_name VARCHAR,
    model VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, list_cost DECIMAL(20, 6), currency VARCHAR
);
CREATE TABLE thread_snapshots (
    session_id VARCHAR NOT NULL, thread_id VARCHAR NOT NULL, parent_thread_id VARCHAR, status VARCHAR,
    agent_id VARCHAR, agent_name VARCHAR, model VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP,
    list_cost DECIMAL(20, 6), currency VARCHAR
);
CREATE TABLE snapshot_agents (
    session_id VARCHAR NOT NULL, role VARCHAR NOT NULL, agent_id VARCHAR, agent_name VARCHAR, model VARCHAR
);
CREATE TABLE distinct_events (
    position BIGINT NOT NULL, session_id VARCHAR NOT NULL, event_key VARCHAR NOT NULL, type VARCHAR NOT NULL,
    processed_at TIMESTAMP, thread_id VARCHAR, thread_rank TINYINT NOT NULL, copies INTEGER NOT NULL,
    payload_chars BIGINT NOT NULL
);
CREATE TABLE primary_threads (session_id VARCHAR NOT NULL, thread_id VARCHAR);
CREATE TABLE threads (
    session_id VARCHAR NOT NULL, thread_id VARCHAR NOT NULL, parent_thread_id VARCHAR, is_primary BOOLEAN NOT NULL,
    agent_name VARCHAR, model VARCHAR, status VARCHAR, created_at TIMESTAMP, list_cost DECIMAL(20, 6),
    currency VARCHAR
);
CREATE TABLE sessions (
    session_id VARCHAR NOT NULL, title VARCHAR, status VARCHAR, agent_id VARCHAR, agent_name VARCHAR,
    model VARCHAR, created_at TIMESTAMP, primary_thread_id VARCHAR, log_rows BIGINT, first_event_at TIMESTAMP,
    last_event_at TIMESTAMP, list_cost DECIMAL(38, 6), currency VARCHAR
);
"""

# Tables a rebuild empties, in an order that needs no care (there are no foreign keys).
FACT_TABLES = [
    "streams", "log_events", "distinct_events", "f_thread_hint", "f_request_end", "f_tool_use", "f_tool_result",
    "f_confirmation", "f_status", "f_usage", "f_error", "f_thread_created", "f_outcome",
]
SNAPSHOT_TABLES = ["session_snapshots", "thread_snapshots", "snapshot_agents"]
DERIVED_TABLES = ["primary_threads", "threads", "sessions"]

# 2**50: more than any position, so rank * RANK_WEIGHT - position orders by rank, then earliest position.
RANK_WEIGHT = 1 << 50

VIEWS = f"""
CREATE OR REPLACE VIEW event_copies AS
SELECT e.position, s.session_id, s.thread_id AS stream_thread_id, e.event_key, e.type, e.processed_at,
       e.payload_chars, coalesce(s.thread_id, h.thread_id) AS thread_hint,
       CASE WHEN s.thread_id IS NOT NULL THEN 2 WHEN h.thread_id IS NOT NULL THEN 1 ELSE 0 END AS thread_rank
FROM log_events e JOIN streams s USING (stream_id) LEFT JOIN f_thread_hint h USING (position);

CREATE OR REPLACE VIEW events AS
SELECT d.position, d.session_id,
       CASE WHEN starts_with(d.event_key, '{SURROGATE_PREFIX}') THEN '' ELSE d.event_key END AS event_id,
       d.event_key, d.type, d.processed_at, coalesce(d.thread_id, p.thread_id) AS thread_id,
       d.copies, d.payload_chars
FROM distinct_events d LEFT JOIN primary_threads p USING (session_id);

CREATE OR REPLACE VIEW request_ends AS
SELECT d.session_id, d.event_key AS id, d.position, d.processed_at AS finished_at,
       d.thread_id AS attributed_thread_id, f.start_id, f.is_error, f.input_tokens, f.output_tokens,
       f.cache_read_input_tokens, f.cache_creation_input_tokens, f.speed
FROM distinct_events d JOIN f_request_end f USING (position)
WHERE d.type = '{vocabulary.REQUEST_END}';

CREATE OR REPLACE VIEW model_request_ends AS
SELECT r.* EXCLUDE (attributed_thread_id), coalesce(r.attributed_thread_id, p.thread_id) AS thread_id,
       coalesce(th.model, CASE WHEN coalesce(r.attributed_thread_id, p.thread_id) IS NULL OR th.is_primary
                               THEN ss.model END) AS model,
       coalesce(th.agent_name, CASE WHEN coalesce(r.attributed_thread_id, p.thread_id) IS NULL
                                    THEN ss.agent_name END) AS thread_agent_name
FROM request_ends r
LEFT JOIN primary_threads p ON p.session_id = r.session_id
LEFT JOIN threads th ON th.session_id = r.session_id AND th.thread_id = coalesce(r.attributed_thread_id, p.thread_id)
LEFT JOIN session_snapshots ss ON ss.session_id = r.session_id;

CREATE OR REPLACE VIEW model_requests AS
WITH ends AS (
    SELECT session_id, id AS event_id, position, finished_at AS processed_at, thread_id, start_id, is_error,
           input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens, speed
    FROM model_request_ends
), starts AS (
    SELECT session_id, event_id, position, processed_at, thread_id FROM events
    WHERE type = 'span.model_request_start'
), paired AS (
    SELECT coalesce(e.session_id, s.session_id) AS session_id, e.event_id AS id,
           coalesce(e.start_id, s.event_id) AS start_id, coalesce(e.thread_id, s.thread_id) AS thread_id,
           s.processed_at AS started_at, e.processed_at AS finished_at,
           date_diff('microsecond', s.processed_at, e.processed_at) / 1000.0 AS latency_ms,
           e.is_error, e.input_tokens, e.output_tokens, e.cache_read_input_tokens, e.cache_creation_input_tokens,
           e.speed, coalesce(e.position, s.position) AS position
    FROM ends e FULL JOIN starts s ON s.session_id = e.session_id AND s.event_id = e.start_id
)
SELECT r.*, coalesce(th.model, CASE WHEN r.thread_id IS NULL OR th.is_primary THEN ss.model END) AS model,
       coalesce(th.agent_name, CASE WHEN r.thread_id IS NULL THEN ss.agent_name END) AS thread_agent_name
FROM paired r
LEFT JOIN threads th ON th.session_id = r.session_id AND th.thread_id = r.thread_id
LEFT JOIN session_snapshots ss ON ss.session_id = r.session_id;

CREATE OR REPLACE VIEW status_changes AS
SELECT ev.session_id, ev.position, ev.processed_at AS changed_at, f.scope, ev.thread_id, f.status, f.stop_reason,
       f.event_ids, f.refusal_category, f.refusal_explanation
FROM events ev JOIN f_status f USING (position)
WHERE ev.type LIKE 'session.status\\_%' ESCAPE '\\' OR ev.type LIKE 'session.thread\\_status\\_%' ESCAPE '\\';

CREATE OR REPLACE VIEW status_intervals AS
WITH changes AS (
    SELECT *, lead(changed_at) OVER (PARTITION BY session_id, scope, CASE WHEN scope = 'thread' THEN thread_id END
                                     ORDER BY changed_at, position) AS next_at
    FROM status_changes
), last_seen AS (
    SELECT session_id, max(processed_at) AS last_at FROM events GROUP BY session_id
)
SELECT c.session_id, c.scope, c.thread_id, c.status, c.stop_reason, c.changed_at AS started_at,
       coalesce(c.next_at, CASE WHEN c.status = 'terminated' THEN c.changed_at
                                ELSE greatest(l.last_at, c.changed_at) END) AS ended_at,
       date_diff('microsecond', started_at, ended_at) / 1e6 AS seconds,
       c.next_at IS NULL AS is_last, c.position
FROM changes c LEFT JOIN last_seen l USING (session_id)
WHERE c.changed_at IS NOT NULL;

CREATE OR REPLACE VIEW tool_calls AS
WITH uses AS (
    SELECT ev.session_id, ev.event_id AS id, ev.position, ev.processed_at AS started_at, ev.thread_id, f.kind,
           f.name, f.mcp_server_name, f.input, f.input_chars, f.permission, f.policy, f.judgement, f.reason_code
    FROM events ev JOIN f_tool_use f USING (position) WHERE ev.type IN {TOOL_USE_TYPES_SQL}
), results AS (
    SELECT ev.session_id, ev.event_id AS result_id, ev.type AS result_type, ev.processed_at AS finished_at,
           f.tool_use_id, f.is_error, f.result_chars
    FROM events ev JOIN f_tool_result f USING (position) WHERE ev.type IN {TOOL_RESULT_TYPES_SQL}
    QUALIFY row_number() OVER (PARTITION BY ev.session_id, f.tool_use_id ORDER BY ev.position) = 1
), confirmations AS (
    SELECT ev.session_id, f.tool_use_id, f.result AS confirmation, f.deny_message, ev.processed_at AS confirmed_at
    FROM events ev JOIN f_confirmation f USING (position) WHERE ev.type = 'user.tool_confirmation'
    QUALIFY row_number() OVER (PARTITION BY ev.session_id, f.tool_use_id ORDER BY ev.position) = 1
), waits AS (
    SELECT session_id, tool_use_id, min(changed_at) AS requires_action_at
    FROM (SELECT session_id, changed_at, unnest(event_ids) AS tool_use_id FROM status_changes
          WHERE status = 'requires_action')
    GROUP BY ALL
)
SELECT u.session_id, u.id, u.kind, u.name, u.mcp_server_name, u.input, u.thread_id, r.result_id, r.is_error,
       u.started_at, r.finished_at, date_diff('microsecond', u.started_at, r.finished_at) / 1000.0 AS duration_ms,
       u.permission, c.confirmation, c.deny_message, w.requires_action_at,
       date_diff('microsecond', w.requires_action_at,
                 CASE WHEN r.result_type IN {CLIENT_RESULT_TYPES_SQL} OR (r.result_type IS NULL AND u.kind = 'custom')
                      THEN r.finished_at ELSE c.confirmed_at END) / 1000.0 AS wait_ms,
       u.input_chars, r.result_chars, u.position, r.result_type, u.policy, u.judgement, u.reason_code,
       CASE WHEN c.confirmation = 'deny' THEN 'user' WHEN u.permission = 'deny' THEN 'policy' END AS denied_by
FROM uses u
LEFT JOIN results r ON r.session_id = u.session_id AND r.tool_use_id = u.id
LEFT JOIN confirmations c ON c.session_id = u.session_id AND c.tool_use_id = u.id
LEFT JOIN waits w ON w.session_id = u.session_id AND w.tool_use_id = u.id;

CREATE OR REPLACE VIEW messages AS
SELECT session_id, event_id AS id, type,
       CASE type WHEN 'user.message' THEN 'user' WHEN 'agent.message' THEN 'agent' WHEN 'system.message' THEN 'system'
                 WHEN 'agent.thread_message_sent' THEN 'thread_sent' ELSE 'thread_received' END AS role,
       thread_id, processed_at, payload_chars, position
FROM events
WHERE type IN {MESSAGE_TYPES_SQL};

CREATE OR REPLACE VIEW errors AS
SELECT ev.session_id, ev.event_id AS id, ev.thread_id, ev.processed_at, f.error_type, f.message, f.retry_status,
       ev.position, f.details
FROM events ev JOIN f_error f USING (position) WHERE ev.type = 'session.error';

CREATE OR REPLACE VIEW outcomes AS
SELECT ev.session_id, f.outcome_id, ev.event_id AS id, ev.processed_at AS defined_at, f.description, f.rubric,
       f.max_iterations, ev.thread_id, ev.position
FROM events ev JOIN f_outcome f USING (position) WHERE ev.type = '{vocabulary.OUTCOME_DEFINED}';

CREATE OR REPLACE VIEW outcome_evaluations AS
WITH rows AS (
    SELECT ev.session_id, ev.event_id, ev.type, ev.processed_at, ev.thread_id, ev.position, f.*  EXCLUDE (position)
    FROM events ev JOIN f_outcome f USING (position) WHERE ev.type IN {OUTCOME_TYPES_SQL}
), starts AS (
    SELECT * FROM rows WHERE type = '{vocabulary.OUTCOME_START}'
), ends AS (
    SELECT * FROM rows WHERE type = '{vocabulary.OUTCOME_END}'
), beats AS (
    SELECT session_id, outcome_id, iteration, count(*) AS heartbeats FROM rows
    WHERE type = '{vocabulary.OUTCOME_ONGOING}' GROUP BY ALL
), paired AS (
    SELECT coalesce(e.session_id, s.session_id) AS session_id, coalesce(e.outcome_id, s.outcome_id) AS outcome_id,
           coalesce(e.iteration, s.iteration) AS iteration, s.event_id AS start_id, e.event_id AS end_id,
           s.processed_at AS started_at, e.processed_at AS finished_at,
           date_diff('microsecond', s.processed_at, e.processed_at) / 1000.0 AS duration_ms,
           e.result, e.explanation, e.input_tokens, e.output_tokens, e.cache_read_input_tokens,
           e.cache_creation_input_tokens, coalesce(e.thread_id, s.thread_id) AS thread_id,
           coalesce(e.position, s.position) AS position
    FROM ends e FULL JOIN starts s ON s.session_id = e.session_id AND s.event_id = e.start_id
)
SELECT p.*, coalesce(b.heartbeats, 0) AS heartbeats
FROM paired p LEFT JOIN beats b ON b.session_id = p.session_id AND b.outcome_id IS NOT DISTINCT FROM p.outcome_id
                               AND b.iteration IS NOT DISTINCT FROM p.iteration;

CREATE OR REPLACE VIEW usage_observations AS
SELECT d.session_id, d.processed_at AS observed_at, d.position,
       coalesce(f.web_search_requests, 0) AS web_search_requests,
       coalesce(f.web_fetch_requests, 0) AS web_fetch_requests,
       coalesce(f.active_seconds, 0) AS active_seconds,
       coalesce(f.cache_creation_5m_tokens, 0) AS cache_creation_5m_input_tokens,
       coalesce(f.cache_creation_1h_tokens, 0) AS cache_creation_1h_input_tokens
FROM distinct_events d JOIN f_usage f USING (position) WHERE d.type = '{vocabulary.USAGE}';

CREATE OR REPLACE VIEW usage_snapshots AS
SELECT d.session_id, d.event_key AS id, d.processed_at, f.* EXCLUDE (position), d.position
FROM distinct_events d JOIN f_usage f USING (position) WHERE d.type = 'session.usage';

CREATE OR REPLACE VIEW cost_observations AS
WITH observations AS (
    SELECT session_id, processed_at AS observed_at, 0 AS source_order, position, list_cost, currency,
           'session.usage' AS source
    FROM usage_snapshots WHERE list_cost IS NOT NULL
    UNION ALL
    SELECT session_id, updated_at, 1, NULL, list_cost, currency, 'snapshot'
    FROM session_snapshots WHERE list_cost IS NOT NULL
)
SELECT *,
       list_cost - coalesce(lag(list_cost) OVER (PARTITION BY session_id
                            ORDER BY observed_at ASC NULLS LAST, source_order, position), 0) AS delta,
       row_number() OVER (PARTITION BY session_id
                          ORDER BY observed_at DESC NULLS FIRST, source_order DESC, position DESC NULLS FIRST) = 1
           AS is_latest
FROM observations;
"""

# Indexing the distinct events of the log rows past ``indexed_position`` ($1) up to $2, in one transaction: the
# new rows collapse per (session, key); events already indexed take the new copies into account (a copy from a
# thread stream, rank 2, or with a session_thread_id, rank 1, attributes the event to its thread; the earliest
# copy of the highest rank wins); the others are inserted. The result does not depend on how the log was cut
# into runs, so incremental and rebuilt read models are identical.
INDEX_EVENTS = [
    f"""CREATE OR REPLACE TEMP TABLE new_events AS
SELECT s.session_id, e.event_key, arg_min(e.type, e.position) AS type, min(e.position) AS position,
       min(e.processed_at) AS processed_at,
       arg_max(coalesce(s.thread_id, h.thread_id),
               (CASE WHEN s.thread_id IS NOT NULL THEN 2 WHEN h.thread_id IS NOT NULL THEN 1 ELSE 0 END)
               * {RANK_WEIGHT} - e.position) AS thread_id,
       max(CASE WHEN s.thread_id IS NOT NULL THEN 2 WHEN h.thread_id IS NOT NULL THEN 1 ELSE 0 END) AS thread_rank,
       count(*) AS copies, max(e.payload_chars) AS payload_chars
FROM log_events e JOIN streams s USING (stream_id)
LEFT JOIN (SELECT * FROM f_thread_hint WHERE position > $1 AND position <= $2) h USING (position)
WHERE e.position > $1 AND e.position <= $2
GROUP BY s.session_id, e.event_key""",
    """UPDATE distinct_events AS d SET
    copies = d.copies + n.copies,
    thread_id = CASE WHEN n.thread_rank > d.thread_rank THEN n.thread_id ELSE d.thread_id END,
    thread_rank = greatest(d.thread_rank, n.thread_rank),
    processed_at = least(d.processed_at, n.processed_at),
    payload_chars = greatest(d.payload_chars, n.payload_chars)
FROM new_events n WHERE d.session_id = n.session_id AND d.event_key = n.event_key""",
    """INSERT INTO distinct_events
SELECT n.position, n.session_id, n.event_key, n.type, n.processed_at, n.thread_id, n.thread_rank, n.copies,
       n.payload_chars
FROM new_events n ANTI JOIN distinct_events d ON d.session_id = n.session_id AND d.event_key = n.event_key
ORDER BY n.position""",
    "DROP TABLE new_events",
]

# Small tables derived from the facts and snapshots at the end of each update (in this order), so reports join
# them instead of recomputing them: (table, query).
DERIVED = [
    ("primary_threads", """
WITH from_snapshots AS (
    SELECT session_id, min(thread_id) AS thread_id FROM thread_snapshots
    WHERE parent_thread_id IS NULL GROUP BY session_id
), created AS (
    SELECT DISTINCT s.session_id, c.thread_id
    FROM f_thread_created c JOIN log_events e USING (position) JOIN streams s USING (stream_id)
    WHERE c.thread_id IS NOT NULL
), from_streams AS (
    SELECT s.session_id, min(s.thread_id) AS thread_id FROM streams s
    WHERE s.thread_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM created c WHERE c.session_id = s.session_id AND c.thread_id = s.thread_id)
      AND NOT EXISTS (SELECT 1 FROM thread_snapshots t WHERE t.session_id = s.session_id
                      AND t.thread_id = s.thread_id AND t.parent_thread_id IS NOT NULL)
    GROUP BY s.session_id HAVING count(*) = 1
)
SELECT session_id, coalesce(a.thread_id, b.thread_id) AS thread_id
FROM from_snapshots a FULL JOIN from_streams b USING (session_id)
"""),
    ("threads", """
WITH created AS (
    SELECT ev.session_id, c.thread_id, arg_min(c.agent_name, ev.position) AS agent_name,
           min(ev.processed_at) AS created_at
    FROM f_thread_created c JOIN events ev USING (position)
    WHERE ev.type = 'session.thread_created' AND c.thread_id IS NOT NULL GROUP BY ALL
), known AS (
    SELECT session_id, thread_id FROM streams WHERE thread_id IS NOT NULL
    UNION SELECT session_id, thread_id FROM thread_snapshots
    UNION SELECT session_id, thread_id FROM primary_threads WHERE thread_id IS NOT NULL
    UNION SELECT session_id, thread_id FROM created
)
SELECT k.session_id, k.thread_id, ts.parent_thread_id, (p.thread_id IS NOT NULL) AS is_primary,
       coalesce(ts.agent_name, c.agent_name, CASE WHEN p.thread_id IS NOT NULL THEN ss.agent_name END)
           AS agent_name,
       coalesce(ts.model, roster.model, CASE WHEN p.thread_id IS NOT NULL THEN ss.model END) AS model,
       ts.status, coalesce(ts.created_at, c.created_at) AS created_at, ts.list_cost, ts.currency
FROM known k
LEFT JOIN thread_snapshots ts ON ts.session_id = k.session_id AND ts.thread_id = k.thread_id
LEFT JOIN primary_threads p ON p.session_id = k.session_id AND p.thread_id = k.thread_id
LEFT JOIN session_snapshots ss ON ss.session_id = k.session_id
LEFT JOIN created c ON c.session_id = k.session_id AND c.thread_id = k.thread_id
LEFT JOIN (SELECT session_id, agent_name, min(model) AS model FROM snapshot_agents
           WHERE role <> 'primary' GROUP BY ALL) roster
       ON roster.session_id = k.session_id AND roster.agent_name = coalesce(ts.agent_name, c.agent_name)
"""),
    ("sessions", """
WITH known AS (
    SELECT DISTINCT session_id FROM streams UNION SELECT session_id FROM session_snapshots
), seen AS (
    SELECT s.session_id, count(*) AS log_rows, min(e.processed_at) AS first_event_at,
           max(e.processed_at) AS last_event_at
    FROM log_events e JOIN streams s USING (stream_id) GROUP BY s.session_id
), cost AS (
    SELECT session_id, list_cost, currency FROM cost_observations WHERE is_latest
)
SELECT k.session_id, ss.title, ss.status, ss.agent_id, ss.agent_name, ss.model, ss.created_at,
       p.thread_id AS primary_thread_id, seen.log_rows, seen.first_event_at, seen.last_event_at, cost.list_cost,
       cost.currency
FROM known k
LEFT JOIN session_snapshots ss USING (session_id)
LEFT JOIN primary_threads p USING (session_id)
LEFT JOIN seen USING (session_id)
LEFT JOIN cost USING (session_id)
"""),
]


def statements(sql: str) -> list[str]:
    """The statements of a script (split on ``;`` at line ends; none of ours has one inside)."""
    return [part.strip() for part in sql.split(";\n") if part.strip()]
