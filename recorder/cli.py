"""The `recorder` command line: a thin click layer over the library.

Only this module imports click. Every command reads the database URL from ``--db`` or ``RECORDER_DB``
(default ``sqlite:///recorder.db``). Exit status: 0 done, 1 error (one line on stderr), 2 usage error,
3 a wall-clock deadline was reached (what was recorded is committed; run the same command again to resume).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from recorder import __version__
from recorder.errors import RecorderError

DEFAULT_DB = "sqlite:///recorder.db"

db_option = click.option(
    "--db",
    "db_url",
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
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"recorder: {self.format_message()}", err=True)


class RecorderGroup(click.Group):
    """The top-level group: turns the library's errors into a one-line message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RecorderError as err:
            raise CliError(str(err), err.exit_code) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise SystemExit(0) from None


@click.group(cls=RecorderGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="recorder")
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


# --------------------------------------------------------------------------------------------- db


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
def db_downgrade(db_url: str, revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes everything)."""
    from recorder.store import migrate

    before, after = migrate.downgrade(db_url, revision)
    click.echo(f"database at {after or 'base'} (was {before or 'empty'})")


@db.command("current")
@db_option
def db_current(db_url: str) -> None:
    """Show the revision the database is at, and the newest this version knows."""
    from recorder.store import migrate

    current = migrate.current(db_url)
    head = migrate.head()
    state = "up to date" if current == head else "needs `recorder db upgrade`"
    click.echo(f"{current or 'empty'} (head {head}: {state})")


@db.command("check")
@db_option
def db_check(db_url: str) -> None:
    """Verify the database is at the newest revision and its schema matches the models (no drift)."""
    from recorder.store import migrate

    migrate.check(db_url)
    click.echo("schema is up to date and matches the models")


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
@click.option("--port", type=int, default=8765, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME[:COUNT][@FAULTS]",
              help="Add COUNT sessions of scenario NAME, optionally with their own faults. Repeatable.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same sessions, ids and events.")
@click.option("--faults", metavar="SPEC", help="Global faults for every request, e.g. rate_limit=2,retry_after=0.5.")
@click.option("--live", is_flag=True, help="Play the --scenario sessions in real time instead of finished.")
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds between live steps.")
@click.option("--events", type=int, help="Length of `long` sessions (default 10000) and approximate length of "
              "`live` ones.")
@click.option("--heartbeat", type=float, default=5.0, show_default=True, help="Seconds between stream pings.")
@click.option("--api-key", help="Accept only this API key (default: any non-empty key).")
def emulator(port: int, host: str, scenarios: tuple[str, ...], seed: int, faults: str | None, live: bool,
             interval: float, events: int | None, heartbeat: float, api_key: str | None) -> None:
    """Serve an offline emulator of the Managed Agents session API (sessions, events, SSE streams, threads,
    files) so that SDK code runs without Anthropic. Prints the base URL; runs until Ctrl-C."""
    from recorder.emulator.command import run

    run(host=host, port=port, scenarios=scenarios, seed=seed, faults=faults, live=live, interval=interval,
        events=events, heartbeat=heartbeat, api_key=api_key, echo=click.echo)


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    """Console entry point (`recorder` and `python -m recorder`)."""
    cli(prog_name="recorder")
