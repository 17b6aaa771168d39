"""The `recorder` command line: a thin click layer over the library.

Only this module imports click. Every command reads the database URL from ``--db`` or ``RECORDER_DB``
(default ``sqlite:///recorder.db``). Exit status: 0 done, 1 error (one line on stderr), 2 usage error,
3 a wall-clock deadline was reached (what was recorded is committed; run the same command again to resume),
130 Ctrl-C, 143 SIGTERM (both handled alike: committed, leases released, audited).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from recorder import heap
from recorder.errors import RecorderError
from recorder.output.stdout import GuardedStream, StdoutFailed, silence

DEFAULT_DB = "sqlite:///recorder.db"


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version`` (the version is read only when asked: see ``recorder.__getattr__``)."""
    if not value or ctx.resilient_parsing:
        return
    from recorder import __version__

    click.echo(f"recorder, version {__version__}")
    ctx.exit()


# ------------------------------------------------------------------------------- parameter types
# Every number, port, duration and URL the CLI takes is checked by recorder.options (one rule, one message each).


class FiniteFloat(click.ParamType):
    """A float within bounds that refuses ``nan`` and ``inf`` (click's FLOAT takes both: ``--deadline inf`` would
    run with no deadline at all, and ``nan`` passes every range check)."""

    name = "float"

    def __init__(self, min: float | None = None, max: float | None = None, min_open: bool = False) -> None:
        from recorder.options import MAX_SECONDS

        self.min, self.max, self.min_open = min, MAX_SECONDS if max is None else max, min_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from recorder import options

        try:
            return options.finite_float(value, minimum=self.min, minimum_open=self.min_open, maximum=self.max)
        except ValueError as err:
            self.fail(str(err), param, ctx)


class Port(click.ParamType):
    name = "port"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from recorder import options

        try:
            return options.port(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


class Duration(click.ParamType):
    """90d, 12h, 2w, 1y, 1y30d: kept as the text typed (for messages), checked here."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from recorder import options

        try:
            options.duration(str(value))
        except ValueError as err:
            self.fail(str(err), param, ctx)
        return str(value)


class DatabaseUrl(click.ParamType):
    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from recorder import options

        try:
            return options.database_url(str(value))
        except ValueError as err:
            self.fail(str(err), param, ctx)


db_option = click.option(
    "--db",
    "db_url",
    type=DatabaseUrl(),
    envvar="RECORDER_DB",
    default=DEFAULT_DB,
    show_default=True,
    metavar="URL",
    help="Event log database URL (env RECORDER_DB), e.g. sqlite:///recorder.db or "
    "postgresql+psycopg://user@host/dbname.",
)


class CliError(click.ClickException):
    """A RecorderError on its way out: one line on stderr, the error's own exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it per class; ours is per error

    def show(self, file: Any = None) -> None:
        click.echo(f"recorder: {self.format_message()}", err=True)


class RecorderGroup(click.Group):
    """The top-level group: turns the library's errors into a one-line message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RecorderError as err:
            if isinstance(err, StdoutFailed):
                silence()
            raise CliError(str(err), err.exit_code) from None
        except click.UsageError as err:  # one line, like every other error (click would add the usage text)
            where = f"; see `{err.ctx.command_path} --help`" if err.ctx is not None else ""
            raise CliError(f"{err.format_message()}{where}", 2) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise SystemExit(0) from None


@click.group(cls=RecorderGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
def cli() -> None:
    """Record Claude Managed Agents sessions into an event log you own, and rebuild transcripts, usage
    reports and offline replays from it.

    \b
    Quick start (offline, against the bundled API emulator):
      recorder demo
    Against the API (ANTHROPIC_API_KEY set):
      recorder db upgrade
      recorder record --all --follow
      recorder transcript SESSION_ID
    """


def _print_json(data: Any) -> None:
    from recorder.output.formats import json_text

    click.echo(json_text(data), nl=False)


# --------------------------------------------------------------------------------------------- db


def _interactive() -> bool:
    """Whether a person can answer a question: stdin and stderr both at a terminal."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _redacted(db_url: str) -> str:
    from recorder.store import redact

    return redact(db_url)


_yes_option = click.option("-y", "--yes", is_flag=True,
                           help="Do it without asking (required when not at a terminal).")


def _confirm(shown: list[str], question: str, yes: bool) -> None:
    """Destructive commands: show what will go and ask at a terminal; elsewhere require --yes (exit 2 without)."""
    if yes:
        return
    if not _interactive():
        raise CliError("this destroys data and there is no terminal to ask: pass --yes to go ahead "
                       "(--dry-run shows what would go)", 2)
    for line in shown[:50]:
        click.echo(f"  {line}", err=True)
    if len(shown) > 50:
        click.echo(f"  ... and {len(shown) - 50:,} more", err=True)
    if not click.confirm(question, default=False, err=True):
        raise CliError("nothing changed", 1)


@cli.group()
def db() -> None:
    """Create and check the event log's schema (alembic migrations)."""


@db.command("upgrade")
@db_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(db_url: str, revision: str) -> None:
    """Apply migrations up to REVISION (creates the schema in a new database)."""
    from recorder.store import migrate

    before, after = migrate.upgrade(db_url, revision)
    click.echo(f"database at {after or 'base'} (was {before or 'empty'})")


@db.command("downgrade")
@db_option
@click.argument("revision")
@click.option("--dry-run", is_flag=True, help="Only show what would be reverted (and, for base, dropped).")
@_yes_option
def db_downgrade(db_url: str, revision: str, dry_run: bool, yes: bool) -> None:
    """Revert migrations down to REVISION (`base` drops every table: the whole log). Shows what goes and asks at a
    terminal; elsewhere needs --yes."""
    from recorder.store import migrate

    steps, rows = migrate.downgrade_plan(db_url, revision)
    if not steps:
        click.echo(f"database is already at {revision}; nothing to revert")
        return
    shown = [f"revert {step}" for step in steps]
    if rows:
        shown.append("drop tables: " + ", ".join(f"{table} ({count:,} rows)" for table, count in rows.items()))
    if dry_run:
        for line in shown:
            click.echo(f"would {line}")
        return
    _confirm(shown, f"Revert {len(steps)} migration(s) of {_redacted(db_url)}? This cannot be undone", yes)
    before, after = migrate.downgrade(db_url, revision)
    click.echo(f"database at {after or 'base'} (was {before or 'empty'})")


@db.command("current")
@db_option
def db_current(db_url: str) -> None:
    """Show the revision the database is at, and where it stands against the newest this version knows (exit 1 when
    the database is newer than this recorder)."""
    from recorder.errors import SchemaError
    from recorder.store import migrate

    current = migrate.current(db_url)
    state = migrate.describe(current)
    if current is not None and current not in migrate.known():
        raise SchemaError(f"database is at revision {current}: {state}")
    click.echo(f"{current or 'empty'}: {state}")


@db.command("check")
@db_option
def db_check(db_url: str) -> None:
    """Verify the database is at the newest revision and its schema matches the models (no drift)."""
    from recorder.store import migrate

    migrate.check(db_url)
    click.echo("schema is up to date and matches the models")


# --------------------------------------------------------------------------------------- recorder


def _time_option(value: str | None) -> Any:
    if value is None:
        return None
    from recorder.events import parse_time

    parsed = parse_time(value)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a time; use RFC 3339, e.g. 2026-11-01T00:00:00Z")
    return parsed


@cli.command()
@db_option
@click.argument("session_ids", nargs=-1, metavar="[SESSION_ID]...")
@click.option("--all", "all_sessions", is_flag=True,
              help="Every session `sessions.list` returns, archived included (without --follow: only those that "
              "changed since they were last recorded).")
@click.option("--follow", is_flag=True,
              help="Follow each session until it is settled, closed or deleted (with --all: run as a service until "
              "the deadline or a signal, fed by webhooks and a list sweep).")
@click.option("--settle", type=FiniteFloat(min=0), default=5.0, show_default=True, metavar="SECONDS",
              help="With --follow: how long an idle session (not waiting for the client) must stay quiet to be "
              "settled.")
@click.option("--listen", metavar="HOST:PORT",
              help="With --all --follow: take signed webhooks at POST http://HOST:PORT/webhooks (key from "
              "ANTHROPIC_WEBHOOK_SIGNING_KEY; loopback when HOST is left out).")
@click.option("--sweep-interval", type=FiniteFloat(min=0.05), default=60.0, show_default=True,
              metavar="SECONDS", help="With --all --follow: seconds between `sessions.list` sweeps (the backstop "
              "for webhooks that never came).")
@click.option("--max-rpm", type=click.IntRange(min=0), default=300, show_default=True, metavar="N",
              envvar="RECORDER_MAX_RPM",
              help="At most N API requests per minute over the whole run (0: no limit; also RECORDER_MAX_RPM); the "
              "organization's read limit of 1,200 is shared with production. A 429 lowers the rate for a while.")
@click.option("--mode", type=click.Choice(["auto", "stream", "poll"]), default="auto", show_default=True,
              help="stream: SSE stream consolidated with history; poll: page through history; auto: stream live "
              "sessions (with --follow), poll finished ones.")
@click.option("--deadline", type=FiniteFloat(min=0, min_open=True), metavar="SECONDS",
              help="Stop after this many seconds of wall-clock time (exit 3; run again to resume).")
@click.option("--request-timeout", type=FiniteFloat(min=0, min_open=True), default=60.0, show_default=True,
              metavar="SECONDS", help="Wall-clock limit for one API request (then it is retried).")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["rescheduling", "running", "idle", "terminated"]),
              help="With --all: only sessions in this status (repeatable).")
