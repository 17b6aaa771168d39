"""The API's vocabulary in one place: every event type and what it is, tool kinds, result-id fields, statuses, stop
reasons, error types, outcome verdicts, permission policies and content blocks.

The fold, the renderers, the analytics projection (its SQL lists are built here by :func:`sql_list`) and the
emulator derive from these tables instead of spelling type names themselves, so supporting a new event type is a
change here plus its handlers. ``tests/test_vocabulary.py`` enumerates the installed SDK's event unions (session,
thread and stream events) and fails naming any type this module does not classify, and any classified type that
no emulator scenario emits.

Classes (``EVENT_CLASSES``):

``message``      something said (user, agent, system, one thread to another)
``thinking``     the agent is thinking (no content in the API's model)
``tool_use``     a tool call (``TOOL_USE_KINDS``); ``tool_result`` its answer (``TOOL_RESULTS``);
``confirmation`` the user's allow/deny of a tool call that needed it
``interrupt``    the user stopped the agent
``request``      a model request span (start, end with ``model_usage``)
``outcome``      an outcome and its grader spans (``user.define_outcome``, ``span.outcome_evaluation_*``)
``status``       the session's status; ``thread_status`` a thread's; ``thread`` a thread created
``error``        ``session.error`` (``ERROR_TYPES``)
``usage``        ``session.usage`` (cumulative usage and list cost)
``session``      changes to the session object (``session.updated``, ``session.deleted``)
``compaction``   a thread's context was compacted
``workflow``     a workflow run's life (``workflow_run.*``)
``preview``      ``event_start``/``event_delta``: stream-only previews of an event still being produced; never in
                 a history, never recorded as events (the buffered event that follows carries everything)
"""

from __future__ import annotations

from collections.abc import Iterable

# ------------------------------------------------------------------------------------------------ tools

TOOL_USE_KINDS: dict[str, str] = {
    "agent.tool_use": "builtin",
    "agent.mcp_tool_use": "mcp",
    "agent.custom_tool_use": "custom",
}
# result type -> (the kind of call it answers, the field naming the tool-use event)
TOOL_RESULTS: dict[str, tuple[str, str]] = {
    "agent.tool_result": ("builtin", "tool_use_id"),
    "agent.mcp_tool_result": ("mcp", "mcp_tool_use_id"),
    "user.custom_tool_result": ("custom", "custom_tool_use_id"),
    "user.tool_result": ("builtin", "tool_use_id"),  # self-hosted environments: the client ran a built-in tool
}
RESULT_ID_FIELDS: dict[str, str] = {t: field for t, (_, field) in TOOL_RESULTS.items()}
CLIENT_RESULTS = frozenset({"user.custom_tool_result", "user.tool_result"})  # answered by the client
CONFIRMATION = "user.tool_confirmation"
TOOL_KINDS = ("builtin", "mcp", "custom")

PERMISSIONS = ("allow", "ask", "deny")  # evaluated_permission
POLICIES = ("always_allow", "always_ask", "auto")  # evaluation.type: the policy that decided
AUTO_JUDGEMENTS = ("allow", "ask", "deny")  # evaluation.evaluated_permission.type under auto (ask/deny: reason_code)

# ------------------------------------------------------------------------------------------------ statuses

SESSION_STATUS: dict[str, str] = {
    "session.status_running": "running",
    "session.status_idle": "idle",
    "session.status_rescheduled": "rescheduling",
    "session.status_terminated": "terminated",
}
THREAD_STATUS: dict[str, str] = {
    "session.thread_status_running": "running",
    "session.thread_status_idle": "idle",
    "session.thread_status_rescheduled": "rescheduling",
    "session.thread_status_terminated": "terminated",
}
IDLE_TYPES = frozenset({"session.status_idle", "session.thread_status_idle"})
STOP_REASONS = ("end_turn", "requires_action", "retries_exhausted", "budget_reached", "refusal")
REFUSAL_CATEGORIES = ("cyber", "bio", "frontier_llm", "reasoning_extraction", "general_harms")

# Events of a child thread the API also posts to the session stream (same id, same bytes).
THREAD_CROSS_POSTED = frozenset({
    "session.thread_created", *THREAD_STATUS, "agent.thread_message_sent", "agent.thread_message_received",
})
# A child thread's blocking events, cross-posted to the session stream with ``session_thread_id`` set (the
# thread's own copy has none): the same id with different bytes. Every count treats the two copies as one event.
BLOCKING_CROSS_POSTED = frozenset({"agent.custom_tool_use", "agent.tool_use", "agent.mcp_tool_use",
                                   "user.custom_tool_result", "user.tool_result", "user.tool_confirmation"})

# ------------------------------------------------------------------------------------------------ errors

