"""Building event logs for the analytics tests, and independent sums over the raw events to check reports against.

The reference figures here are computed from the API's event objects with plain Python (no DuckDB, no SQL), so
a report that agrees with them agrees with the events, not with itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from recorder.events import raw_event
from recorder.store import EventStore

TOKENS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
REPORTED = ("web_search_requests", "web_fetch_requests", "active_seconds", "cache_creation_5m_input_tokens",
            "cache_creation_1h_input_tokens")
USE_TYPES = {"agent.tool_use": ("builtin", "tool_use_id"), "agent.mcp_tool_use": ("mcp", "mcp_tool_use_id"),
             "agent.custom_tool_use": ("custom", "custom_tool_use_id")}
RESULT_TYPES = {"agent.tool_result": "tool_use_id", "agent.mcp_tool_result": "mcp_tool_use_id",
                "user.custom_tool_result": "custom_tool_use_id", "user.tool_result": "tool_use_id"}


def record_emulator(store: EventStore, emu: Any, session_ids: Iterable[str], *, threads: bool = True,
                    snapshots: bool = True, batch: int = 500) -> None:
    """Append each session's ground truth (session stream, then every thread's stream) and its snapshots."""
    for sid in session_ids:
        streams: list[str | None] = [None, *(emu.thread_ids(sid) if threads else [])]
        for thread in streams:
            events = [raw_event(obj, sid, thread) for obj in emu.ground_truth(sid, thread)]
            for start in range(0, len(events), batch):
                store.append(events[start:start + batch])
        if snapshots:
            store.record_snapshot(sid, emu.session(sid))
            if threads:
                for thread in emu.thread_ids(sid):
                    store.record_snapshot(sid, emu.thread(sid, thread), thread_id=thread)


def event_key(obj: dict[str, Any]) -> str:
    return raw_event(obj, "s").event_key


@dataclass
class Expected:
    """Reference figures of one session, from its streams' raw events."""

    model_requests: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKENS, 0))
    per_thread: dict[str | None, dict[str, int]] = field(default_factory=dict)
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # use id -> expected pairing
    latest_list_cost: str | None = None
    grader: dict[str, int] = field(default_factory=lambda: {f"grader_{t}": 0 for t in TOKENS})
    reported: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(REPORTED, 0))


def expected(streams: dict[str | None, list[dict[str, Any]]]) -> Expected:
    """Distinct events of a session's streams (by event key), summed independently."""
    seen: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for thread, objs in streams.items():
        for obj in objs:
            key = event_key(obj)
            if key not in seen or (thread is not None and seen[key][0] is None):
                seen[key] = (thread, obj)
    out = Expected()
    results: dict[str, dict[str, Any]] = {}
    usage_events = []
    for thread, obj in seen.values():
        kind = obj.get("type")
        if kind == "span.model_request_end":
            out.model_requests += 1
            bucket = out.per_thread.setdefault(thread or obj.get("session_thread_id"), dict.fromkeys(TOKENS, 0))
            for name in TOKENS:
                value = obj["model_usage"].get(name) or 0
                out.tokens[name] += value
                bucket[name] += value
        elif kind in USE_TYPES:
            out.tool_calls[obj["id"]] = {"name": obj.get("name"), "kind": USE_TYPES[kind][0], "result_id": None,
                                         "is_error": None, "input": obj.get("input")}
        elif kind in RESULT_TYPES:
            results.setdefault(obj[RESULT_TYPES[kind]], obj)
        elif kind == "session.usage":
            usage_events.append(obj)
        elif kind == "span.outcome_evaluation_end":
            for name in TOKENS:
                out.grader[f"grader_{name}"] += obj["usage"].get(name) or 0
    for use_id, call in out.tool_calls.items():
        result = results.get(use_id)
        if result is not None:
            call["result_id"], call["is_error"] = result["id"], result.get("is_error")
    if usage_events:
        latest = max(usage_events, key=lambda o: o["processed_at"])
        out.latest_list_cost = latest["usage"]["list_cost"]["amount"]
        usage = latest["usage"]
        out.reported = {
            "web_search_requests": usage["server_tool_use"]["web_search_requests"],
            "web_fetch_requests": usage["server_tool_use"]["web_fetch_requests"],
            "active_seconds": usage["active_seconds"],
            "cache_creation_5m_input_tokens": usage["cache_creation"]["ephemeral_5m_input_tokens"],
            "cache_creation_1h_input_tokens": usage["cache_creation"]["ephemeral_1h_input_tokens"],
        }
    return out


def emulator_streams(emu: Any, sid: str) -> dict[str | None, list[dict[str, Any]]]:
    return {None: emu.ground_truth(sid), **{t: emu.ground_truth(sid, t) for t in emu.thread_ids(sid)}}


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        out[row[key]] = row
    return dict(out)
