"""The head check every store makes on opening reads the migration scripts without alembic
(recorder/store/revisions.py): it must agree with alembic's reading, refuse what alembic would, and keep alembic
out of the commands that only record or read."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from recorder.errors import SchemaError
from recorder.store import EventStore, revisions


def test_the_scripts_read_without_alembic_agree_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(revisions.MIGRATIONS_DIR))
    alembic_graph = {}
    for rev in script.walk_revisions():
        down = rev.down_revision
        alembic_graph[rev.revision] = tuple(down) if isinstance(down, (list, tuple)) else ((down,) if down else ())
    assert revisions.graph() == alembic_graph
    assert [revisions.head()] == list(script.get_heads())
    assert revisions.known() == {rev.revision for rev in script.walk_revisions()}


@contextlib.contextmanager
def _revision_set_to(url: str, revision: str) -> Iterator[None]:
    """The database's recorded revision changed for the block (the PostgreSQL database is shared by the tests)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revisions.head()})
        engine.dispose()


def test_a_database_at_an_older_revision_is_refused_with_the_upgrade_to_run(backend_url: str) -> None:
    with _revision_set_to(backend_url, "0001"), pytest.raises(
            SchemaError, match=r"at revision 0001, this recorder needs 0006; run `recorder db upgrade`"):
        EventStore(backend_url)


def test_a_database_newer_than_the_recorder_says_to_upgrade_the_recorder(backend_url: str) -> None:
    with _revision_set_to(backend_url, "9999"), pytest.raises(
            SchemaError, match=r"at revision 9999, newer than this recorder knows; upgrade the recorder"):
        EventStore(backend_url)


def test_two_heads_in_the_scripts_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision: str = "a"\ndown_revision: str | None = None\n')
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (versions / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n")
    monkeypatch.setattr(revisions, "MIGRATIONS_DIR", tmp_path)
    revisions.graph.cache_clear()
    try:
        assert revisions.graph() == {"a": (), "b": ("a",), "c": ("a",)}
        with pytest.raises(SchemaError, match=r"2 heads \(b, c\); merge them"):
            revisions.head()
    finally:
        revisions.graph.cache_clear()


def test_recording_and_reading_do_not_import_alembic(sqlite_url: str) -> None:
    """alembic (with Mako and Pygments) is about half a second of every command's start: only `recorder db`
    pays it."""
    probe = (
        "import sys\n"
        "import recorder.cli, recorder.record, recorder.store\n"
        "from recorder.store import EventStore\n"
        f"with EventStore({sqlite_url!r}) as store:\n"
        "    store.head_position()\n"
        "print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
