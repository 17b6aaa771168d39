"""Start-up cost: a command imports only what it uses (issue 15: ``anthropic`` alone costs about 0.95 s).

``--help`` of every command, and the commands that only read the log, import neither the SDK and its HTTP stack
nor DuckDB, the web stack or the templates; ``importlib.metadata`` (about 0.1 s) only for ``--version``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("anthropic", "httpx", "httpx2", "duckdb", "starlette", "uvicorn", "jinja2", "pydantic")

EVERY_HELP = """
import json, sys
import click
from recorder.cli import cli

def walk(command, path):
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, [*path, name])

for path in walk(cli, []):
    try:
        cli.main([*path, "--help"], prog_name="recorder", standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in HEAVY or name == "importlib.metadata")))
"""

COMMAND = """
import json, runpy, sys
sys.argv = ["recorder", *sys.argv[1:]]
try:
    runpy.run_module("recorder", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules if name.split(".")[0] in HEAVY})))
"""


def _heavy(script: str, *args: str) -> list[str]:
    code = f"HEAVY = {HEAVY!r}\n" + script
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_of_every_command_imports_nothing_heavy() -> None:
    assert _heavy(EVERY_HELP) == []


@pytest.mark.parametrize("args", [["sessions"], ["events", "sesn_x"], ["transcript", "sesn_x"], ["verify"],
                                  ["record", "--help"], ["usage", "--help"]])
def test_commands_that_only_read_the_log_import_no_sdk(sqlite_url: str, args: list[str]) -> None:
    assert _heavy(COMMAND, *args, "--db", sqlite_url) == []


def test_version_still_says_the_version(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "recorder", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("recorder, version ")