RETRY_STATUSES = ("retrying", "exhausted", "terminal")
# session.error types -> the fields each carries beyond type, message and retry_status
ERROR_TYPES: dict[str, tuple[str, ...]] = {
    "unknown_error": (),
    "model_overloaded_error": (),
    "model_rate_limited_error": (),
    "model_request_failed_error": (),
    "mcp_connection_failed_error": ("mcp_server_name",),
    "mcp_authentication_failed_error": ("mcp_server_name",),
    "billing_error": (),
    "credential_host_unreachable_error": ("credential_id", "vault_id"),
    "tool_use_limit_reached_error": (),
    "compaction_limit_reached_error": (),
    "repository_authentication_error": ("repository_url",),
    "repository_forbidden_error": ("repository_url",),
    "repository_not_found_error": ("repository_url",),
    "repository_checkout_error": ("repository_url",),
    "repository_clone_error": ("repository_url",),
}
ERROR_DETAIL_FIELDS = tuple(sorted({f for fields in ERROR_TYPES.values() for f in fields}))
WORKFLOW_RUN_ERROR_TYPES = ("timeout_error", "program_error", "unknown_error", "thread_limit_error",
                            "max_workflow_runs_error")
WORKFLOW_RUN_RESULTS = ("completed", "error", "stopped")

# ------------------------------------------------------------------------------------------------ outcomes

OUTCOME_DEFINED = "user.define_outcome"
OUTCOME_START = "span.outcome_evaluation_start"
OUTCOME_ONGOING = "span.outcome_evaluation_ongoing"
OUTCOME_END = "span.outcome_evaluation_end"
OUTCOME_VERDICTS = ("satisfied", "needs_revision", "max_iterations_reached", "failed", "interrupted")

# ------------------------------------------------------------------------------------------------ usage

REQUEST_START = "span.model_request_start"
REQUEST_END = "span.model_request_end"
USAGE = "session.usage"
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
SPEEDS = ("standard", "fast")
GRADER_TOKEN_FIELDS = tuple(f"grader_{name}" for name in TOKEN_FIELDS)
# Fields of session.usage's cumulative snapshot that the token sums do not give: name -> path in ``usage``.
SESSION_USAGE_FIELDS: dict[str, tuple[str, str | None]] = {
    "web_search_requests": ("server_tool_use", "web_search_requests"),
    "web_fetch_requests": ("server_tool_use", "web_fetch_requests"),
    "active_seconds": ("active_seconds", None),
    "cache_creation_5m_input_tokens": ("cache_creation", "ephemeral_5m_input_tokens"),
    "cache_creation_1h_input_tokens": ("cache_creation", "ephemeral_1h_input_tokens"),
}

# ------------------------------------------------------------------------------------------------ content

CONTENT_BLOCKS = ("text", "image", "document", "redacted", "search_result")
MEDIA_BLOCKS = frozenset({"image", "document"})  # shown as named placeholders with their size

# ------------------------------------------------------------------------------------------------ threads

ADVISOR_AGENT = "anthropic.advisor"  # the name of an advisor thread's agent (``agent: {type: advisor}``)

# ------------------------------------------------------------------------------------------------ events

WORKFLOW_RUN_TYPES = ("workflow_run.created", "workflow_run.status_running", "workflow_run.status_idle",
                      "workflow_run.status_ended", "workflow_run.error", "workflow_run.phase_started",
                      "workflow_run.phase_ended")
PREVIEW_TYPES = ("event_start", "event_delta")

MESSAGE_TYPES: dict[str, str] = {  # type -> role
    "user.message": "user",
    "agent.message": "agent",
    "system.message": "system",
    "agent.thread_message_sent": "thread_sent",
    "agent.thread_message_received": "thread_received",
}

EVENT_CLASSES: dict[str, str] = {
    **dict.fromkeys(MESSAGE_TYPES, "message"),
    "agent.thinking": "thinking",
    **dict.fromkeys(TOOL_USE_KINDS, "tool_use"),
    **dict.fromkeys(TOOL_RESULTS, "tool_result"),
    CONFIRMATION: "confirmation",
    "user.interrupt": "interrupt",
    REQUEST_START: "request",
    REQUEST_END: "request",
    OUTCOME_DEFINED: "outcome",
    OUTCOME_START: "outcome",
    OUTCOME_ONGOING: "outcome",
    OUTCOME_END: "outcome",
    **dict.fromkeys(SESSION_STATUS, "status"),
    **dict.fromkeys(THREAD_STATUS, "thread_status"),
    "session.thread_created": "thread",
    "session.error": "error",
    USAGE: "usage",
    "session.updated": "session",
    "session.deleted": "session",
    "agent.thread_context_compacted": "compaction",
    **dict.fromkeys(WORKFLOW_RUN_TYPES, "workflow"),
    **dict.fromkeys(PREVIEW_TYPES, "preview"),
}
EVENT_TYPES = frozenset(EVENT_CLASSES)
RECORDED_TYPES = frozenset(t for t, c in EVENT_CLASSES.items() if c != "preview")  # what histories can hold


def event_class(event_type: str) -> str | None:
    """The class of an event type, or None for a type this version does not know (kept, shown as unknown)."""
    return EVENT_CLASSES.get(event_type)


def sql_list(types: Iterable[str]) -> str:
    """A SQL ``IN`` list of string literals, e.g. ``('a', 'b')`` (names here never hold a quote)."""
    names = sorted(types)
    assert all("'" not in name for name in names)
    return "(" + ", ".join(f"'{name}'" for name in names) + ")"