@click.option("--created-after", metavar="TIME", help="With --all: only sessions created at or after TIME.")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=8, show_default=True,
              help="Sessions recorded at once.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
              help="With --all --follow: spread the sessions over N worker processes (a stable hash of the "
              "session id picks the worker; leases are still taken). Each worker gets 1/N of --max-rpm and "
              "--concurrency; Ctrl-C/SIGTERM stop them all; one run line and exit status cover them all.")
@click.option("--shard", hidden=True, metavar="I/N", help="(Set by --workers.) Record only worker I's sessions.")
@click.option("--page-size", type=click.IntRange(1, 1000), default=1000, show_default=True,
              help="Events per history page.")
@click.option("--poll-interval", type=FiniteFloat(min=0.05), default=2.0, show_default=True,
              metavar="SECONDS", help="With --follow --mode poll: time between polls.")
@click.option("--lease-seconds", type=FiniteFloat(min=1), default=30.0, show_default=True,
              help="How long a session's lease lasts unless renewed (another recorder takes over after).")
@click.option("--overlap", type=FiniteFloat(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="How far back before the last events each catch-up of a session re-reads (events that become "
              "visible late, timestamps that are off); what is read twice is stored once.")
@click.option("--catchup-interval", type=FiniteFloat(min=0.05), default=30.0, show_default=True,
              metavar="SECONDS", help="With --follow --mode stream: how often to check the session's status and "
              "catch up from history (a stream may stall).")
@click.option("--include-pruned", is_flag=True,
              help="With --all: also record sessions pruned from the log (they are skipped, with one line, unless "
              "named or this is given).")
@click.option("--no-files", is_flag=True, help="Do not archive the sessions' output files.")
@click.option("--refresh", is_flag=True, help="Check sessions already complete in the log again.")
@click.option("--json/--no-json", "as_json", default=None,
              help="One JSON object per session on stdout (default when stdout is not a terminal).")
@click.option("-v", "--verbose", is_flag=True, help="Report retries and reconnects even when not on a terminal.")
def record(db_url: str, session_ids: tuple[str, ...], all_sessions: bool, follow: bool, settle: float,
           listen: str | None, sweep_interval: float, max_rpm: int, mode: str, deadline: float | None,
           request_timeout: float, statuses: tuple[str, ...], created_after: str | None,
           concurrency: int, page_size: int, poll_interval: float, lease_seconds: float, overlap: float,
           catchup_interval: float, include_pruned: bool, no_files: bool, refresh: bool, as_json: bool | None,
           verbose: bool, workers: int, shard: str | None) -> None:
    """Record sessions from the Managed Agents API into the event log: every event exactly once, as delivered.

    \b
    Examples:
      recorder record sesn_011CZx...                 # what exists now, then exit
      recorder record sesn_A sesn_B --follow         # until both are settled, closed or deleted
      recorder record --all                          # every session that changed since last time
      recorder record --all --follow --listen 127.0.0.1:8787 --max-rpm 200   # the service
      recorder record --all --follow --workers 4     # the service on 4 cores (sessions hashed over 4 processes)
    Uses ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL like the SDK. Stopping (deadline, Ctrl-C, SIGTERM, a crash)
    loses nothing: what was recorded is committed, and running the same command again resumes. Each session's
    result is printed as it finishes, and the run's at any end (JSON when stdout is not a terminal).
    """
    started = time.monotonic()  # the deadline covers the whole command, slow imports included
    from recorder.watchdog import DeadlineWatchdog

    watchdog = DeadlineWatchdog(deadline, started) if deadline is not None else None
    try:  # any way out of this command disarms the watchdog (in-process callers, e.g. tests, go on living)
        # usage first, before the slow imports
        if bool(session_ids) == all_sessions:
            raise click.UsageError("give SESSION_IDs or --all (not both)")
        if (statuses or created_after) and not all_sessions:
            raise click.UsageError("--status and --created-after go with --all")
        if listen is not None and not (all_sessions and follow):
            raise click.UsageError("--listen goes with --all --follow")
        import json
        import signal

        from recorder.errors import Terminated

        def on_sigterm(signum: int, frame: Any) -> None:
            raise Terminated("terminated by SIGTERM")

        signal.signal(signal.SIGTERM, on_sigterm)  # outside the event loop too (before it starts, after it ends)

        from recorder import progress
        from recorder.errors import DeadlineReached
        from recorder.ingest.webhooks import parse_listen
        from recorder.record import RecordOptions, run_recording
        from recorder.store import EventStore, distinct_events

        listen_at = parse_listen(listen) if listen is not None else None
        if workers > 1 or shard is not None:
            if not (all_sessions and follow):
                raise click.UsageError("--workers goes with --all --follow")
            if listen is not None:
                raise click.UsageError("--workers cannot go with --listen (one webhook port, several processes); the "
                                       "list sweep finds every change")
        shard_at = None
        if shard is not None:
            from recorder.workers import parse_shard

            try:
                shard_at = parse_shard(shard)
            except ValueError as err:
                raise click.BadParameter(str(err), param_hint="--shard") from None
        if workers > 1:
            if watchdog is not None:
                watchdog.done()  # each worker keeps its own deadline; this process waits for them
            _supervise(workers, max_rpm, concurrency, as_json)
            return
        from recorder.ingest.scrub import rules

        rules()  # RECORDER_SECRET_NAMES / _PATTERNS checked before anything is recorded (ConfigError: exit 2)
        options = RecordOptions(
            mode=mode, follow=follow, deadline=deadline, request_timeout=request_timeout, page_size=page_size,
            concurrency=concurrency, poll_interval=poll_interval, lease_seconds=lease_seconds, files=not no_files,
            statuses=statuses, created_after=_time_option(created_after), refresh=refresh, started=started,
            settle=settle, sweep_interval=sweep_interval, max_rpm=max_rpm or None, listen=listen_at,
            overlap=overlap, catchup_interval=catchup_interval, include_pruned=include_pruned, shard=shard_at,
        )
        on_terminal = sys.stderr.isatty()
        observer = progress.Terminal() if on_terminal else progress.Quiet(verbose=verbose)
        as_json = (not sys.stdout.isatty()) if as_json is None else as_json
        finished: list[Any] = []

        def print_session(outcome: Any) -> None:
            # events_added counts stream entries (an event on two streams, e.g. the session stream and its primary
            # thread, is stored on each); `recorder sessions` counts distinct events: print both, labelled.
            finished.append(outcome)
            try:
                in_log: int | None = distinct_events(store, outcome.session_id)
            except RecorderError:
                in_log = None
            if as_json:
                click.echo(json.dumps({**outcome.as_dict(), "events_in_log": in_log}))
            elif outcome.state == "deleted":
                click.echo(f"{outcome.session_id}  deleted upstream; the {outcome.events_added:,} stream events "
                           "recorded by this run and all recorded before are kept")
            else:
                state = outcome.error or outcome.skipped or ("complete" if outcome.complete else outcome.state
                                                               or outcome.status or "")
                total = "" if in_log is None else f" ({in_log:,} distinct events in the log)"
                click.echo(f"{outcome.session_id}  +{outcome.events_added:,} stream events{total}  {outcome.threads} "
                           f"threads  {state}")

        def print_run(run_id: int | None, outcome: str, report: Any = None) -> None:
            """The run's line, at any end (done, deadline, Ctrl-C, SIGTERM, error)."""
            events = observer.events  # every event committed, the sessions still in progress at the end included
            unchanged = report.unchanged if report is not None else 0
            deleted = len(report.deleted) if report is not None else sum(o.state == "deleted" for o in finished)
            if as_json:
                click.echo(json.dumps({"type": "run", "run_id": run_id, "outcome": outcome, "sessions": len(finished),
                                       "events_added": events, "unchanged": unchanged, "deleted": deleted}))
            else:
                more = f" ({unchanged:,} unchanged since last recorded)" if unchanged else ""
                click.echo(f"recorded {len(finished)} sessions, {events:,} new stream events in "
                           f"{observer.elapsed:,.1f} s" + more + ("" if outcome == "ok" else f" ({outcome})"))

        observer.on_finished = print_session
        with EventStore(db_url) as store:
            if watchdog is not None:
                watchdog.running()
            try:
                with heap.tuned_for_recording():  # the imports are done: the collector need not walk them again
                    report = run_recording(store, session_ids, options, discover=all_sessions, observer=observer)
            except DeadlineReached as err:
                observer.clear()
                print_run(observer.run_id, "deadline")
                raise DeadlineReached(
                    f"{err}; {observer.events:,} new events are committed — run the same command again to resume"
                ) from None
            except Terminated as err:
                observer.clear()
                print_run(observer.run_id, "interrupted")
                raise CliError(f"{err}; {observer.events:,} new events are committed — run the same command again "
                               "to resume", err.exit_code) from None
            except KeyboardInterrupt:
                observer.clear()
                print_run(observer.run_id, "interrupted")
                raise CliError(
                    f"interrupted; {observer.events:,} new events are committed — run the same command again to resume",
                    130,
                ) from None
            except RecorderError:
                observer.clear()
                print_run(observer.run_id, "error")
                raise
            finally:
                if watchdog is not None:
                    watchdog.done()
        observer.clear()
        print_run(report.run_id, report.outcome, report)
        if report.failed:
            first = report.failed[0]
            more = f" (and {len(report.failed) - 1} more)" if len(report.failed) > 1 else ""
            raise CliError(f"{first.session_id}: {first.error}{more}", 1)

    finally:
        if watchdog is not None:
            watchdog.done()

def _supervise(workers: int, max_rpm: int, concurrency: int, as_json: bool | None) -> None:
    """``record --all --follow --workers N``: run N copies of this command (see recorder.workers)."""
    import json

    from click.core import ParameterSource

    from recorder.workers import Supervisor, share

    ctx = click.get_current_context()
    argv: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if name is None or name in ("workers", "shard", "max_rpm", "concurrency", "as_json"):
            continue
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP,
                                              ParameterSource.ENVIRONMENT, None):
            continue  # the workers get the same defaults and the same environment
        value = ctx.params[name]
        if not isinstance(param, click.Option):
            argv.extend(str(v) for v in value)
        elif param.is_flag:
            if value or param.secondary_opts:
                argv.append(param.opts[0] if value else param.secondary_opts[0])
        elif param.multiple:
            for item in value:
                argv += [param.opts[0], str(item)]
        else:
            argv += [param.opts[0], str(value)]
    argv += ["--max-rpm", str(share(max_rpm, workers) if max_rpm else 0),
             "--concurrency", str(share(concurrency, workers))]
    as_json = (not sys.stdout.isatty()) if as_json is None else as_json

    def on_session(item: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps(item))
        else:
            state = item.get("error") or item.get("skipped") or item.get("state") or item.get("status") or ""
            click.echo(f"{item.get('session_id')}  +{item.get('events_added', 0):,} stream events  "
                       f"{item.get('threads', 0)} threads  {state}")

    supervisor = Supervisor(argv, workers, on_session=on_session)
    status = supervisor.run()
    summary = supervisor.summary
    if as_json:
        click.echo(json.dumps(summary.as_dict(workers)))
    else:
        click.echo(f"recorded {summary.sessions} sessions, {summary.events_added:,} new stream events with "
                   f"{workers} workers" + ("" if summary.outcome == "ok" else f" ({summary.outcome})"))
    if status != 0:
        raise CliError(f"{workers} workers stopped ({summary.outcome}); {summary.events_added:,} new events are "
                       "committed — run the same command again to resume", status)


