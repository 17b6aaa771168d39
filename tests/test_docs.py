"""Every command teaches: it has help text, and the README shows it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from recorder.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix} {name}")


def test_every_command_has_help_and_is_in_the_readme() -> None:
    found = list(commands(cli, "recorder"))
    assert len(found) > 25
    undocumented = [name for name, command in found if not (command.help or "").strip()]
    missing = [name for name, _ in found if name not in README]
    assert undocumented == [] and missing == []
