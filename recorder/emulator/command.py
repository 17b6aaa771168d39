"""What ``recorder emulator`` does, minus click: its help sections, its ``--scenario`` syntax, and the run loop.

``--scenario NAME[:COUNT][@FAULTS]`` adds COUNT sessions of NAME (default 1), each with the fault spec FAULTS
(e.g. ``tool_use:3@rate_limit=1,retry_after=0.2``). Without ``--scenario`` the emulator serves one session of
every scenario, ``live`` included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recorder.apiserver import serve_until_interrupted
from recorder.emulator.faults import Faults
from recorder.errors import ConfigError

FAULT_ROWS = (
    ("rate_limit[=K]", "429 rate_limit_error with retry-after for the next K requests (no K: all, until cleared)"),
    ("server_error[=K]", "500 api_error for the next K requests"),
    ("overloaded[=K]", "529 overloaded_error for the next K requests"),
    ("retry_after=S", "seconds in the retry-after header of 429/529 (default 1)"),
    ("drop_after=N", "cut the TCP connection mid-event after N events of a stream or of an event list page"),
    ("end_after=N", "end streams cleanly after N events (the SDK's iteration just stops)"),
    ("heartbeat_only", "streams send only `event: ping`, never an event"),
    ("trickle[=S]", "event lists and streams arrive one byte every S seconds (default 0.05)"),
    ("duplicate[=N]", "streams repeat every N-th event (default every one); list pages overlap by N events"),
    ("slow_first_byte=S", "wait S seconds before the status line"),
    ("times=K", "the shaping faults (drop_after .. slow_first_byte) apply to the next K responses only"),
    ("on=WHERE", "all (default) | events | list | stream | session_events | thread_events: which requests the "
                 "faults apply to (session_events: the session stream's list and SSE; thread_events: threads')"),
    ("skew=S", "data fault: touched events show processed_at S seconds off (S may be negative)"),
    ("late=S", "data fault: touched session events appear in lists S seconds late (with their earlier time) and "
               "never on the stream"),
    ("hostile", "data fault: touched events carry 3,000-deep nesting or a 5,000-digit integer (valid JSON)"),
    ("loop_cursor", "data fault: an event list page asked for with a cursor answers with that same cursor"),
    ("every=K", "which events the data faults touch: one in K, by their id's digest (default 5)"),
)
FAULT_EXAMPLES = (
    ("--faults rate_limit=2,retry_after=0.5", "two 429s, then answers (the SDK retries after 0.5 s)"),
    ("--faults overloaded", "every request gets a 529 until the emulator restarts"),
    ("--faults drop_after=5,on=stream", "every stream is cut in the middle of its 6th event"),
    ("--faults trickle=0.2,times=1", "the next event list or stream crawls at 5 bytes per second"),
    ("--scenario 'tool_use:2@heartbeat_only'", "two tool_use sessions whose streams only ever send pings"),
)


@dataclass(frozen=True)
class ScenarioRequest:
    name: str
    count: int = 1
    faults: str | None = None


def parse_scenario(value: str) -> ScenarioRequest:
    """``NAME[:COUNT][@FAULTS]`` → a request; ConfigError with a one-line message if malformed."""
    from recorder.emulator.scenarios import SCENARIOS

    head, _, faults = value.partition("@")
    name, has_count, count_text = head.partition(":")
    name = name.strip()
    if name not in SCENARIOS:
        raise ConfigError(f"unknown scenario {name!r} in --scenario {value!r}; known: {', '.join(SCENARIOS)}")
    count = 1
    if has_count:
        try:
            count = int(count_text)
        except ValueError:
            raise ConfigError(f"bad count in --scenario {value!r}: expected NAME[:COUNT][@FAULTS]") from None
        if count < 1:
            raise ConfigError(f"bad count in --scenario {value!r}: must be at least 1")
    if faults:
        Faults.parse(faults)
    return ScenarioRequest(name, count, faults or None)


def help_sections() -> list[tuple[str, list[tuple[str, str]], str]]:
    """(title, rows, trailing text) for ``recorder emulator --help``."""
    from recorder.emulator.scenarios import SCENARIOS

    scenarios = [(s.name, s.summary) for s in SCENARIOS.values()]
    return [
        ("Scenarios (--scenario NAME[:COUNT][@FAULTS])", scenarios,
         "Without --scenario, one session of every scenario is served. --live plays the listed scenarios in real "
         "time (one step per --interval); `live` always plays live. Same --seed, same sessions and ids."),
        ("Faults (--faults SPEC: comma-separated, global; or per scenario after @)", list(FAULT_ROWS),
         "A request about a session gets the global faults, then the session's. Counts are used up as faults fire."),
        ("Fault examples", list(FAULT_EXAMPLES), ""),
    ]


def run(*, host: str, port: int, scenarios: tuple[str, ...], seed: int, faults: str | None, live: bool,
        interval: float, events: int | None, heartbeat: float, api_key: str | None,
        echo: Callable[[str], None]) -> None:
    """Build the emulator, print how to reach it, and serve until interrupted."""
    from recorder.emulator import Emulator

    requests = [parse_scenario(s) for s in scenarios]
    if faults:
        Faults.parse(faults)
    if interval < 0 or heartbeat <= 0:
        raise ConfigError("--interval cannot be negative and --heartbeat must be positive")
    emu = Emulator(seed=seed, api_key=api_key, heartbeat=heartbeat, faults=faults)
    if not requests:
        emu.add_standard_sessions(long_events=events or 10_000)
        emu.add_session("live", interval=interval, events=events)
    for req in requests:
        for _ in range(req.count):
            takes_events = req.name in ("long", "live")
            emu.add_session(req.name, events=events if takes_events else None, faults=req.faults,
                            live=True if live and req.name != "long" else None, interval=interval)
    try:
        server = emu.server(host=host, port=port)
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    echo(f"Managed Agents API emulator listening on {server.base_url}  (seed {seed}, "
         f"{len(emu.session_ids())} sessions)")
    for sid in emu.session_ids():
        kind = "live" if emu.is_live(sid) else f"{emu.event_count(sid)} events"
        echo(f"  {sid}  {emu.scenario(sid):<14} {kind}")
    echo("Point the SDK at it:")
    echo(f"  export ANTHROPIC_BASE_URL={server.base_url}")
    echo(f"  export ANTHROPIC_API_KEY={api_key or 'emulator-key'}"
         + ("" if api_key else "   # any non-empty key is accepted"))
    echo("Press Ctrl-C to stop.")
    serve_until_interrupted(server, on_stop=emu.close)