@cli.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def sessions(db_url: str, fmt: str) -> None:
    """Recorded sessions: status, event and thread counts, time of the last event and of the last recording."""
    from recorder.output import listings
    from recorder.store import Lifecycle, open_read_only

    with open_read_only(db_url) as store:
        rows = store.sessions()
        complete = {s.session_id for s in rows if (cp := store.checkpoint(s.session_id)) and cp.complete}
        states = Lifecycle(store).states()
    if fmt == "json":
        _print_json(listings.sessions_json(rows, complete, states))
        return
    if not rows:
        click.echo("no sessions recorded yet; try `recorder record --all` (or `recorder demo`)")
        return
    click.echo(listings.sessions_table(rows, complete, states), nl=False)
    if listings.any_pending(rows, complete, states):
        click.echo("* still recording or not recorded to its end yet", err=True)


@cli.command()
@db_option
@click.argument("session_id")
@click.option("--thread", "thread_id", metavar="TID", help="A thread's own stream instead of the session's.")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only events of this type (repeatable).")
def events(db_url: str, session_id: str, thread_id: str | None, types: tuple[str, ...]) -> None:
    """Print a recorded stream as NDJSON: one line per event, exactly the JSON object the API delivered, in the
    API's order for that stream."""
    from recorder.errors import NotFound
    from recorder.store import open_read_only

    with open_read_only(db_url) as store:
        store.require_session(session_id)
        if thread_id is not None and store.stream_info(session_id, thread_id) is None:
            raise NotFound(f"session {session_id} has no recorded thread {thread_id}")
        out = sys.stdout
        for event in store.stream_events(session_id, thread_id, types=types or None):
            out.write(event.payload)
            out.write("\n")


