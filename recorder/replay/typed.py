"""Recorded events as the installed SDK's own typed event objects, so code written against the live API runs on
recordings unchanged.

Each event is built from its recorded JSON exactly as the SDK builds the items of ``events.list`` (its own
``construct_type`` over ``BetaManagedAgentsSessionEvent``, the same lenient construction, unknown fields kept as
extra attributes). One difference on purpose: for an event type the installed SDK does not know, the SDK would
build an object of an arbitrary class of its union (the discriminator finds no match and it falls back to the
first member); we hand out the event's plain ``dict`` instead, so a handler can tell. The known types are read
from the SDK's discriminated union itself, so upgrading the SDK teaches this module new types.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from recorder.replay.timeline import TimelineEvent

# The SDK is imported on first use: importing it takes over a second, and most of the CLI never needs it.


def _session_event_union() -> Any:
    from anthropic.types.beta.sessions.beta_managed_agents_session_event import BetaManagedAgentsSessionEvent

    return BetaManagedAgentsSessionEvent


@cache
def sdk_event_classes() -> dict[str, type]:
    """Event type → the SDK class for it, from the SDK's discriminated union of session events."""
    union = typing.get_args(_session_event_union())[0]  # Annotated[Union[...], UnionDiscriminator]
    classes: dict[str, type] = {}
    for cls in typing.get_args(union):
        field = getattr(cls, "model_fields", {}).get("type")
        for literal in typing.get_args(field.annotation) if field is not None else ():
            if isinstance(literal, str):
                classes[literal] = cls
    return classes


def known_types() -> frozenset[str]:
    """The event types the installed SDK has a class for."""
    return frozenset(sdk_event_classes())


def sdk_event(data: dict[str, Any]) -> Any:
    """One recorded event object as the SDK's typed event (a ``dict`` for a type the SDK does not know)."""
    if not isinstance(data, dict) or data.get("type") not in sdk_event_classes():
        return data
    from anthropic._models import construct_type

    return construct_type(type_=_session_event_union(), value=data)


def typed(events: Iterable[TimelineEvent]) -> Iterator[Any]:
    """A timeline as typed SDK events (dicts for unknown types)."""
    for event in events:
        yield sdk_event(event.data)
