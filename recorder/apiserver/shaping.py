"""How one response is shaped: the server's vocabulary for injected trouble, and who decides it.

The HTTP layer knows how to answer with a status instead of the body, wait before the first byte, cut a body or a
stream mid-event, end a stream early, send only heartbeats, trickle bytes or repeat events; and, for data faults,
serve an event's JSON rewritten, hide an event from lists for a while or hold it back from the stream, and answer a
list page with its own cursor. It does not decide when (nor how an event is rewritten): a :class:`Planner` does,
per response. ``recorder serve`` has none (every response is :data:`NO_PLAN`); the emulator's fault book is one
(:mod:`recorder.emulator.faults`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal, Protocol

RequestKind = Literal["list", "stream", "other"]


@dataclass(frozen=True)
class Plan:
    """What to do to one response: at most one status answer, plus the shaping."""

    status: int | None = None
    retry_after: float | None = None
    slow_first_byte: float | None = None
    drop_after: int | None = None
    end_after: int | None = None
    heartbeat_only: bool = False
    trickle: float | None = None
    duplicate: int | None = None
    # data shaping (the emulator's data faults; None: events as they are)
    rewrite: Callable[[str], str] | None = None  # an event's JSON -> the text served (lists and streams)
    hidden: Callable[[str, str | None, str | None], bool] | None = None  # (json, processed_at, session status):
    #                                                      not visible in the session's lists yet
    held_back: Callable[[str], bool] | None = None  # never sent on the session's stream
    loop_cursor: bool = False  # a list page asked for with a cursor answers with that same cursor
    data_labels: tuple[str, ...] = ()  # how the data shaping is described in the request log

    def labels(self) -> list[str]:
        out = [f"status={self.status}"] if self.status else []
        for f in fields(self):
            if f.name in ("status", "retry_after", "rewrite", "hidden", "held_back", "data_labels"):
                continue
            value = getattr(self, f.name)
            if value not in (None, False):
                out.append(f.name if value is True else f"{f.name}={_num(value)}")
        return out + list(self.data_labels)


NO_PLAN = Plan()


class Planner(Protocol):
    """Decides the shaping of each response (and may consume counts as it does)."""

    def plan(self, session_id: str | None, kind: RequestKind, thread: bool = False) -> Plan:
        """The plan for one response to a request about ``session_id`` (``thread``: about a thread's events)."""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