# --------------------------------------------------------------------------------------- emulator


class _EmulatorCommand(click.Command):
    """Appends the scenario list and the fault syntax (from the emulator package, read on demand) to --help."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from recorder.emulator.command import help_sections

        for title, rows, text in help_sections():
            with formatter.section(title):
                formatter.write_dl(rows)
                if text:
                    formatter.write_paragraph()
                    formatter.write_text(text)


@cli.command("emulator", cls=_EmulatorCommand)
@click.option("--port", type=Port(), default=8765, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME[:COUNT][@FAULTS]",
              help="Add COUNT sessions of scenario NAME, optionally with their own faults. Repeatable.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same sessions, ids and events.")
@click.option("--faults", metavar="SPEC", help="Global faults for every request, e.g. rate_limit=2,retry_after=0.5.")
@click.option("--live", is_flag=True, help="Play the --scenario sessions in real time instead of finished.")
@click.option("--interval", type=FiniteFloat(min=0), default=0.5, show_default=True,
              help="Seconds between live steps.")
@click.option("--events", type=click.IntRange(min=1, max=10_000_000),
              help="Length of `long` sessions (default 10000) and approximate length of "
              "`live` ones.")
@click.option("--heartbeat", type=FiniteFloat(min=0, min_open=True), default=5.0, show_default=True,
              help="Seconds between stream pings.")
@click.option("--api-key", help="Accept only this API key (default: any non-empty key).")
def emulator(port: int, host: str, scenarios: tuple[str, ...], seed: int, faults: str | None, live: bool,
             interval: float, events: int | None, heartbeat: float, api_key: str | None) -> None:
    """Serve an offline emulator of the Managed Agents session API (sessions, events, SSE streams, threads,
    files) so that SDK code runs without Anthropic. Prints the base URL; runs until Ctrl-C."""
    from recorder.emulator.command import run

    run(host=host, port=port, scenarios=scenarios, seed=seed, faults=faults, live=live, interval=interval,
        events=events, heartbeat=heartbeat, api_key=api_key, echo=click.echo)


# ----------------------------------------------------------------------------------------- replay


def _parse_until(value: str | None) -> Any:
    if value is None:
        return None
    from recorder.replay.timeline import Until

    return Until.parse(value)


_replay_thread_option = click.option(
    "--thread", "thread", default="all", show_default=True, metavar="TID|all|session",
    help="Which streams: every thread merged (each event once), the session stream only, or one thread's own.")
_replay_until_option = click.option(
    "--until", "until", metavar="EVENT_ID|TIME",
    help="Stop after this event, or at this RFC 3339 time (inclusive): the session as it stood then.")


@cli.command()
@db_option
@click.argument("session_id")
@click.option("--format", "fmt", type=click.Choice(["md", "text", "json", "html"]), default="md", show_default=True,
              help="Markdown, text (colour on a terminal), JSON for programs, or a self-contained HTML viewer.")
@_replay_thread_option
@_replay_until_option
@click.option("-o", "--output", "output", metavar="FILE",
              help="Write to FILE (atomically) instead of standard output ('-').")
@click.option("--max-chars", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Cut tool inputs and results to this many characters (0: never; HTML keeps up to 20000).")
@click.option("--color/--no-color", "colour", default=None, help="Colour text output (default: on a terminal).")
def transcript(db_url: str, session_id: str, fmt: str, thread: str, until: str | None, output: str | None,
               max_chars: int, colour: bool | None) -> None:
    """Rebuild a recorded session's conversation from the log: messages, tool calls with inputs and results,
    model requests with tokens, status changes, errors, threads, usage and cost.

    \b
    Examples:
      recorder transcript sesn_01...                         # Markdown on stdout
      recorder transcript sesn_01... --format html -o s.html # a self-contained viewer
      recorder transcript sesn_01... --until sevt_01...      # the session as it stood at that event
      recorder transcript sesn_01... --format json | jq .usage
    """
    from recorder.recorded import write_transcript
    from recorder.store import open_read_only

    cut = _parse_until(until)
    options: dict[str, Any] = {}
    if fmt in ("md", "text"):
        options["max_chars"] = max_chars
    elif fmt == "html" and max_chars:
        options["max_chars"] = max(max_chars, 20_000)
    from recorder.output import files

    with open_read_only(db_url) as store:
        if files.is_stdout(output):
            if fmt == "text":
                options["colour"] = sys.stdout.isatty() if colour is None else colour
            write_transcript(store, session_id, sys.stdout, format=fmt, thread=thread, until=cut, **options)
        else:
            if fmt == "text":
                options["colour"] = bool(colour)
            with files.opened(output) as out:
                write_transcript(store, session_id, out, format=fmt, thread=thread, until=cut, **options)


@cli.command()
@db_option
@click.argument("session_id")
@click.option("--speed", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="Pace relative to the recording: 2 is twice as fast, 0 as fast as possible.")
@click.option("--max-gap", type=FiniteFloat(min=0), metavar="SECONDS",
              help="Never wait longer than this between two events.")
@click.option("--format", "fmt", type=click.Choice(["text", "ndjson"]), default="text", show_default=True,
              help="One readable line per event, or each event's JSON exactly as the API delivered it.")
@_replay_thread_option
@_replay_until_option
@click.option("--color/--no-color", "colour", default=None, help="Colour text output (default: on a terminal).")
def replay(db_url: str, session_id: str, speed: float, max_gap: float | None, fmt: str, thread: str,
           until: str | None, colour: bool | None) -> None:
    """Re-emit a recorded session's events with their original pacing (scaled by --speed).

    \b
    Examples:
      recorder replay sesn_01... --speed 10                  # ten times faster
      recorder replay sesn_01... --speed 0 --format ndjson   # every event at once, as delivered
    """
    from recorder.render.oneline import OneLine
    from recorder.replay.meta import load_meta
    from recorder.replay.pacing import check_pace, paced
    from recorder.replay.timeline import read_timeline
    from recorder.store import open_read_only

    check_pace(speed, max_gap)
    out = sys.stdout
    with open_read_only(db_url) as store:
        meta = load_meta(store, session_id)
        events = paced(read_timeline(store, session_id, thread=thread, until=_parse_until(until), meta=meta),
                       lambda e: e.processed_at, speed=speed, max_gap=max_gap)
        if fmt == "ndjson":
            for event in events:
                out.write(event.payload + "\n")
                if speed:
                    out.flush()
        else:
            lines = OneLine(meta, colour=out.isatty() if colour is None else colour)
            for event in events:
                out.write(lines.line(event) + "\n")
                if speed:
                    out.flush()


@cli.command()
@db_option
@click.option("--port", type=Port(), default=8766, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token.")
@click.option("--speed", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="Pace of SSE streams relative to the recording: 2 is twice as fast, 0 as fast as possible.")
@click.option("--max-gap", type=FiniteFloat(min=0), metavar="SECONDS",
              help="Never make a stream wait longer than this between two events.")
@click.option("--heartbeat", type=FiniteFloat(min=0, min_open=True), default=5.0, show_default=True,
              help="Seconds between `ping` frames on streams.")
@click.option("--token", "--api-key", "token", envvar="RECORDER_SERVE_TOKEN", metavar="TOKEN",
              help="Every request must present this as its API key (x-api-key or Authorization: Bearer). "
                   "Required to listen beyond loopback. [env: RECORDER_SERVE_TOKEN]")
@click.option("--max-connections", type=click.IntRange(min=1), default=64, show_default=True,
              help="Open connections served at once; more are answered 503.")
def serve(db_url: str, port: int, host: str, speed: float, max_gap: float | None, heartbeat: float,
          token: str | None, max_connections: int) -> None:
    """Serve the recorded sessions over the Managed Agents API's HTTP shape (sessions, events with cursors and
    filters, SSE streams that replay at --speed, threads, files), so SDK programs run offline against the log.
    Listens on loopback by default; prints the base URL; runs until Ctrl-C."""
    from recorder.serve import run

    run(db_url, host=host, port=port, speed=speed, max_gap=max_gap, heartbeat=heartbeat, token=token,
        max_connections=max_connections, echo=click.echo)


# ------------------------------------------------------------------------------------- compliance




_workers_option = click.option(
    "--workers", type=click.IntRange(min=1, max=64), metavar="N",
    help="Processes checking the events of the whole log (default: one per two CPUs from 4 CPUs on, up to 4, "
    "for logs of 200,000 events or more; 1: none).")


@cli.command("verify")
@db_option
@click.argument("session_ids", nargs=-1, metavar="[SESSION_ID]...")
@click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also prove the database still extends this anchor (`recorder anchor`): no truncated tail, no "
              "older copy restored.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: a report for scripts on stdout (ok, counts, first_problem, problems).")
@click.option("--against-api", is_flag=True,
              help="Also list each session from the API (ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL) and report any "
              "event the log lacks or has extra, or holds in another order.")
@click.option("--deadline", type=FiniteFloat(min=0, min_open=True), metavar="SECONDS",
              help="With --against-api: wall-clock limit for the API comparison (exit 3).")
@_workers_option
def verify_command(db_url: str, session_ids: tuple[str, ...], anchor_file: str | None, fmt: str,
                   against_api: bool, deadline: float | None, workers: int | None) -> None:
    """Check the log's integrity: every stream's hash chain and payload hashes, sequence contiguity, global order
    (gapless except audited prunes), stream and log heads, the columns derived from each payload, archived files,
    snapshots and the audit trail. Without SESSION_IDs the whole log, else those sessions.

    \b
    Prints one `ok: ...` line, or exits 1 with the first bad place on stderr:
      recorder: log is NOT intact: session sesn_01..., session stream, seq 42, position 1234: payload does not
      match its payload_hash (payload or hash edited)
    Examples:
      recorder verify
      recorder verify --anchor anchors/2026-11-30.json
      recorder verify sesn_01ABC --format json
    """
    from recorder.compliance import anchor as anchors
    from recorder.compliance.verify import verify
    from recorder.store import open_read_only

    anchor = anchors.load(anchor_file) if anchor_file else None
    with open_read_only(db_url) as store:
        report = verify(store, list(session_ids) or None, anchor=anchor, workers=workers)
        if against_api:
            comparison = _compare_with_api(store, list(session_ids) or store.session_ids(), deadline)
            report.problems.extend(comparison.problems)
            report.problems_found += len(comparison.problems)
            for note in comparison.notes:
                click.echo(f"note: {note}", err=True)
            if fmt != "json" and not comparison.problems:
                click.echo(f"ok: the API lists nothing the log lacks and nothing less ({comparison.events:,} events "
                           f"in {comparison.streams:,} streams of {comparison.sessions:,} sessions compared)")
    if fmt == "json":
        _print_json(report.to_json())
    elif report.ok:
        click.echo(report.summary())
    report.raise_if_broken()


def _compare_with_api(store: Any, session_ids: list[str], deadline: float | None) -> Any:
    import asyncio

    from recorder.compliance.against_api import compare
    from recorder.ingest.api import Api
    from recorder.ingest.deadline import Deadline
    from recorder.record import make_client

    async def run() -> Any:
        client = make_client()
        try:
            return await compare(store, Api(client, Deadline(deadline)), session_ids)
        finally:
            await client.close()

    return asyncio.run(run())


@cli.command("anchor")
@db_option
@click.option("-o", "--output", default="-", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
              help="Write the anchor to FILE (default: standard output).")
@_workers_option
def anchor_command(db_url: str, output: str, workers: int | None) -> None:
    """Verify the whole log, then write an anchor: every stream's event count and chain head, the log head, the
    audit trail's head and one Merkle root over all streams (RFC 6962). Keep it somewhere else; later,
    `recorder verify --anchor FILE` proves the database still extends it.

    \b
    Example:
      recorder anchor -o /mnt/elsewhere/anchor-$(date +%F).json
    """
    from recorder.compliance import anchor as anchors
    from recorder.compliance.verify import verify
    from recorder.output import files
    from recorder.store import open_read_only

    with open_read_only(db_url) as store:
        anchor = anchors.anchor_from_report(verify(store, workers=workers))
    anchors.save(anchor, output)
    if files.is_stdout(output):
        return
    click.echo(f"anchored {len(anchor.streams):,} streams at log head {anchor.log_head:,}: Merkle root "
               f"{anchor.merkle_root} -> {output}")


@cli.command("export")
@db_option
@click.argument("session_ids", nargs=-1, metavar="[SESSION_ID]...")
@click.option("--all", "all_sessions", is_flag=True, help="Export every session in the log.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet"]), default="jsonl", show_default=True,
              help="How events are written: JSON lines exactly as delivered, or Parquet rows.")
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="A new (or empty) directory for the bundle.")
def export_command(db_url: str, session_ids: tuple[str, ...], all_sessions: bool, fmt: str, out: str) -> None:
    """Write a bundle a third party can check without the database (`recorder verify-bundle DIR`): per session
    and thread the events exactly as delivered, in order; the archived files; manifest.json with every file's
    sha256, counts, chain heads and a Merkle root; SHA256SUMS. The same log gives the same bytes (but for the
    export time in the manifest).

    \b
    Examples:
      recorder export sesn_01ABC sesn_01DEF --out case-1234/
      recorder export --all --format parquet --out archive-2026-11/
    """
    from recorder.compliance.export import export
    from recorder.output.text import counted
    from recorder.store import open_read_only

    if bool(session_ids) == all_sessions:
        raise click.UsageError("give SESSION_IDs or --all (not both)")
    with open_read_only(db_url) as store:
        summary = export(store, None if all_sessions else list(session_ids), out, fmt=fmt)
    click.echo(f"exported {counted(summary.events, 'event')} in {counted(summary.streams, 'stream')} of "
               f"{counted(summary.sessions, 'session')} and {counted(summary.files, 'file')} "
               f"({summary.bytes:,} bytes, {fmt}) to {summary.path}; Merkle root {summary.merkle_root}")


@cli.command("verify-bundle")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify_bundle_command(directory: str, fmt: str) -> None:
    """Check an export bundle with no database: the manifest's own digest, every file's sha256, SHA256SUMS, every
    stream's hash chain against the manifest's heads, the totals and the Merkle root. Exits 1 when any byte
    changed."""
    from recorder.compliance.bundle import verify_bundle

    report = verify_bundle(directory)
    if fmt == "json":
        _print_json(report.to_json())
    elif report.ok:
        click.echo(report.summary())
    report.raise_if_broken()


_by_option = click.option("--by", "actor", metavar="NAME",
                          help="Who is acting, for the audit trail (default: $RECORDER_ACTOR, else user@host).")


@cli.group("hold")
def hold_group() -> None:
    """Legal hold: sessions `recorder prune` never removes. Holding and releasing go to the audit trail."""


@hold_group.command("add")
@db_option
@click.argument("session_id")
@click.option("--reason", required=True, help="Why (a case or ticket number), for the audit trail.")
@_by_option
def hold_add(db_url: str, session_id: str, reason: str, actor: str | None) -> None:
    """Put SESSION_ID under legal hold."""
    from recorder.compliance.retention import hold
    from recorder.events import format_time
    from recorder.store import EventStore

    with EventStore(db_url) as store:
        held, new = hold(store, session_id, reason=reason, actor=actor)
    if new:
        click.echo(f"{session_id} is under legal hold ({held.reason})")
    else:
        click.echo(f"{session_id} was already under legal hold since {format_time(held.held_at)} by {held.held_by} "
                   f"({held.reason}); nothing changed")


@hold_group.command("remove")
@db_option
@click.argument("session_id")
@click.option("--reason", required=True, help="Why the hold ends, for the audit trail.")
@_by_option
def hold_remove(db_url: str, session_id: str, reason: str, actor: str | None) -> None:
    """Release SESSION_ID's legal hold (retention applies to it again)."""
    from recorder.compliance.retention import release
    from recorder.store import EventStore

    with EventStore(db_url) as store:
        released = release(store, session_id, reason=reason, actor=actor)
    click.echo(f"{session_id} is no longer under legal hold (was: {released.reason})")


