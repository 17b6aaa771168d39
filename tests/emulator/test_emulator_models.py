"""Everything the emulator serves parses strictly into the installed SDK's own types, with no field missing."""

from __future__ import annotations

import json
import typing

import pydantic
from anthropic.types.beta import BetaFileMetadata, BetaManagedAgentsSession
from anthropic.types.beta.sessions import BetaManagedAgentsSessionThread
from anthropic.types.beta.sessions.beta_managed_agents_session_event import BetaManagedAgentsSessionEvent
from anthropic.types.beta.sessions.beta_managed_agents_stream_session_events import (
    BetaManagedAgentsStreamSessionEvents,
)


def _models(union: object) -> dict[str, type[pydantic.BaseModel]]:
    """The concrete event models of an SDK union, by their ``type`` literal."""
    members = typing.get_args(typing.get_args(union)[0])
    out = {}
    for model in members:
        (literal,) = typing.get_args(model.model_fields["type"].annotation)
        out[literal] = model
    return out


LIST_MODELS = _models(BetaManagedAgentsSessionEvent)
STREAM_MODELS = _models(BetaManagedAgentsStreamSessionEvents)
REQUIRED_IN_SCENARIOS = {
    "user.message", "user.interrupt", "user.tool_confirmation", "user.custom_tool_result", "agent.custom_tool_use",
    "agent.message", "agent.thinking", "agent.mcp_tool_use", "agent.mcp_tool_result", "agent.tool_use",
    "agent.tool_result", "agent.thread_message_received", "agent.thread_message_sent",
    "agent.thread_context_compacted", "session.error", "session.status_rescheduled", "session.status_running",
    "session.status_idle", "session.status_terminated", "session.thread_created", "span.model_request_start",
    "span.model_request_end", "session.thread_status_running", "session.thread_status_idle",
    "session.updated", "system.message", "session.usage",
    "user.define_outcome", "span.outcome_evaluation_start", "span.outcome_evaluation_ongoing",
    "span.outcome_evaluation_end",
}


def _strict(model: type[pydantic.BaseModel], obj: dict) -> pydantic.BaseModel:
    """Validate ``obj`` as JSON in pydantic's strict mode, and check every required field is really there.

    pydantic's JSON parser rejects a lone surrogate escape (``"\\ud800"``), which the SDK's ``json.loads``
    accepts; such characters are replaced by ``?`` for this check only."""
    text = json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace").decode("utf-8")
    parsed = model.model_validate_json(text, strict=True)
    missing = [name for name, field in model.model_fields.items() if field.is_required() and name not in obj]
    assert not missing, (model.__name__, missing)
    return parsed


def test_every_event_of_a_known_type_parses_strictly_into_its_sdk_model(standard):
    emu, names, _ = standard
    seen: set[str] = set()
    unknown: dict[str, set[str]] = {}
    checked = 0
    for scenario, sid in names.items():
        for thread_id in [None, *emu.thread_ids(sid)]:
            for text in emu.ground_truth_json(sid, thread_id):
                event = json.loads(text)
                kind = event["type"]
                model = LIST_MODELS.get(kind)
                if model is None:
                    unknown.setdefault(kind, set()).add(scenario)
                    continue
                assert isinstance(_strict(model, event), model)
                assert isinstance(_strict(STREAM_MODELS[kind], event), STREAM_MODELS[kind])
                seen.add(kind)
                checked += 1
    assert checked > 3_000
    assert seen >= REQUIRED_IN_SCENARIOS, REQUIRED_IN_SCENARIOS - seen
    assert unknown == {t: {"unknown_types"} for t in
                       ("agent.future_widget", "session.future_checkpoint", "agent.tool_use_progress")}


def test_a_model_missing_a_required_field_is_rejected():
    event = {"type": "span.model_request_end", "id": "sevt_1", "model_request_start_id": "sevt_0",
             "model_usage": {"input_tokens": 1, "output_tokens": 1, "cache_read_input_tokens": 0},
             "processed_at": "2026-03-02T09:00:00.000000Z"}
    try:
        _strict(LIST_MODELS["span.model_request_end"], event)
    except pydantic.ValidationError as err:
        assert "cache_creation_input_tokens" in str(err)
    else:
        raise AssertionError("a missing cache_creation_input_tokens was accepted")


def test_sessions_threads_and_files_parse_strictly(standard, client):
    emu, names, _server = standard
    sessions = client.beta.sessions.with_raw_response.list(limit=100).http_response.json()["data"]
    assert len(sessions) == len(names)
    for obj in sessions:
        parsed = _strict(BetaManagedAgentsSession, obj)
        assert parsed.usage.list_cost is not None and parsed.agent.model.id
        assert any(r.type == "github_repository" for r in parsed.resources)
        for thread in emu.threads(obj["id"]):
            assert _strict(BetaManagedAgentsSessionThread, thread).session_id == obj["id"]
    for obj in client.beta.files.with_raw_response.list(limit=100).http_response.json()["data"]:
        assert _strict(BetaFileMetadata, obj).scope is not None
    assert emu.files()
