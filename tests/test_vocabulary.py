"""The vocabulary covers the installed SDK: every event type of its unions (session events, thread events, stream
events) is classified, every classified type is emitted by some emulator scenario, and every layer that reads
events (fold, renderers, analytics projection) handles every classified type explicitly.

A few types are in no history, so no scenario script may hold them: the previews (``event_start`` /
``event_delta``) and ``session.deleted``, which an open stream receives when its session is deleted (after that the
session's history answers 404). ``session.deleted`` is checked against the emulator's real delete flow instead.

Installing an SDK with a new event type makes ``test_every_sdk_event_type_is_classified`` fail naming the type."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from typing import Any

import pydantic
import pytest
from anthropic.types.beta import sessions as sdk_sessions
from recorder.analytics import extract

from recorder import vocabulary
from recorder.emulator import Emulator
from recorder.emulator.scenarios import SCENARIOS, Context
from recorder.render.blocks import Describer
from recorder.replay.fold import KINDS
from tests.emulator.support import Reader, sdk

# Recorded types no scenario script holds, and why; each is emitted by the emulator some other way (tested below).
STREAM_ONLY: dict[str, str] = {
    "session.deleted": "sent to open streams when the session is deleted (Emulator.delete); a deleted session's "
                       "history answers 404, so it is in no listed history, only in what a follower recorded",
}


def _members(alias: Any) -> list[Any]:
    """The members of an ``Annotated[Union[...], ...]`` alias (or of a bare Union)."""
    if typing.get_origin(alias) is typing.Annotated:
        alias = typing.get_args(alias)[0]
    if typing.get_origin(alias) is not typing.Union:
        return []
    return list(typing.get_args(alias))


def _type_literal(model: Any) -> list[str]:
    if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)) or "type" not in model.model_fields:
        return []
    annotation = model.model_fields["type"].annotation
    return [v for v in typing.get_args(annotation) if isinstance(v, str)]


def sdk_event_unions() -> dict[str, set[str]]:
    """Every event union of the SDK's ``sessions`` types (a module-level alias whose name ends in ``Event`` or
    ``Events``, discriminated by ``type``), as union name -> the ``type`` literals of its members; plus the
    ``...SessionEventType`` literal list."""
    found: dict[str, set[str]] = {}
    packages = [sdk_sessions, importlib.import_module("anthropic.types.beta.sessions.threads")]
    for package in packages:
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for name, value in vars(module).items():
                if not name.startswith("BetaManagedAgents"):
                    continue
                if name.endswith(("Event", "Events")):
                    members = _members(value)
                    types = {t for m in members for t in _type_literal(m)}
                    if types:
                        found[name] = types
                elif name.endswith("EventType") and typing.get_origin(value) is typing.Literal:
                    found[name] = set(typing.get_args(value))
    return found


def test_the_sdk_unions_are_found() -> None:
    unions = sdk_event_unions()
    assert {"BetaManagedAgentsSessionEvent", "BetaManagedAgentsStreamSessionEvents",
            "BetaManagedAgentsStreamSessionThreadEvents"} <= set(unions)
    assert len(set().union(*unions.values())) >= 43


def unclassified(unions: dict[str, set[str]]) -> list[str]:
    """One message per union with types the vocabulary does not classify, naming them."""
    out = []
    for union, types in sorted(unions.items()):
        missing = sorted(types - vocabulary.EVENT_TYPES)
        if missing:
            out.append(f"{union}: event type(s) {', '.join(missing)} not classified in recorder/vocabulary.py")
    return out


def test_every_sdk_event_type_is_classified() -> None:
    problems = unclassified(sdk_event_unions())
    assert not problems, "\n".join(problems)


def test_a_new_sdk_event_type_is_named() -> None:
    """What installing an SDK with a new event type looks like to the check above."""

    class FutureEvent(pydantic.BaseModel):
        id: str
        type: typing.Literal["session.future_checkpoint"]

    known = typing.get_args(typing.get_args(sdk_sessions.BetaManagedAgentsSessionEvent)[0])
    union = typing.Annotated[typing.Union[(*known, FutureEvent)], "discriminator"]
    found = {t for m in _members(union) for t in _type_literal(m)}
    assert unclassified({"BetaManagedAgentsSessionEvent": found}) == [
        "BetaManagedAgentsSessionEvent: event type(s) session.future_checkpoint not classified in "
        "recorder/vocabulary.py"]


def test_error_types_are_the_sdks() -> None:
    from anthropic.types.beta.sessions.beta_managed_agents_session_error_event import (
        BetaManagedAgentsSessionErrorEvent,
    )
    members = _members(BetaManagedAgentsSessionErrorEvent.model_fields["error"].annotation)
    sdk = {t: tuple(sorted(set(m.model_fields) - {"type", "message", "retry_status"}))
           for m in members for t in _type_literal(m)}
    assert sdk == {t: tuple(sorted(f)) for t, f in vocabulary.ERROR_TYPES.items()}


def _emitted_by_scenarios() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for scenario in SCENARIOS.values():
        if scenario.write is None:
            continue
        script = scenario.write(Context(seed=7, key=scenario.name, start=1_780_000_000_000_000, events=80))
        for emission in script.emissions:
            out.setdefault(emission.event["type"], set()).add(scenario.name)
    return out


def test_every_classified_type_is_emitted_by_a_scenario() -> None:
    emitted = _emitted_by_scenarios()
    missing = sorted(vocabulary.RECORDED_TYPES - set(emitted) - set(STREAM_ONLY))
    assert not missing, f"no emulator scenario emits {', '.join(missing)}"
    # previews and stream-only events are never in a history: a scenario that wrote one would be unfaithful
    assert not (set(vocabulary.PREVIEW_TYPES) | set(STREAM_ONLY)) & set(emitted)
    assert set(STREAM_ONLY) <= vocabulary.RECORDED_TYPES


def test_session_deleted_comes_from_the_emulators_delete_flow() -> None:
    """The stream-only type is emitted for real: an open session stream gets ``session.deleted`` and ends."""
    emu = Emulator(seed=7, heartbeat=0.05)
    sid = emu.add_session("unicode")
    with emu.serve() as server:
        client = sdk(server)
        reader = Reader(lambda: client.beta.sessions.events.stream(sid))
        client.beta.sessions.delete(sid)
        reader.join(5)
    emu.close()
    assert [e["type"] for e in reader.events] == list(STREAM_ONLY) and reader.error is None


def test_every_error_type_and_refusal_is_emitted() -> None:
    errors, stops = set(), set()
    for scenario in SCENARIOS.values():
        if scenario.write is None:
            continue
        for emission in scenario.write(Context(seed=7, key=scenario.name, start=1_780_000_000_000_000,
                                               events=80)).emissions:
            event = emission.event
            if event["type"] == "session.error":
                errors.add(event["error"]["type"])
            if event["type"] in vocabulary.IDLE_TYPES:
                stops.add(event["stop_reason"]["type"])
    assert errors == set(vocabulary.ERROR_TYPES)
    assert stops == set(vocabulary.STOP_REASONS)


@pytest.mark.parametrize("event_type", sorted(vocabulary.EVENT_TYPES))
def test_every_layer_handles_every_type_explicitly(event_type: str) -> None:
    kind = KINDS.get(event_type)
    assert kind is not None and kind != "unknown", f"the fold has no kind for {event_type}"
    assert hasattr(Describer, "_" + kind), f"the transcript has no block for {event_type} ({kind})"
    assert event_type in extract.HANDLED, f"the analytics projection does not classify {event_type}"