@hold_group.command("list")
@db_option
@click.argument("session_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def hold_list(db_url: str, session_id: str | None, fmt: str) -> None:
    """Sessions under legal hold (or whether SESSION_ID is)."""
    from recorder.output import listings
    from recorder.store import ComplianceStore, open_read_only

    with open_read_only(db_url) as store:
        holds = ComplianceStore(store).holds(session_id)
    if fmt == "json":
        _print_json(listings.holds_json(holds))
    elif not holds:
        click.echo(f"{session_id} is not under legal hold" if session_id else "no session is under legal hold")
    else:
        click.echo(listings.holds_table(holds), nl=False)


@cli.command("prune")
@db_option
@click.option("--older-than", required=True, type=Duration(), metavar="DURATION",
              help="Remove sessions whose last activity is older than this: 90d, 12h, 2w, 1y, 1y30d...")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--reason", help="Why, for the audit trail (default: retention: last activity older than DURATION).")
@_by_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_yes_option
def prune_command(db_url: str, older_than: str, dry_run: bool, reason: str | None, actor: str | None,
                  fmt: str, yes: bool) -> None:
    """Retention: remove whole sessions whose last activity (the latest of the last event's processed_at and the
    last time the recorder wrote anything for the session) is older than DURATION — never a session under legal
    hold, nor one being recorded. Each removal goes to the audit trail with its counts and chain heads, and
    `recorder verify` stays green. At a terminal, shows what will go and asks; elsewhere needs --yes.

    \b
    Examples:
      recorder prune --older-than 1y --dry-run
      recorder prune --older-than 400d --reason "policy RET-7" --yes
    """
    from datetime import UTC, datetime

    from recorder.compliance.retention import prune
    from recorder.events import format_time
    from recorder.output.text import counted
    from recorder.store import EventStore

    with EventStore(db_url) as store:
        now = datetime.now(UTC).replace(tzinfo=None)  # one cutoff for the preview and the removal
        report = prune(store, older_than, dry_run=True, actor=actor, reason=reason, now=now)
        if not dry_run:
            # Show what goes and ask (at a terminal) or require --yes; then remove only what was shown.
            _confirm([f"{p.session_id}: {counted(p.events, 'event')}, last activity {format_time(p.last_activity)}"
                      for p in report.pruned],
                     f"Remove these {counted(len(report.pruned), 'session')} from the log? This cannot be undone",
                     yes or not report.pruned)
            report = prune(store, older_than, dry_run=False, actor=actor, reason=reason, now=now,
                           only={p.session_id for p in report.pruned})
    if fmt == "json":
        _print_json(report.to_json())
        return
    verb = "would remove" if dry_run else "removed"
    for p in report.pruned:
        click.echo(f"{verb} {p.session_id}: {counted(p.events, 'event')} in {counted(len(p.streams), 'stream')}, "
                   f"{counted(len(p.files), 'file')}, last activity {format_time(p.last_activity)}")
    kept = ""
    if report.held:
        kept += f"; kept {len(report.held)} under legal hold ({', '.join(report.held[:5])}"
        kept += ", ...)" if len(report.held) > 5 else ")"
    if report.recording:
        kept += f"; kept {len(report.recording)} being recorded"
    click.echo(f"{verb} {counted(len(report.pruned), 'session')} ({counted(report.events, 'event')}) with no "
               f"activity since {format_time(report.cutoff)}{kept}")


@cli.command("audit")
@db_option
@click.option("--session", "session_id", metavar="ID", help="Only this session's entries.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def audit_command(db_url: str, session_id: str | None, fmt: str) -> None:
    """The compliance audit trail: every legal hold, release and prune — who, when, why, and what was removed
    (json: the full details, with counts and chain heads)."""
    from recorder.output import listings
    from recorder.store import ComplianceStore, open_read_only

    with open_read_only(db_url) as store:
        entries = ComplianceStore(store).audit_entries(session_id)
    if fmt == "json":
        _print_json(listings.audit_json(entries))
    elif not entries:
        click.echo("the audit trail is empty")
    else:
        click.echo(listings.audit_table(entries), nl=False)


@db.command("roles")
@db_option
@click.option("--writer", default="recorder_writer", show_default=True, help="Role that records: insert/append only.")
@click.option("--reader", default="recorder_reader", show_default=True, help="Role that only reads.")
@click.option("--sql", "print_sql", is_flag=True, help="Print the SQL instead of running it.")
def db_roles(db_url: str, writer: str, reader: str, print_sql: bool) -> None:
    """PostgreSQL: create (if missing) a writer role that can only append and a reader role that can only read,
    and grant their privileges on this database (run as the tables' owner; again after each `db upgrade`).
    Neither can delete from the log, touch holds or the audit trail, or prune: that stays with the owner.
    Grant them to login roles: GRANT recorder_writer TO alice;"""
    from recorder.store import grant_roles, role_statements

    if print_sql:
        for statement in role_statements(writer, reader):
            click.echo(f"{statement};")
        return
    grant_roles(db_url, writer, reader)
    click.echo(f"roles {writer} (append only) and {reader} (read only) are granted on this database")


# --------------------------------------------------------------------------------------------- ui


@cli.command("ui")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8780, show_default=True, help="Port to listen on.")
@click.option("--token", envvar="RECORDER_UI_TOKEN", metavar="TOKEN",
              help="Require this token on every request (env RECORDER_UI_TOKEN; at least 16 characters).")
@click.option("--analytics-db", "analytics_db", envvar="RECORDER_ANALYTICS_DB", metavar="PATH",
              help="The analytics DuckDB file behind /usage (default as for `recorder usage`).")
@click.option("--anchor", "anchors", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="An anchor file (`recorder anchor`) to show on /compliance and verify against (repeatable).")
@click.option("--rebuild-index", is_flag=True, help="Rebuild the UI's search index and totals from the log first.")
@click.option("--index-interval", type=click.FloatRange(min=0.2), default=2.0, show_default=True,
              metavar="SECONDS", help="How often the search index catches up with the log.")
def ui_command(db_url: str, host: str, port: int, token: str | None, analytics_db: str | None,
               anchors: tuple[str, ...], rebuild_index: bool, index_interval: float) -> None:
    """The archive in a browser: the session list with search, the session viewer, usage charts, compliance.

    Read-only. Binds to loopback unless told otherwise; any other --host needs --token, which every request
    must then carry (Authorization: Bearer TOKEN, or ?token=TOKEN once, which sets a cookie).

    \b
    Examples:
      recorder ui                                   # http://127.0.0.1:8780/
      recorder ui --db postgresql://db/recorder --host 0.0.0.0 --token "$(openssl rand -hex 16)"
    """
    from recorder.ui.app import Settings
    from recorder.ui.server import serve

    settings = Settings(db_url=db_url, token=token or None, analytics_db=analytics_db, anchors=list(anchors),
                        index_interval=index_interval, rebuild_index=rebuild_index)
    serve(settings, host=host, port=port, ready=lambda url: click.echo(f"recorder ui: serving {url} "
                                                                        "(Ctrl-C to stop)", err=True))


# -------------------------------------------------------------------------------------- analytics


USAGE_GROUPS = ("session", "agent", "model", "day", "thread")  # recorder.analytics.queries.GROUPS (checked by a test)
REPORT_FORMATS = ("table", "csv", "json", "parquet")


def _analytics_options(command: Any) -> Any:
    """--db, --analytics-db and --no-update: where the log and its DuckDB read model are, and whether to catch up."""
    command = click.option(
        "--no-update", is_flag=True,
        help="Report from the analytics file as it is, without reading the log first (works without the log).",
    )(command)
    command = click.option(
        "--analytics-db", "analytics_db", envvar="RECORDER_ANALYTICS_DB", metavar="PATH",
        type=click.Path(dir_okay=False),
        help="The analytics DuckDB file (env RECORDER_ANALYTICS_DB; default: beside a SQLite log, else in "
        "~/.cache/recorder/analytics/). A read model: delete it any time, it is rebuilt from the log.",
    )(command)
    return db_option(command)


def _window_options(command: Any) -> Any:
    command = click.option("--until", metavar="TIME", help="Only before TIME (exclusive; same forms as --since).")(
        command)
    return click.option("--since", metavar="TIME",
                        help="Only from TIME: 2026-03-02, 2026-03-02T10:00:00Z, today, yesterday, or 36h, 7d ago.")(
        command)


def _output_options(command: Any) -> Any:
    command = click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True),
                           help="Write to FILE (atomically) instead of standard output ('-'); required for "
                           "parquet.")(command)
    return click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="table", show_default=True,
                        help="table for people; csv, json or parquet for scripts.")(command)


