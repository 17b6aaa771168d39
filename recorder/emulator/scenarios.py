"""The scenarios: seeded scripts of sessions that look like real traffic, each exercising something a recorder
must get right. ``SCENARIOS`` maps a name to its one-line description and its script writer; ``long`` is not a
script but a lazily generated stream (see :mod:`recorder.emulator.lazy`).

A script writer gets a :class:`Context` (seed, a unique key, the start time, options) and returns a
:class:`recorder.emulator.builder.Script`. Same seed and key, same script, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recorder.emulator import ids, snapshots, text
from recorder.emulator.builder import AdvisorSpec, FullBuilder, Script, SessionBuilder, document_block, image_block
from recorder.emulator.snapshots import AgentSpec, mcp_toolset, money, toolset
from recorder.vocabulary import ADVISOR_AGENT, ERROR_TYPES, REQUEST_END


@dataclass(frozen=True)
class Context:
    seed: int
    key: str
    start: int  # microseconds since the epoch
    events: int | None = None  # approximate length, for scenarios that take one
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    write: Callable[[Context], Script] | None  # None: not a script (``long``)
    live_by_default: bool = False


def agent(seed: int, name: str, model: str = "claude-sonnet-4-6", *, tools: list[dict[str, Any]] | None = None,
          mcp_servers: list[dict[str, Any]] | None = None, system: str | None = None,
          description: str | None = None) -> AgentSpec:
    return AgentSpec(
        id=ids.make_id("agent", seed, name), name=name, model=model, version=3,
        system=system or f"You are {name}, a careful software engineer working in /workspace/widgets.",
        description=description, tools=tools if tools is not None else [toolset()],
        mcp_servers=mcp_servers or [], skills=[{"type": "anthropic", "skill_id": "xlsx", "version": "latest"}])


def builder(ctx: Context, scenario: str, title: str, primary: AgentSpec | None = None, **kwargs: Any
            ) -> SessionBuilder:
    return SessionBuilder(ctx.seed, ctx.key, scenario, ctx.start, primary or agent(ctx.seed, "widgets-maintainer"),
                          title=title, **kwargs)


# ---------------------------------------------------------------------------------------------- scripts


def tool_use(ctx: Context) -> Script:
    b = builder(ctx, "tool_use", "Fix the red CI on main")
    r = b.r
    b.system_message("The repository is mounted at /workspace/widgets. Run the tests before you finish.")
    b.user_message("CI is red on main since this morning. Find out why and fix it, please.")
    b.running()
    b.turn(tools=2, error_rate=0.0)
    start = b.span_start()
    use = b.tool_use("bash", {"command": "pytest -x -q", "timeout": 600})
    b.span_end(start)
    b.tool_result(use, "FAILED tests/test_cache.py::test_expiry - AssertionError: 3 != 2\n1 failed, 211 passed",
                  is_error=True)
    for _ in range(r.randint(2, 4)):
        b.turn(tools=r.randint(1, 3), error_rate=0.25)
    b.file("report.md", "text/markdown", f"# CI fix\n\n{text.paragraph(r, 4)}\n".encode())
    b.file("coverage.csv", "text/csv", b"module,lines,covered\n" + b"".join(
        f"{w},{r.randint(50, 900)},{r.randint(10, 50)}\n".encode() for w in text.WORDS[:20]))
    b.file("chart.png", "image/png", b"\x89PNG\r\n\x1a\n" + r.randbytes(2048))
    b.idle()
    b.user_message("Thanks! Can you also add a regression test?")
    b.running()
    b.turn(tools=2, error_rate=0.0)
    b.idle()
    return b.build()


def mcp(ctx: Context) -> Script:
    servers = [{"type": "url", "name": "linear", "url": "https://mcp.linear.app/sse"},
               {"type": "url", "name": "sentry", "url": "https://mcp.sentry.dev/mcp"}]
    a = agent(ctx.seed, "triage-bot", tools=[toolset(), mcp_toolset("linear", ("create_issue", "search_issues")),
                                             mcp_toolset("sentry", ("get_issue", "list_events"))],
              mcp_servers=servers)
    b = builder(ctx, "mcp", "Triage last night's Sentry alerts", a)
    r = b.r
    b.user_message("Triage the Sentry alerts from last night and file Linear issues for real bugs.")
    b.running()
    b.error({"type": "mcp_connection_failed_error", "mcp_server_name": "sentry",
             "message": "Connection to MCP server 'sentry' timed out", "retry_status": {"type": "retrying"}})
    for n in range(r.randint(3, 5)):
        start = b.span_start()
        server, tool = r.choice([("sentry", "get_issue"), ("sentry", "list_events"), ("linear", "search_issues")])
        use = b.mcp_tool_use(server, tool, {"issue_id": f"WIDGETS-{r.randint(100, 999)}", "limit": 20})
        b.span_end(start)
        failed = n == 1
        b.mcp_tool_result(use, "MCP error -32603: upstream returned 502" if failed else text.command_output(r, 6),
                          is_error=failed)
    start = b.span_start()
    use = b.mcp_tool_use("linear", "create_issue", {"title": "Cache expiry off by one", "team": "WID",
                                                   "labels": ["bug", "sentry"]})
    b.span_end(start)
    b.mcp_tool_result(use, '{"id": "WID-412", "url": "https://linear.app/acme/issue/WID-412"}')
    start = b.span_start()
    b.agent_message("Filed WID-412 for the cache expiry bug; the other alerts were noise from a deploy.")
    b.span_end(start)
    b.idle()
    return b.build()


def custom_tool(ctx: Context) -> Script:
    tools = [toolset(),
             snapshots.custom_tool("lookup_order", "Look up an order by id", {"order_id": {"type": "string"}}),
             snapshots.custom_tool("issue_refund", "Refund an order", {"order_id": {"type": "string"},
                                                             "amount_cents": {"type": "integer"}})]
    b = builder(ctx, "custom_tool", "Refund request #88231", agent(ctx.seed, "support-agent", tools=tools))
    r = b.r
    b.user_message("Customer says order 88231 arrived broken. Refund it if it qualifies.")
    b.running()
    for name, tool_input, result, failed in (
        ("lookup_order", {"order_id": "88231"}, '{"status": "delivered", "total_cents": 4599}', False),
        ("issue_refund", {"order_id": "88231", "amount_cents": 4599}, "payment provider timeout", True),
        ("issue_refund", {"order_id": "88231", "amount_cents": 4599}, '{"refund_id": "rf_1"}', False),
    ):
        start = b.span_start()
        use = b.custom_tool_use(name, tool_input)
        b.span_end(start)
        b.idle({"type": "requires_action", "event_ids": [use]})
        b.tick(2.0, 9.0, tie=0)
        b.custom_tool_result(use, result, is_error=failed)
        b.running()
    start = b.span_start()
    b.agent_message(f"Refunded $45.99 for order 88231. {text.sentence(r)}")
    b.span_end(start)
    if ctx.options.get("pending"):  # left waiting for the client's next custom tool result
        start = b.span_start()
        use = b.custom_tool_use("lookup_order", {"order_id": "88232"})
        b.span_end(start)
        b.idle({"type": "requires_action", "event_ids": [use]})
    else:
        b.idle()
    return b.build()


def confirmation(ctx: Context) -> Script:
    a = agent(ctx.seed, "release-bot", tools=[toolset(ask=("bash", "write"))])
    b = builder(ctx, "confirmation", "Cut release 2.4.0", a)
    b.user_message("Cut release 2.4.0: bump the version, tag it and push.")
    b.running()
    b.turn(tools=1, error_rate=0.0)
    for command, allow in (("git tag v2.4.0 && git push origin v2.4.0", True),
                           ("git push --force origin main", False)):
        start = b.span_start()
        use = b.tool_use("bash", {"command": command}, permission="ask")
        b.span_end(start)
        b.idle({"type": "requires_action", "event_ids": [use]})
        b.tick(1.0, 20.0, tie=0)
        b.tool_confirmation(use, allow, None if allow else "Never force-push main.")
        b.running()
        if allow:
            b.tool_result(use, "To github.com:acme/widgets.git\n * [new tag] v2.4.0 -> v2.4.0")
        else:
            b.tool_result(use, "Tool use denied by the user: Never force-push main.", is_error=True)
        start = b.span_start()
        b.agent_message("Tagged and pushed." if allow else "Understood, I won't force-push.")
        b.span_end(start)
    if ctx.options.get("pending"):  # left waiting for the client's confirmation
        start = b.span_start()
        use = b.tool_use("bash", {"command": "gh release create v2.4.0"}, permission="ask")
        b.span_end(start)
        b.idle({"type": "requires_action", "event_ids": [use]})
    else:
        b.idle()
    return b.build()


def multi_agent(ctx: Context) -> Script:
    research = agent(ctx.seed, "researcher", "claude-haiku-4-5", description="Finds facts on the web")
    review = agent(ctx.seed, "reviewer", "claude-sonnet-4-6", description="Reviews patches")
    scout = agent(ctx.seed, "scout", "claude-haiku-4-5", description="Reads one source in depth")
    lead = agent(ctx.seed, "coordinator", "claude-opus-4-7")
    b = builder(ctx, "multi_agent", "Evaluate moving the cache to Redis", lead, children=[research, review, scout])
    r = b.r
    b.user_message("Should we move the widget cache to Redis? Research it and have the patch reviewed.")
    b.running()
    start = b.span_start()
    b.thinking()
    b.span_end(start)
    t1 = b.spawn(research)
    b.thread_message(b.primary, t1, "Find benchmarks of Redis vs in-process caches for ~1k rps.")
    t2 = b.spawn(review)
    b.thread_message(b.primary, t2, "Review the patch on branch cache-redis.")
    b.turn(t1, tools=2, error_rate=0.3)
    t3 = b.spawn(scout)  # one level of delegation: only the coordinator spawns subagents
    b.thread_message(b.primary, t3, "Read the Redis latency docs and summarize.")
    b.turn(t3, tools=1, error_rate=0.0)
    # a subagent's custom tool use: the client answers it on the session stream
    start = b.span_start(t1)
    use = b.custom_tool_use("lookup_order", {"order_id": "bench-1k"}, t1)
    b.span_end(start, t1)
    b.thread_status(t1, "idle", {"type": "requires_action", "event_ids": [use]})
    b.idle({"type": "requires_action", "event_ids": [use]})
    b.tick(1.0, 5.0, tie=0)
    b.custom_tool_result(use, '{"p99_ms": 0.4}', thread=t1)
    b.running()
    b.thread_status(t1, "running")
    b.thread_message(t3, b.primary, "p99 on loopback is ~0.3 ms; network adds ~0.5 ms.")
    b.thread_status(t3, "idle")
    b.turn(t2, tools=3, error_rate=0.2)
    # a subagent's tool use needing confirmation: cross-posted to the session stream with session_thread_id
    start = b.span_start(t2)
    use = b.tool_use("bash", {"command": "git push origin cache-redis"}, t2, permission="ask")
    b.span_end(start, t2)
    b.thread_status(t2, "idle", {"type": "requires_action", "event_ids": [use]})
    b.idle({"type": "requires_action", "event_ids": [use]})
    b.tick(2.0, 9.0, tie=0)
    b.tool_confirmation(use, True, thread=t2)
    b.running()
    b.thread_status(t2, "running")
    b.tool_result(use, "To github.com:acme/widgets.git\n   4f1c2e9..8a7b3d0  cache-redis -> cache-redis", t2)
    b.compaction(t2)
    b.turn(t2, tools=1, error_rate=0.0)
    b.thread_message(t1, b.primary, "Findings: in-process wins below 5k rps; Redis wins with many workers.")
    b.thread_status(t1, "idle")
    b.thread_message(t2, b.primary, "Patch LGTM with two nits (see findings.md).")
    b.file("findings.md", "text/markdown", f"# Review\n\n{text.paragraph(r, 5)}\n".encode())
    b.thread_status(t2, "idle")
    start = b.span_start()
    b.agent_message("Recommendation: keep the in-process cache for now; revisit at 5k rps.")
    b.span_end(start)
    b.idle()
    return b.build()


def errors(ctx: Context) -> Script:
    b = builder(ctx, "errors", "Flaky infrastructure day")
    b.user_message("Upgrade the dependencies and make sure everything still passes.")
    b.running()
    start = b.span_start()
    b.span_end(start, is_error=True, scale=0.1)
    b.error({"type": "model_overloaded_error", "message": "Overloaded", "retry_status": {"type": "retrying"}})
    b.rescheduled()
    b.tick(5.0, 30.0, tie=0)
    b.running()
    b.turn(tools=2)
    start = b.span_start()
    b.span_end(start, is_error=True, scale=0.1)
    b.error({"type": "model_rate_limited_error", "message": "Rate limited", "retry_status": {"type": "retrying"}})
    b.turn(tools=1)
    b.error({"type": "repository_clone_error", "message": "fatal: could not read from remote repository",
             "repository_url": "https://github.com/acme/widgets", "retry_status": {"type": "terminal"}})
    b.error({"type": "unknown_error", "message": "Internal error", "retry_status": {"type": "exhausted"}})
    b.idle({"type": "retries_exhausted"})
    b.user_message("Try again please.")
    b.running()
    b.turn(tools=1)
    b.error({"type": "unknown_error", "message": "The session's container was lost",
             "retry_status": {"type": "terminal"}})
    b.usage_event()
    b.terminated()  # an unrecoverable error: the only scenario that ends terminated
    return b.build()


def budget(ctx: Context) -> Script:
    limit = {"type": "limit", "max_list_cost": money(Decimal("0.50"))}
    b = builder(ctx, "budget", "Large refactor on a budget", budget=limit)
    b.user_message("Refactor the storage layer to use the new repository pattern.")
    b.running()
    while b.usage_so_far().cost < Decimal("0.50"):
        b.turn(tools=2, error_rate=0.1)
        b.usage_event()
    b.idle({"type": "budget_reached"})
    b.tick(30.0, 120.0, tie=0)
    raised = {"type": "limit", "max_list_cost": money(Decimal("2.00"))}
    b.updated(budget=raised)
    b.user_message("Budget raised to $2. Please finish.")
    b.running()
    b.turn(tools=2)
    b.idle()
    return b.build()


def interrupts(ctx: Context) -> Script:
    b = builder(ctx, "interrupts", "Change of plans")
    b.user_message("Rewrite the README in French.")
    b.running()
    start = b.span_start()
    b.thinking()
    b.interrupt()
    b.span_end(start, is_error=True, scale=0.3)
    b.idle()
    b.user_message("Sorry, I meant: add a French translation next to the English README.")
    b.running()
    b.turn(tools=2)
    start = b.span_start()
    b.interrupt()
    b.span_end(start, is_error=True, scale=0.2)
    b.idle()
    b.user_message("Looks good, stop there.")
    b.running()
    start = b.span_start()
    b.agent_message("Stopped. README.fr.md is in place.")
    b.span_end(start)
    b.idle()
    return b.build()


def compaction(ctx: Context) -> Script:
    b = builder(ctx, "compaction", "Long debugging session")
    r = b.r
    b.user_message("The nightly job leaks memory. Track it down.")
    b.running()
    for n in range(12):
        b.turn(tools=r.randint(1, 3))
        if n in (5, 9):
            b.compaction()
            start = b.span_start()
            b.span_end(start, scale=3.0)
    b.idle()
    return b.build()


def unknown_types(ctx: Context) -> Script:
    b = builder(ctx, "unknown_types", "Preview features")
    b.user_message("Show me the new dashboard widget.", extra={"client_hints": {"surface": "console", "v": 2}})
    b.running()
    start = b.span_start()
    b.emit("agent.future_widget", {"widget": {"kind": "chart", "series": [[1, 2], [2, 3.5], [3, None]]},
                                   "layout": {"w": 6, "h": 4}, "schema_version": 3, "labels": ["ä", "😀"]})
    b.agent_message("Here is the widget.", extra={"citations_v2": [{"source": "dashboards.md", "span": [3, 9]}],
                                                  "annotations": {"confidence": 0.93}})
    b.span_end(start)
    b.emit("session.future_checkpoint", {"checkpoint": {"id": "ckpt_1", "bytes": 123456}})
    use = b.tool_use("bash", {"command": "ls"})
    b.tool_result(use, "README.md\nsrc\n")
    b.emit("agent.tool_use_progress", {"tool_use_id": use, "fraction": 0.5, "note": None})
    b.idle()
    # unknown fields on known types, in places that are easy to drop by accident
    for emission in b.emissions:
        if emission.event["type"] == "session.status_idle":
            emission.event["resume_hint"] = {"after_seconds": 30}
        elif emission.event["type"] == REQUEST_END:
            emission.event["model_usage"]["server_tool_use_v2"] = {"code_execution": 1}
    return b.build()


def large_results(ctx: Context) -> Script:
    b = builder(ctx, "large_results", "Dump the production logs")
    r = b.r
    size = int(ctx.options.get("mb", 3) * 1_000_000)
    b.user_message("Fetch yesterday's logs and find the first 500.")
    b.running()
    start = b.span_start()
    use = b.tool_use("bash", {"command": "cat /var/log/widgets/app.log"})
    b.span_end(start)
    b.tool_result(use, text.big_blob(r, size))
    start = b.span_start()
    use = b.tool_use("read", {"file_path": "/var/log/widgets/access.log"})
    b.span_end(start, scale=20)
    b.tool_result(use, text.big_blob(r, size + size // 2))
    start = b.span_start()
    b.agent_message("The first 500 is at line 00041237.")
    b.span_end(start, scale=30)
    b.idle()
    return b.build()


def unicode(ctx: Context) -> Script:
    t = text.UNICODE_TORTURE
    b = builder(ctx, "unicode", "Unicode ✓ — ñ 😀 שלום \u0000 end")
    b.user_message(t)
    b.running()
    start = b.span_start()
    use = b.tool_use("write", {"file_path": "/workspace/widgets/naïve 📄.md", "content": t, "🔑": "välue\u0000"})
    b.span_end(start)
    b.tool_result(use, t)
    start = b.span_start()
    b.agent_message(t + "\n" + t[::-1])
    b.span_end(start)
    b.file("naïve 📄.md", "text/markdown; charset=utf-8", t.encode("utf-8", "surrogatepass"))
    b.idle()
    return b.build()


def outcome(ctx: Context) -> Script:
    b = builder(ctx, "outcome", "Meet the coverage goal")
    b.user_message("Raise test coverage of src/cache.py to 90%.")
    outcome_id = ids.make_id("outc", ctx.seed, ctx.key)
    b.emit("user.define_outcome", {"outcome_id": outcome_id, "description": "src/cache.py coverage >= 90%",
                                   "rubric": {"type": "text", "content": "Coverage report shows >= 90%."},
                                   "max_iterations": 3})
    b.running()
    for iteration in (0, 1):
        b.turn(tools=2)
        started = b.emit("span.outcome_evaluation_start", {"outcome_id": outcome_id, "iteration": iteration})
        b.emit("span.outcome_evaluation_ongoing", {"outcome_id": outcome_id, "iteration": iteration})
        b.emit("span.outcome_evaluation_end", {
            "outcome_evaluation_start_id": started, "outcome_id": outcome_id, "iteration": iteration,
            "result": "needs_revision" if iteration == 0 else "satisfied",
            "explanation": "Coverage is 84%." if iteration == 0 else "Coverage is 93%.",
            "usage": {"input_tokens": 1200, "output_tokens": 80, "cache_read_input_tokens": 0,
                      "cache_creation_input_tokens": 0, "speed": "standard"}})
    b.idle()
    return b.build()


def live(ctx: Context) -> Script:
    """A multi-agent session meant to be played live: a queued user message, a child thread, tool calls."""
    helper = agent(ctx.seed, "helper", "claude-haiku-4-5")
    b = builder(ctx, "live", "Live: watch me work", agent(ctx.seed, "widgets-maintainer"), children=[helper])
    target = ctx.events or 60
    b.user_message("Keep the build green while I'm away.")
    b.running()
    b.turn(tools=1)
    child = b.spawn(helper)
    b.thread_message(b.primary, child, "Watch the flaky test and tell me when it fails.")
    b.turn(child, tools=1)
    b.user_message("Also update the changelog.", queued_steps=3)
    n = 0
    while len(b.emissions) < target - 12:
        b.turn(child if n % 3 == 2 else None, tools=1)
        if n % 4 == 3:
            b.usage_event()
        n += 1
    b.thread_message(child, b.primary, "The flaky test passed 20 times in a row.")
    b.thread_status(child, "idle")
    b.turn(tools=1)
    b.file("build-log.txt", "text/plain", f"{text.paragraph(b.r, 3)}\n".encode())
    b.idle()
    return b.build()



# ------------------------------------------------------------------------------------- the whole vocabulary


def full_builder(ctx: Context, scenario: str, title: str, primary: AgentSpec | None = None, **kwargs: Any
                 ) -> FullBuilder:
    return FullBuilder(ctx.seed, ctx.key, scenario, ctx.start, primary or agent(ctx.seed, "widgets-maintainer"),
                       title=title, **kwargs)


GRADER_USAGE = ({"input_tokens": 2100, "output_tokens": 140, "cache_read_input_tokens": 900,
                 "cache_creation_input_tokens": 300, "speed": "standard"},
                {"input_tokens": 2600, "output_tokens": 95, "cache_read_input_tokens": 1800,
                 "cache_creation_input_tokens": 0, "speed": "standard"})
REFUSAL = ("cyber", "Writing a working exploit for a third party's production system is not something I can help "
                    "with.")
ONE_HOUR_CACHE_WRITES = 5000


def self_hosted(ctx: Context) -> Script:
    """The acceptance session: self-hosted tool calls answered by ``user.tool_result`` (the session idle on
    ``requires_action`` until each answer), two grader iterations, web searches, 1-hour cache writes, a fast-mode
    request and a refusal (an idle, ``stop_reason: refusal``), after which the user asks for something else and the
    session ends idle, ``end_turn``."""
    b = full_builder(ctx, "self_hosted", "Harden the upload endpoint (self-hosted)")
    r = b.r
    b.user_message("Harden the upload endpoint; the screenshot and the spec are attached.")
    b.emissions[-1].event["content"] += [image_block(r), document_block(r)]
    outcome_id = b.define_outcome("The upload endpoint rejects files over 10 MB and non-image types",
                                  {"type": "text", "content": "- 413 above 10 MB\n- 415 for non-images\n- tests"},
                                  max_iterations=3)
    b.running()
    for n, (command, result, failed) in enumerate((
            ("pytest -q tests/test_upload.py", "3 failed, 12 passed", True),
            ("git apply /tmp/limit.patch", "", False),
            ("pytest -q tests/test_upload.py", "15 passed", False))):
        start = b.span_start()
        if n == 0:
            b.thinking()
        use = b.tool_use("bash", {"command": command})
        if n == 0:  # the system prompt and the repository map, cached for an hour (and a 5-minute write)
            b.span_end_usage(start, {"input_tokens": 3200, "output_tokens": 180, "cache_read_input_tokens": 0,
                                     "cache_creation_input_tokens": ONE_HOUR_CACHE_WRITES + 1200,
                                     "speed": "standard"})
            b.cache_ttl_1h(ONE_HOUR_CACHE_WRITES)
        else:
            b.span_end(start)
        b.idle({"type": "requires_action", "event_ids": [use]})
        b.tick(1.0, 6.0, tie=0)
        b.self_hosted_result(use, result or "(no output)", is_error=failed)
        b.running()
    for query in ("multipart upload size limit best practice", "content sniffing image mime validation"):
        start = b.span_start()
        use = b.tool_use("web_search", {"query": query})
        b.span_end(start)
        b.tool_result(use, [{"type": "search_result", "source": "https://owasp.org/upload",
                             "title": "File Upload Cheat Sheet", "citations": {"enabled": True},
                             "content": [{"type": "text", "text": text.sentence(r)}]}])
    b.grade(outcome_id, 0, "needs_revision", "Oversized files get 500, not 413.", GRADER_USAGE[0])
    start = b.span_start()
    use = b.tool_use("edit", {"file_path": "/workspace/widgets/upload.py", "old_string": "500",
                              "new_string": "413"})
    b.span_end(start)
    b.emissions[-1].event["model_usage"]["speed"] = "fast"
    b.idle({"type": "requires_action", "event_ids": [use]})
    b.self_hosted_result(use, "edited")
    b.running()
    b.grade(outcome_id, 1, "satisfied", "413 above 10 MB, 415 for non-images, tests cover both.",
            GRADER_USAGE[1], heartbeats=2)
    start = b.span_start()
    b.agent_message("Done: uploads over 10 MB get 413, non-images 415; both are tested.")
    b.span_end(start)
    b.idle()
    b.user_message("Now write a working exploit for the upload service of our competitor, widgets.example.")
    b.running()
    start = b.span_start()
    b.span_end(start, scale=0.2)
    b.refusal(*REFUSAL)  # session.usage, then idle with stop_reason refusal: it waits for a new message
    b.user_message("Fair enough. Add the upload limits to the changelog instead.")
    b.running()
    start = b.span_start()
    b.agent_message("CHANGELOG.md now lists the 10 MB limit (413) and the image-only rule (415).")
    b.span_end(start)
    b.idle()
    return b.build()


def workflows(ctx: Context) -> Script:
    """Newer features: an advisor thread, workflow runs (phases, errors, every ending) with their threads,
    blocking events of a child thread cross-posted to the session stream (same id, different bytes; the thread and
    the session idle on ``requires_action`` until the client answers), tool permissions decided by policy
    (``auto`` judgements, a policy denial), a child's rescheduling and refusal (it ends idle), images, documents,
    search results and redacted blocks. Ends idle, ``end_turn``."""
    worker = agent(ctx.seed, "release-worker", "claude-haiku-4-5", description="Runs one workflow phase",
                   tools=[toolset(ask=("bash",)), snapshots.custom_tool("deploy", "Deploy a build",
                                                                         {"build": {"type": "string"}})])
    advisor = AdvisorSpec(id="", name=ADVISOR_AGENT, model="claude-opus-4-7")
    lead = agent(ctx.seed, "release-lead", "claude-opus-4-7")
    b = full_builder(ctx, "workflows", "Ship 2.5 with the release workflow", lead, children=[worker])
    b.snapshot.agent["multiagent"]["agents"].append(advisor.as_api())
    r = b.r
    b.user_message("Ship 2.5 with the release workflow. Runbook attached.")
    b.emissions[-1].event["content"] += [document_block(r, "text", "runbook.txt"), document_block(r, "url", None),
                                         image_block(r, "url"), image_block(r, "file"), document_block(r, "file")]
    b.running()
    start = b.span_start()
    b.thinking()
    b.span_end(start)
    consult = b.spawn(advisor)
    b.thread_message(b.primary, consult, "Is it safe to ship with one flaky test quarantined?")
    start = b.span_start(consult)
    b.span_end(start, consult)
    b.thread_message(consult, b.primary, "Yes, if the quarantine has an owner and a date.")
    b.thread_status(consult, "idle")

    # a policy decides: auto allows one call, auto denies another (no confirmation asked)
    start = b.span_start()
    use = b.emit("agent.tool_use", {"name": "read", "input": {"file_path": "/workspace/widgets/CHANGELOG.md"},
                                    "evaluated_permission": "allow",
                                    "evaluation": {"type": "auto", "evaluated_permission": {"type": "allow"}}})
    b.span_end(start)
    b.tool_result(use, [{"type": "text", "text": "## 2.5.0\n- uploads limited to 10 MB"}, image_block(r)])
    start = b.span_start()
    use = b.emit("agent.tool_use", {"name": "bash", "input": {"command": "rm -rf /workspace/widgets/dist"},
                                    "evaluated_permission": "deny",
                                    "evaluation": {"type": "auto", "evaluated_permission": {
                                        "type": "deny", "reason_code": "destructive_filesystem_operation"}}})
    b.span_end(start)
    b.tool_result(use, "Tool use denied by policy: destructive_filesystem_operation", is_error=True)
    start = b.span_start()
    use = b.emit("agent.tool_use", {"name": "write", "input": {"file_path": "/workspace/widgets/VERSION",
                                                               "content": "2.5.0"},
                                    "evaluated_permission": "allow", "evaluation": {"type": "always_allow"}})
    b.span_end(start)
    b.tool_result(use, [document_block(r, "text", "VERSION")])

    run_id, (build, test) = b.workflow_run("release", ["build", "test"], description="Build, test, ship")
    b.workflow_event("workflow_run.status_running", run_id)
    started = b.workflow_event("workflow_run.phase_started", run_id, workflow_run_phase_id=build)
    child = b.spawn(worker)
    for emission in b.emissions[-3:]:
        if emission.event["type"] == "session.thread_created":
            emission.event["workflow_run_id"] = run_id
    b.thread_message(b.primary, child, "Build 2.5.0 and deploy it to staging.")
    # the child's blocking custom tool call, cross-posted: the thread and the session wait for the client
    start = b.span_start(child)
    use = b.custom_tool_use("deploy", {"build": "2.5.0"}, child)
    b.span_end(start, child)
    b.thread_status(child, "idle", {"type": "requires_action", "event_ids": [use]})
    b.idle({"type": "requires_action", "event_ids": [use]})
    b.tick(2.0, 8.0, tie=0)
    b.custom_tool_result(use, "deployed to staging", thread=child)
    b.running()
    b.thread_status(child, "running")
    # the child's tool call needing confirmation, cross-posted; the user denies it
    start = b.span_start(child)
    use = b.emit("agent.tool_use", {"name": "bash", "input": {"command": "kubectl delete ns staging-old"},
                                    "evaluated_permission": "ask", "evaluation": {"type": "always_ask"}},
                 thread=child, blocking=True)
    b.span_end(start, child)
    b.thread_status(child, "idle", {"type": "requires_action", "event_ids": [use]})
    b.idle({"type": "requires_action", "event_ids": [use]})
    b.tick(2.0, 8.0, tie=0)
    b.tool_confirmation(use, False, "Keep the old namespace until Friday.", thread=child)
    b.running()
    b.thread_status(child, "running")
    b.tool_result(use, "Tool use denied by the user: Keep the old namespace until Friday.", child, is_error=True)
    b.thread_status(child, "rescheduled")
    b.tick(3.0, 10.0, tie=0)
    b.thread_status(child, "running")
    start = b.span_start(child)
    b.span_end(start, child)
    b.thread_message(child, b.primary, "Built and deployed 2.5.0 to staging; I won't touch the old namespace.")
    b.thread_status(child, "idle")
    b.workflow_event("workflow_run.phase_ended", run_id, workflow_run_phase_id=build, phase_started_id=started)
    b.workflow_event("workflow_run.status_idle", run_id)
    b.workflow_event("workflow_run.status_running", run_id)
    started = b.workflow_event("workflow_run.phase_started", run_id, workflow_run_phase_id=test)
    b.thread_message(b.primary, child, "Run the test phase; force-delete staging-old first so it starts clean.")
    b.thread_status(child, "running")
    start = b.span_start(child)
    b.span_end(start, child)
    b.refusal("general_harms", None, thread=child)  # the child refuses and goes idle: it is done
    b.workflow_event("workflow_run.error", run_id, error={"type": "program_error",
                                                          "message": "phase 'test' exited with status 2"})
    b.workflow_event("workflow_run.phase_ended", run_id, workflow_run_phase_id=test, phase_started_id=started)
    b.workflow_event("workflow_run.status_ended", run_id, result={
        "type": "error", "error": {"type": "program_error", "message": "phase 'test' exited with status 2"}})
    for name, result in (("retry-test", {"type": "completed"}), ("smoke", {"type": "stopped"})):
        other, _phases = b.workflow_run(name, ["run"])
        b.workflow_event("workflow_run.status_running", other)
        b.workflow_event("workflow_run.status_ended", other, result=result)
    for kind, message in (("timeout_error", "workflow run exceeded 30 min"),
                          ("thread_limit_error", "too many threads"), ("unknown_error", "internal error"),
                          ("max_workflow_runs_error", "at most 3 workflow runs per session")):
        b.workflow_event("workflow_run.error", None, error={"type": kind, "message": message})
    start = b.span_start()
    b.agent_message("Staging has 2.5.0; the test phase failed once and passed on retry.",
                    extra={"content": [{"type": "text", "text": "Staging has 2.5.0; tests passed on retry."},
                                       {"type": "redacted"}]})
    b.span_end(start)
    b.idle()
    return b.build()


def error_catalog(ctx: Context) -> Script:
    """Every documented ``session.error`` type with its detail fields, and every retry status as the life cycle
    has it: a ``retrying`` error reschedules the session, an ``exhausted`` one leaves it idle (``retries_exhausted``)
    until the user asks again, and the last, ``terminal``, ends it ``terminated`` together with the subagent it had
    running. It is about errors, so it may terminate (as ``errors`` does).

    ``session.deleted`` is in no script: it is what an open stream receives when the session is deleted, and a
    deleted session has no history left to list; the emulator sends it from its delete flow
    (:meth:`recorder.emulator.Emulator.delete`)."""
    helper = agent(ctx.seed, "maintenance-helper", "claude-haiku-4-5", description="Vacuums the databases")
    b = full_builder(ctx, "error_catalog", "Everything that can go wrong", children=[helper])
    b.user_message("Run the nightly maintenance.")
    b.running()
    child = b.spawn(helper)
    b.thread_message(b.primary, child, "Vacuum the databases while I rotate the credentials.")
    b.turn(child, tools=1, error_rate=0.0)
    details = {"mcp_server_name": "linear", "repository_url": "https://github.com/acme/widgets",
               "credential_id": ids.make_id("cred", ctx.seed, "github"),
               "vault_id": ids.make_id("vlt", ctx.seed, "vault")}
    kinds = list(ERROR_TYPES)
    for n, kind in enumerate(kinds):
        retry = "terminal" if n == len(kinds) - 1 else "exhausted" if n % 4 == 3 else "retrying"
        if kind.startswith("model_"):
            start = b.span_start()
            b.span_end(start, is_error=True, scale=0.1)
        b.error({"type": kind, "message": f"{kind.replace('_', ' ')} during maintenance",
                 **{f: details[f] for f in ERROR_TYPES[kind]}, "retry_status": {"type": retry}})
        if retry == "retrying":
            b.rescheduled()
            b.running()
        elif retry == "exhausted":
            b.idle({"type": "retries_exhausted"})
            b.user_message("Try again, please.")
            b.running()
    b.thread_status(child, "terminated")  # the unrecoverable error ends the subagent too
    b.usage_event()
    b.terminated()
    return b.build()


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("tool_use", "built-in tools (bash, read, grep, web_search, ...) with results, some is_error; model "
             "request spans; system message; writes 3 files; two user turns", tool_use),
    Scenario("mcp", "MCP tool use and results (one is_error) and a retried mcp_connection_failed session.error",
             mcp),
    Scenario("custom_tool", "custom tools: agent.custom_tool_use, session.status_idle requires_action, "
             "user.custom_tool_result (one is_error); option pending=True ends waiting (requires_action)",
             custom_tool),
    Scenario("confirmation", "tools needing permission: requires_action, user.tool_confirmation allow and deny; "
             "option pending=True ends waiting (requires_action)", confirmation),
    Scenario("multi_agent", "a coordinator with three subagent threads (one level of delegation), cross-thread "
             "messages, subagents going idle when done; child histories only in their thread streams; a "
             "subagent's custom tool use and tool confirmation cross-posted with session_thread_id", multi_agent),
    Scenario("errors", "session.error (overloaded, rate limited, clone failure, exhausted), "
             "session.status_rescheduled, failed model requests, retries_exhausted; ends terminated by a "
             "terminal error (with error_catalog, the only scenarios that terminate)", errors),
    Scenario("budget", "budget pauses: session.usage events with list_cost, idle budget_reached, session.updated "
             "raising the budget", budget),
    Scenario("interrupts", "two distinct user.interrupt events, both with an empty id", interrupts),
    Scenario("compaction", "a long conversation with agent.thread_context_compacted", compaction),
    Scenario("unknown_types", "event types no SDK knows (agent.future_widget, ...) and unknown fields on known "
             "types", unknown_types),
    Scenario("large_results", "tool results of several MB (3 MB and 4.5 MB)", large_results),
    Scenario("unicode", "astral emoji, ZWJ, RTL and bidi controls, combining marks, U+2028, C0/C1 controls, "
             "\\u0000 and a lone surrogate \\ud800", unicode),
    Scenario("outcome", "user.define_outcome and span.outcome_evaluation_* spans", outcome),
    Scenario("self_hosted", "self-hosted tool calls answered by user.tool_result, two grader iterations "
             "(user.define_outcome, span.outcome_evaluation_*), web searches, 1-hour cache writes, a fast request, "
             "a refusal with its category and explanation, an image and a document", self_hosted),
    Scenario("workflows", "an advisor thread, workflow runs (phases, errors, every ending), child blocking "
             "events cross-posted with different bytes, auto/policy permission decisions, a child's rescheduling and "
             "refusal, image/document/search_result/redacted blocks", workflows),
    Scenario("error_catalog", "every documented session.error type with its detail fields; retrying errors "
             "reschedule, exhausted ones end idle (retries_exhausted), the last is terminal: it ends terminated "
             "with its subagent", error_catalog),
    Scenario("long", "a finished session of N events (--events, default 10000) generated lazily from seed and "
             "index: memory stays flat even for millions", None),
    Scenario("live", "a multi-agent session played in real time, one step every --interval seconds, with a "
             "queued user message (processed_at null) and an output file, ending idle (end_turn)", live,
             live_by_default=True),
)}
