"""The built distribution works on its own: a wheel carries the migrations, installs into a fresh venv, and
`recorder db upgrade` runs there against a new SQLite file. It claims only the import name `recorder`.

No network: the wheel is built without build isolation (setuptools and wheel come from the dev extra), installed
with ``--no-deps``, and the fresh venv sees this venv's dependencies through a ``.pth`` line.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# checkout folder -> where it lives in an installed distribution
MAPPED = {"recorder": "recorder", "analytics": "recorder/analytics", "migrations": "recorder/migrations"}


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the checkout (setuptools writes build/ next to the sources)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in MAPPED:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, ".", cwd=source)
    (built,) = out.glob("session_recorder-*.whl")
    return built


def test_the_wheel_carries_every_module_under_the_recorder_name(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"{MAPPED[folder]}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder in MAPPED
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".mako"} and "__pycache__" not in path.parts
    }
    assert expected - names == set()
    assert "recorder/migrations/env.py" in names
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"recorder"}  # no generic top-level `analytics` (or `migrations`)


def test_the_installed_wheel_upgrades_a_new_database(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    asked = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path)
    purelib = Path(asked.stdout.strip())
    # The dependencies come from this venv (no network); `recorder` itself only from the wheel.
    deps = [path for path in [*site.getsitepackages(), sysconfig.get_path("purelib")] if Path(path).is_dir()]
    (purelib / "_recorder_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel, cwd=tmp_path)

    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "RECORDER_DB"}}
    located = _run(python, "-c", "import recorder, recorder.analytics; print(recorder.__file__)", cwd=tmp_path, env=env)
    assert located.stdout.strip().startswith(str(purelib))
    probe = "import importlib.util; print(importlib.util.find_spec('analytics'))"
    claimed = _run(python, "-c", probe, cwd=tmp_path, env=env)
    assert claimed.stdout.strip() == "None"

    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgraded = _run(venv / "bin" / "recorder", "db", "upgrade", "--db", url, cwd=tmp_path, env=env)
    assert "(was empty)" in upgraded.stdout
    current = _run(venv / "bin" / "recorder", "db", "current", "--db", url, cwd=tmp_path, env=env)
    assert "up to date" in current.stdout