def _analytics_progress() -> Any:
    """A progress callback drawing one line on stderr while a long catch-up runs (terminals only)."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()
    shown = [False]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - started < 1.0 and not shown[0]:
            return
        shown[0] = True
        end = "\n" if done >= total else ""
        click.echo(f"\ranalytics: projected {done:,} of {total:,} log events ({done * 100 // max(total, 1)}%)"
                   + end, err=True, nl=False)

    return progress


def _analytics_notice(message: str) -> None:
    click.echo(f"analytics: {message}", err=True)


def _open_analytics(db_url: str, analytics_db: str | None, no_update: bool) -> Any:
    from recorder.analytics.service import opened

    return opened(db_url, analytics_db, update=not no_update, progress=_analytics_progress(),
                  notice=_analytics_notice)


@cli.command()
@_analytics_options
@click.option("--by", type=click.Choice(USAGE_GROUPS), default="session", show_default=True,
              help="Group by session, the session's agent, the model that served each request, UTC day, or thread.")
@_window_options
@click.option("--prices", "prices_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Your price table (JSON or CSV, per million tokens) to estimate cost next to the platform's "
              "list_cost, with the drift. No price is built in.")
@_output_options
def usage(db_url: str, analytics_db: str | None, no_update: bool, by: str, since: str | None, until: str | None,
          prices_file: str | None, fmt: str, output: str | None) -> None:
    """Tokens, model requests and cost: sums over every span.model_request_end (threads included, each event
    once), cache hit ratio, and the platform's list_cost (from session.usage events and session snapshots).
    Also the outcome grader's tokens (grader_*, from span.outcome_evaluation_end) and, from the latest
    session.usage (the window's increase when bounded), web search/fetch requests, active seconds and cache
    writes by TTL (5 minutes, 1 hour); the table shows those that are not zero.

    \b
    Examples:
      recorder usage                                  # by session, all time
      recorder usage --by day --since 7d
      recorder usage --by model --prices prices.json  # estimate and drift next to list_cost
      recorder usage --by session --format json -o usage.json
      recorder usage --by day --format parquet -o usage.parquet
    """
    from recorder.analytics import prices, queries
    from recorder.analytics.window import window
    from recorder.output import formats as out

    span = window(since, until)
    table = prices.load(prices_file) if prices_file else None
    with _open_analytics(db_url, analytics_db, no_update) as projection:
        report = queries.usage(projection, by, span, table)
    out.write(report, fmt, output)


@cli.command()
@_analytics_options
@click.argument("session_id", required=False)
@click.option("--stats", is_flag=True, help="Per-tool statistics (calls, error rate, p50/p95 duration, wait for "
              "client tool results and confirmations, denials by the user vs by policy, auto judgements) instead "
              "of the calls.")
@_window_options
@_output_options
def tools(db_url: str, analytics_db: str | None, no_update: bool, session_id: str | None, stats: bool,
          since: str | None, until: str | None, fmt: str, output: str | None) -> None:
    """Tool calls (built-in, MCP and custom) in order, each paired with its result (agent.tool_result, the
    client's user.tool_result in self-hosted environments, ...; or none when no result was recorded): a
    session's with SESSION_ID, else every session's. --stats: per-tool statistics.

    \b
    Examples:
      recorder tools sesn_011C...                     # one session's calls
      recorder tools sesn_011C... --format json       # id, name, kind, input, thread_id, result_id, is_error, ...
      recorder tools --stats --since 30d
    """
    from recorder.analytics import queries
    from recorder.analytics.window import window
    from recorder.output import formats as out

    span = window(since, until)
    with _open_analytics(db_url, analytics_db, no_update) as projection:
        if stats:
            report = queries.tool_stats(projection, session_id, span)
        else:
            report = queries.tool_calls(projection, session_id, span)
    out.write(report, fmt, output)


@cli.command()
@_analytics_options
@click.argument("session_id", required=False)
@_window_options
@_output_options
def outcomes(db_url: str, analytics_db: str | None, no_update: bool, session_id: str | None, since: str | None,
             until: str | None, fmt: str, output: str | None) -> None:
    """Outcomes and their grader: each user.define_outcome (description, rubric) with each iteration's verdict
    (satisfied, needs_revision, max_iterations_reached, failed, interrupted), explanation, grader tokens and
    duration: a session's with SESSION_ID, else every session's.

    \b
    Examples:
      recorder outcomes sesn_011C...
      recorder outcomes --since 7d --format json
    """
    from recorder.analytics import queries
    from recorder.analytics.window import window
    from recorder.output import formats as out

    span = window(since, until)
    with _open_analytics(db_url, analytics_db, no_update) as projection:
        report = queries.outcomes(projection, session_id, span)
    out.write(report, fmt, output)


@cli.command()
@_analytics_options
@click.option("--by", type=click.Choice(USAGE_GROUPS), default="model", show_default=True,
              help="Group by model, session, the session's agent, UTC day, or thread.")
@_window_options
@_output_options
def latency(db_url: str, analytics_db: str | None, no_update: bool, by: str, since: str | None, until: str | None,
            fmt: str, output: str | None) -> None:
    """Model request latency (span.model_request_start to _end: p50, p95, p99, max) and time spent per status
    (running, idle, requires_action, rescheduling).

    \b
    Examples:
      recorder latency                  # by model
      recorder latency --by day --since 7d
      recorder latency --by thread --format csv
    """
    from recorder.analytics import queries
    from recorder.analytics.window import window
    from recorder.output import formats as out

    span = window(since, until)
    with _open_analytics(db_url, analytics_db, no_update) as projection:
        report = queries.latency(projection, by, span)
    out.write(report, fmt, output)


@cli.group()
def analytics() -> None:
    """The DuckDB read model behind usage, tools and latency: where it is, catching up, rebuilding, the HTML
    report. It is projected from the event log and can be deleted and rebuilt at any time."""


@analytics.command("status")
@_analytics_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def analytics_status(db_url: str, analytics_db: str | None, no_update: bool, fmt: str) -> None:
    """Where the analytics file is and how far behind the log it is (reads the log's head unless --no-update;
    changes nothing)."""
    from recorder.analytics import status

    info = status.status(db_url, analytics_db, read_log=not no_update)
    if fmt == "json":
        _print_json(info)
    else:
        click.echo(status.describe(info), nl=False)


def _update_summary(path: Any, result: Any) -> None:
    what = "rebuilt" if result.rebuilt == "rebuild" else "projected"
    rate = f" ({result.rate:,.0f} events/s)" if result.rows else ""
    click.echo(f"{what} {result.rows:,} log events in {result.seconds:.1f} s{rate}; {path} is at position "
               f"{result.position:,} of {result.head:,}")
    if result.rebuilt and result.rebuilt != "rebuild":
        _analytics_notice(result.rebuilt)


@analytics.command("update")
@db_option
@click.option("--analytics-db", "analytics_db", envvar="RECORDER_ANALYTICS_DB", metavar="PATH",
              type=click.Path(dir_okay=False), help="The analytics DuckDB file (env RECORDER_ANALYTICS_DB).")
def analytics_update(db_url: str, analytics_db: str | None) -> None:
    """Project the log's new events into the analytics file now (every report does this first anyway)."""
    from recorder.analytics.service import update

    path, result = update(db_url, analytics_db, progress=_analytics_progress())
    _update_summary(path, result)


@analytics.command("rebuild")
@db_option
@click.option("--analytics-db", "analytics_db", envvar="RECORDER_ANALYTICS_DB", metavar="PATH",
              type=click.Path(dir_okay=False), help="The analytics DuckDB file (env RECORDER_ANALYTICS_DB).")
def analytics_rebuild(db_url: str, analytics_db: str | None) -> None:
    """Empty the analytics file and project the whole log again (the tables come out identical)."""
    from recorder.analytics.service import update

    path, result = update(db_url, analytics_db, rebuild=True, progress=_analytics_progress())
    _update_summary(path, result)


@analytics.command("report")
@_analytics_options
@_window_options
@click.option("--prices", "prices_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Your price table, to chart an estimate next to the platform's list cost.")
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True),
              default="usage-report.html",
              show_default=True, help="Where to write the page ('-' for standard output).")
