"""Fault injection: what can go wrong between the API and a client, as a spec string or a :class:`Faults`.

A spec is a comma-separated list of ``NAME[=VALUE]`` items, e.g. ``"drop_after=5,rate_limit=2"``:

=====================  =============================================================================================
``rate_limit[=K]``     answer the next K requests with 429 ``rate_limit_error`` and a ``retry-after`` header
                       (no K: every request until the faults are cleared)
``server_error[=K]``   the next K requests get 500 ``api_error``
``overloaded[=K]``     the next K requests get 529 ``overloaded_error``
``retry_after=S``      seconds in the ``retry-after`` header of 429/529 answers (default 1; fractions allowed)
``drop_after=N``       cut the TCP connection in the middle of the (N+1)-th event of a stream or of an event list
                       page's JSON body (a page with N or fewer events is cut just before its end)
``end_after=N``        end a stream cleanly after N events, as if the server closed it (the client sees the
                       iteration end silently while the session is still running)
``heartbeat_only``     streams send only ``event: ping`` heartbeats, never an event, until the client hangs up
``trickle[=S]``        write event list bodies and streams one byte at a time, S seconds apart (default 0.05): a
                       per-read timeout never fires, only a wall-clock deadline stops the client
``duplicate[=N]``      streams send every N-th event twice in a row (default every event); event list pages
                       overlap: each ``next_page`` starts N events before the end of the page (default 1)
``slow_first_byte=S``  wait S seconds before sending the status line
``times=K``            the shaping faults above (drop_after .. slow_first_byte) apply to the next K matching
                       responses only, then lift themselves (default: until cleared)
``on=WHERE``           which requests the faults apply to: ``all`` (default: every request about the session),
                       ``events`` (event lists and streams), ``list`` (event lists), ``stream`` (streams),
                       ``session_events`` (the session stream's list and stream) or ``thread_events`` (threads')
=====================  =============================================================================================

Data faults (issue 14): what the API *says* is wrong, not how it is delivered. They touch the events whose id
:func:`touched` picks (one in ``every``), the same way on every list page and stream (so a touched event has one
text: :func:`rewrite_event` gives it, for tests' truth too), are never used up by ``times`` and follow ``on``:

=====================  =============================================================================================
``skew=S``             touched events show ``processed_at`` S seconds off (S may be negative): a timestamp ahead
                       of (or behind) its place in the list; lists still filter and order by the true time
``late=S``             touched events of the session stream become visible in its list only S seconds after they
                       happened (at once when the session has stopped running), with their earlier time; streams never
                       carry them
``hostile``            touched events carry one more member the ``json`` module refuses: 3,000-deep nesting or a
                       5,000-digit integer (valid JSON all the same)
``loop_cursor``        an event list page asked for with a cursor answers with that same cursor as ``next_page``
``every=K``            which events the data faults touch: one in K by their id's digest (default 5)
=====================  =============================================================================================

Status faults are served in the order rate_limit, overloaded, server_error (``rate_limit=1,server_error=1``
gives a 429, then a 500, then success). Faults are set per session or globally (applying to every request,
including the session list); both apply, global first. They can be replaced or cleared at any time; a response
already in progress keeps the faults it started with.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass, fields, replace
from datetime import timedelta

from recorder.apiserver.shaping import Plan, RequestKind
from recorder.apiserver.wire import format_micros, now_micros, parse_micros
from recorder.errors import ConfigError

FOREVER = -1  # a burst count meaning "every request until cleared"

_ON_VALUES = ("all", "events", "list", "stream", "session_events", "thread_events")


@dataclass
class Faults:
    """A parsed fault spec. Counts (``rate_limit`` etc., ``times``) are decremented as faults fire."""

    rate_limit: int = 0
    server_error: int = 0
    overloaded: int = 0
    retry_after: float = 1.0
    drop_after: int | None = None
    end_after: int | None = None
    heartbeat_only: bool = False
    trickle: float | None = None
    duplicate: int | None = None
    slow_first_byte: float | None = None
    times: int | None = None
    on: str = "all"
    # data faults (see the module docstring); never used up by ``times``
    skew: float | None = None
    late: float | None = None
    hostile: bool = False
    loop_cursor: bool = False
    every: int = 5

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """Parse a spec string (see the module docstring); ConfigError with a one-line message if it is bad."""
        faults = cls()
        for item in (spec or "").split(","):
            item = item.strip()
            if not item:
                continue
            name, has_value, value = item.partition("=")
            name = name.strip().replace("-", "_")
            value = value.strip()
            try:
                _apply(faults, name, value if has_value else None)
            except ValueError as err:
                raise ConfigError(f"bad fault {item!r} in {spec!r}: {err} (see `recorder emulator --help`)") from None
        return faults

    def is_empty(self) -> bool:
        return self == Faults()

    def spec(self) -> str:
        """The canonical spec string of these faults (round-trips through :meth:`parse`)."""
        out = []
        for name in ("rate_limit", "server_error", "overloaded"):
            count = getattr(self, name)
            if count == FOREVER:
                out.append(name)
            elif count > 0:
                out.append(f"{name}={count}")
        if self.retry_after != 1.0:
            out.append(f"retry_after={_num(self.retry_after)}")
        for name in ("drop_after", "end_after", "duplicate"):
            if getattr(self, name) is not None:
                out.append(f"{name}={getattr(self, name)}")
        if self.heartbeat_only:
            out.append("heartbeat_only")
        if self.trickle is not None:
            out.append(f"trickle={_num(self.trickle)}")
        if self.slow_first_byte is not None:
            out.append(f"slow_first_byte={_num(self.slow_first_byte)}")
        if self.times is not None:
            out.append(f"times={self.times}")
        if self.on != "all":
            out.append(f"on={self.on}")
        for name in ("skew", "late"):
            if getattr(self, name) is not None:
                out.append(f"{name}={_num(getattr(self, name))}")
        out.extend(name for name in ("hostile", "loop_cursor") if getattr(self, name))
        if self.every != 5:
            out.append(f"every={self.every}")
        return ",".join(out)

    def has_shaping(self) -> bool:
        return (self.drop_after is not None or self.end_after is not None or self.heartbeat_only
                or self.trickle is not None or self.duplicate is not None or self.slow_first_byte is not None)

    def applies_to(self, kind: RequestKind, thread: bool = False) -> bool:
        """Whether these faults apply to a request of ``kind`` (``thread``: about a thread's events)."""
        if self.on == "all":
            return True
        if self.on == "events":
            return kind in ("list", "stream")
        if self.on in ("session_events", "thread_events"):
            return kind in ("list", "stream") and thread == (self.on == "thread_events")
        return self.on == kind


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _count(value: str | None) -> int:
    if value is None:
        return FOREVER
    count = int(value)
    if count < 0:
        raise ValueError("a count cannot be negative")
    return count


def _seconds(value: str | None, default: float | None = None) -> float:
    if value is None:
        if default is None:
            raise ValueError("needs a number of seconds")
        return default
    seconds = float(value)
    if not seconds >= 0:
        raise ValueError("seconds cannot be negative")
    return seconds


def _natural(value: str | None, default: int | None = None) -> int:
    if value is None:
        if default is None:
            raise ValueError("needs a number")
        return default
    number = int(value)
    if number < 0:
        raise ValueError("cannot be negative")
    return number


def _apply(faults: Faults, name: str, value: str | None) -> None:
    if name in ("rate_limit", "server_error", "overloaded"):
        setattr(faults, name, _count(value))
    elif name == "retry_after":
        faults.retry_after = _seconds(value)
    elif name in ("drop_after", "end_after"):
        setattr(faults, name, _natural(value))
    elif name == "heartbeat_only":
        if value is not None:
            raise ValueError("takes no value")
        faults.heartbeat_only = True
    elif name == "trickle":
        faults.trickle = _seconds(value, 0.05)
    elif name == "duplicate":
        every = _natural(value, 1)
        if every < 1:
            raise ValueError("must be at least 1")
        faults.duplicate = every
    elif name == "slow_first_byte":
        faults.slow_first_byte = _seconds(value)
    elif name == "times":
        faults.times = _natural(value)
    elif name == "on":
        if value not in _ON_VALUES:
            raise ValueError(f"must be one of {', '.join(_ON_VALUES)}")
        faults.on = value
    else:
        _apply_data_fault(faults, name, value)


def _apply_data_fault(faults: Faults, name: str, value: str | None) -> None:
    if name == "skew":
        if value is None:
            raise ValueError("needs a number of seconds")
        seconds = float(value)
        if seconds != seconds or abs(seconds) == float("inf"):
            raise ValueError("must be a finite number of seconds")
        faults.skew = seconds
    elif name == "late":
        faults.late = _seconds(value)
    elif name in ("hostile", "loop_cursor"):
        if value is not None:
            raise ValueError("takes no value")
        setattr(faults, name, True)
    elif name == "every":
        every = _natural(value)
        if every < 1:
            raise ValueError("must be at least 1")
        faults.every = every
    else:
        raise ValueError("unknown fault")


def as_faults(faults: Faults | str | None) -> Faults:
    """A :class:`Faults` from a spec string, an existing object (copied) or None (no faults)."""
    if faults is None:
        return Faults()
    if isinstance(faults, Faults):
        return replace(faults)
    if isinstance(faults, str):
        return Faults.parse(faults)
    raise ConfigError(f"faults must be a spec string or a Faults object, not {type(faults).__name__}")


@dataclass(frozen=True)
class DataFaults:
    """The data faults in force for one response (see the module docstring): what the shaping hooks apply."""

    skew: float | None = None
    late: float | None = None
    hostile: bool = False
    loop_cursor: bool = False
    every: int = 5

    def labels(self) -> tuple[str, ...]:
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "every" and value not in (None, False):
                out.append(f.name if value is True else f"{f.name}={_num(value)}")
        return tuple(out)

    def plan_fields(self) -> dict[str, object]:
        """The :class:`~recorder.apiserver.shaping.Plan` hooks that serve these faults."""
        hooks: dict[str, object] = {"loop_cursor": self.loop_cursor, "data_labels": self.labels()}
        if self.skew is not None or self.hostile:
            hooks["rewrite"] = lambda text: rewrite_event(text, self)
        if self.late is not None:
            hooks["hidden"] = lambda text, processed_at, status: hidden_late(
                text, processed_at, self, now_micros(), finished=status not in ("running", "rescheduling"))
            hooks["held_back"] = lambda text: touched(text, self.every)
        return hooks


_STATUS_ORDER = (("rate_limit", 429), ("overloaded", 529), ("server_error", 500))
_SHAPING = ("slow_first_byte", "drop_after", "end_after", "heartbeat_only", "trickle", "duplicate")
_DATA = ("skew", "late", "hostile", "loop_cursor")


class FaultBook:
    """The faults in force: global ones and per-session ones. Thread-safe; counts are consumed as faults fire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._global = Faults()
        self._sessions: dict[str, Faults] = {}

    def set(self, session_id: str | None, faults: Faults | str | None) -> None:
        """Replace the faults of one session (``None``: the global faults). None or "" clears."""
        parsed = as_faults(faults)
        with self._lock:
            if session_id is None:
                self._global = parsed
            elif parsed.is_empty():
                self._sessions.pop(session_id, None)
            else:
                self._sessions[session_id] = parsed

    def get(self, session_id: str | None) -> Faults:
        """A copy of the faults in force for one session (``None``: global), with counts as consumed so far."""
        with self._lock:
            return replace(self._global if session_id is None else self._sessions.get(session_id, Faults()))

    def plan(self, session_id: str | None, kind: RequestKind, thread: bool = False) -> Plan:
        """Decide (and consume) the faults for one response to a request about ``session_id`` (``thread``: about
        one of its threads' events)."""
        with self._lock:
            layers = [self._global]
            if session_id is not None and session_id in self._sessions:
                layers.append(self._sessions[session_id])
            layers = [f for f in layers if f.applies_to(kind, thread)]
            status = retry_after = None
            for faults in layers:
                for name, code in _STATUS_ORDER:
                    count = getattr(faults, name)
                    if count == 0:
                        continue
                    if count > 0:
                        setattr(faults, name, count - 1)
                    status, retry_after = code, faults.retry_after
                    break
                if status is not None:
                    break
            shaping: dict[str, object] = {}
            for faults in layers:
                if not faults.has_shaping() or faults.times == 0:
                    continue
                # A status answer has no body to shape: it can only be slow; it does not use up ``times``.
                names = ("slow_first_byte",) if status is not None else _SHAPING
                chosen = {n: getattr(faults, n) for n in names
                          if _fits(n, kind) and getattr(faults, n) not in (None, False)}
                if chosen:
                    shaping.update(chosen)
                    if faults.times is not None and status is None:
                        faults.times -= 1
            if status is None and kind in ("list", "stream"):
                data: dict[str, object] = {}
                for faults in layers:
                    data.update({n: getattr(faults, n) for n in _DATA if getattr(faults, n) not in (None, False)})
                    if any(getattr(faults, n) not in (None, False) for n in _DATA):
                        data["every"] = faults.every
                if data:
                    shaping.update(DataFaults(**data).plan_fields())  # type: ignore[arg-type]
            return Plan(status=status, retry_after=retry_after, **shaping)  # type: ignore[arg-type]


def _fits(name: str, kind: RequestKind) -> bool:
    """Which shaping faults make sense for which responses."""
    if name == "slow_first_byte":
        return True
    if name in ("end_after", "heartbeat_only"):
        return kind == "stream"
    return kind in ("list", "stream")


# ------------------------------------------------------------------------------------------ data faults

_ID = re.compile(r'"id":"([^"]*)"')
_PROCESSED_AT = re.compile(r'"processed_at":"([^"]+)"')
DEEP = 3_000
HUGE_DIGITS = 5_000


def touched(event_json: str, every: int) -> bool:
    """Whether the data faults touch this event (one in ``every``, by its id's digest; never one without id)."""
    match = _ID.search(event_json)
    return bool(match and match.group(1)) and zlib.crc32(match.group(1).encode()) % every == 0  # type: ignore[union-attr]


def rewrite_event(event_json: str, plan: DataFaults | Faults) -> str:
    """The text a touched event is served with under ``skew`` / ``hostile`` (others: unchanged)."""
    if (plan.skew is None and not plan.hostile) or not touched(event_json, plan.every):
        return event_json
    text = event_json
    skew = plan.skew
    if skew is not None:
        def shift(match: re.Match[str]) -> str:
            micros = parse_micros(match.group(1)) + int(timedelta(seconds=skew).total_seconds() * 1_000_000)
            return f'"processed_at":"{format_micros(micros)}"'

        text = _PROCESSED_AT.sub(shift, text, count=1)
    if plan.hostile and text.endswith("}"):
        odd = zlib.crc32(text.encode()) % 2
        member = '"x_hostile":' + ("[" * DEEP + "]" * DEEP if odd else "1" + "0" * (HUGE_DIGITS - 1))
        text = text[:-1] + ("," if text[-2] != "{" else "") + member + "}"
    return text


def hidden_late(event_json: str, processed_at: str | None, plan: DataFaults | Faults, now_micros: int,
                finished: bool) -> bool:
    """Under ``late``: whether a touched event is not visible yet (S seconds after its time; all once the
    session has finished)."""
    if plan.late is None or finished or processed_at is None or not touched(event_json, plan.every):
        return False
    return now_micros < parse_micros(processed_at) + int(plan.late * 1_000_000)
