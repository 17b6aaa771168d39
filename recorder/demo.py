"""`recorder demo`: the whole job offline, in one command.

1. start the API emulator in this process (seeded sessions of every scenario, plus one multi-agent session that
   plays live), on a free loopback port;
2. create the event log if needed (``recorder db upgrade``) and record every session through the real SDK — the
   finished ones by polling, the live one by streaming until it settles;
3. print one session's transcript and a usage report, both rebuilt from the log alone;
4. say what to try next.

Running it again is safe: the finished sessions are already complete in the log, so nothing is added twice.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from recorder.emulator import Emulator
from recorder.record import Observer, RecordOptions, make_client, run_recording
from recorder.store import EventStore, migrate

DEMO_KEY = "demo-key"  # the emulator accepts any non-empty key; nothing real is used
TRANSCRIPT_SCENARIO = "tool_use"


@dataclass
class DemoResult:
    sessions: int
    events_added: int
    failed: int
    transcript_session: str
    live_session: str


def run_demo(
    db_url: str,
    *,
    seed: int = 2026,
    live_interval: float = 0.05,
    out: TextIO | None = None,
    observer: Observer | None = None,
) -> DemoResult:
    """Run the demo against a fresh emulator, recording into ``db_url``; writes to ``out`` (stdout)."""
    out = out or sys.stdout
    emu = Emulator(seed=seed, heartbeat=0.5)
    finished = emu.add_standard_sessions(long_events=2000)
    live = emu.add_session("live", interval=live_interval, autostart=False)
    chosen = next(sid for sid in finished if emu.scenario(sid) == TRANSCRIPT_SCENARIO)
    before, after = migrate.upgrade(db_url)
    say = lambda text="": print(text, file=out, flush=True)  # noqa: E731
    say(f"# recorder demo — {len(finished) + 1} sessions from the offline API emulator into {db_url}")
    if before != after:
        say(f"created the event log (schema {after})")
    try:
        with emu.serve() as server, EventStore(db_url) as store:
            say(f"emulator on {server.base_url}; recording {len(finished)} finished sessions and 1 live one ...")
            emu.start(live)
            report = run_recording(
                store,
                [live, *finished],
                # local emulator: no request budget to keep; a short settle (nobody sends a next message here)
                RecordOptions(follow=True, deadline=300, settle=1.0, max_rpm=None),
                observer=observer,
                client_factory=lambda: make_client(api_key=DEMO_KEY, base_url=server.base_url),
            )
            if observer is not None:
                observer.clear()
            skipped = sum(1 for o in report.sessions if o.skipped)
            say(f"recorded {len(report.sessions)} sessions: {report.events_added:,} new stream events"
                + (f" ({skipped} already complete in the log)" if skipped else ""))
            failed = report.failed
            if failed:
                say(f"{len(failed)} sessions failed: {failed[0].session_id}: {failed[0].error}")
            say()
            say(f"## Transcript of {chosen} (`recorder transcript {chosen}`)")
            say()
            write_transcript(store, chosen, out)
    finally:
        emu.close()
    say()
    say("## Usage by session (`recorder usage --by session`)")
    say()
    write_usage(db_url, out)
    say()
    say("Try next:")
    say(f"  recorder sessions --db {db_url}")
    say(f"  recorder transcript {live} --format html -o live.html --db {db_url}   # a multi-agent session")
    say(f"  recorder usage --by model --db {db_url}")
    say(f"  recorder verify --db {db_url}")
    say(f"  recorder serve --db {db_url}      # the recordings over the API, for your own SDK code")
    say(f"  recorder ui --db {db_url}         # the whole archive in a browser: list, search, sessions, usage")
    return DemoResult(len(report.sessions), report.events_added, len(report.failed), chosen, live)


def write_transcript(store: EventStore, session_id: str, out: TextIO) -> None:
    """The session's Markdown transcript, rebuilt from the log alone (``recorder transcript``)."""
    from recorder.recorded import RecordedSession

    out.write(RecordedSession(store, session_id).transcript("md"))
    out.flush()


def write_usage(db_url: str, out: TextIO) -> None:
    """Tokens and cost by session from the analytics read model (``recorder usage --by session``)."""
    from recorder.analytics import queries, service
    from recorder.output import formats

    with service.opened(db_url) as projection:
        formats.write(queries.usage(projection, "session"), "table", stream=out)