def analytics_report(db_url: str, analytics_db: str | None, no_update: bool, since: str | None, until: str | None,
                     prices_file: str | None, output: str) -> None:
    """A self-contained HTML page (no scripts, works offline) charting tokens, cost and model requests per day,
    cost by agent and model, latency by model, with the top sessions and tools.

    \b
    Example:
      recorder analytics report --since 30d --prices prices.json -o usage.html
    """
    from recorder.analytics import html, prices
    from recorder.analytics.window import window
    from recorder.output import files
    from recorder.store import redact

    span = window(since, until)
    table = prices.load(prices_file) if prices_file else None
    with _open_analytics(db_url, analytics_db, no_update) as projection:
        page = html.render(projection, span, table, source=redact(db_url))
    files.write_text(output, page)
    if not files.is_stdout(output):
        click.echo(f"wrote {output}")


# ------------------------------------------------------------------------------------------- demo


@cli.command()
@db_option
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the emulated sessions.")
@click.option("--live-interval", type=FiniteFloat(min=0.001), default=0.05, show_default=True,
              metavar="SECONDS", help="Pace of the live session (seconds between its steps).")
def demo(db_url: str, seed: int, live_interval: float) -> None:
    """The whole job offline, in one command: start the API emulator, record its sessions (finished ones by
    polling, a live multi-agent one by streaming) through the real SDK into the event log, then print a
    transcript and a usage report rebuilt from the log alone. Safe to run again: nothing is recorded twice."""
    from recorder import progress
    from recorder.demo import run_demo

    observer = progress.Terminal() if sys.stderr.isatty() else progress.Quiet()
    result = run_demo(db_url, seed=seed, live_interval=live_interval, observer=observer)
    if result.failed:
        raise CliError(f"{result.failed} sessions failed to record; see above", 1)


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    """Console entry point (`recorder` and `python -m recorder`). Standard output is guarded: a write that fails
    (a full disk) is one line on stderr and exit 1, also when it happens in --help or in the final flush."""
    sys.stdout = GuardedStream(sys.stdout)
    try:
        try:
            cli(prog_name="recorder")
        finally:
            sys.stdout.flush()
    except StdoutFailed as err:
        silence()
        click.echo(f"recorder: {err}", err=True)
        raise SystemExit(1) from None
