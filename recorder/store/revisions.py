"""The schema revisions this recorder knows, and the check that a database is at the newest: without alembic.

Every command that opens the log checks its revision (:func:`require_head`), but only ``recorder db`` changes the
schema. alembic (with Mako and Pygments behind it) costs a command about half a second to import, so this check
reads the scripts' ``revision``/``down_revision`` lines itself and the database's ``alembic_version`` row with one
query; :mod:`recorder.store.migrate`, which runs alembic, is imported only by what migrates. A test keeps the two
readings of the scripts the same (``tests/store/test_revisions.py``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import Connection, inspect, text

from recorder.errors import SchemaError
from recorder.store.sql import redact

VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"^revision\s*(?::[^=\n]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=\n]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def _migrations_dir() -> Path:
    """Where the alembic scripts are: ``recorder/migrations`` in an installed wheel (the distribution maps the
    checkout's top-level ``migrations/`` there), else the checkout's ``migrations/`` (source tree, editable install).
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    return package.parent / "migrations"


MIGRATIONS_DIR = _migrations_dir()


@functools.cache
def graph() -> dict[str, tuple[str, ...]]:
    """Each revision of the scripts in ``migrations/versions`` with the revisions it follows."""
    versions = MIGRATIONS_DIR / "versions"
    if not versions.is_dir():
        raise SchemaError(f"migration scripts not found at {MIGRATIONS_DIR}; reinstall the recorder")
    found: dict[str, tuple[str, ...]] = {}
    for script in sorted(versions.glob("*.py")):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            continue  # not a revision script
        found[revision.group(1)] = tuple(_QUOTED.findall(down.group(1)))
    return found


def known() -> set[str]:
    """Every revision this version of the recorder knows."""
    return set(graph())


def head() -> str:
    """The newest revision this version of the recorder knows."""
    revisions = graph()
    followed = {parent for parents in revisions.values() for parent in parents}
    heads = sorted(set(revisions) - followed)
    if len(heads) != 1:
        raise SchemaError(f"migration scripts have {len(heads)} heads ({', '.join(heads)}); merge them")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """The database's revision (None when it has none: an empty database)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise SchemaError(f"the database has {len(rows)} schema revisions ({', '.join(rows)}); merge them with "
                          "`recorder db upgrade`")
    return str(rows[0]) if rows else None


def require_head(connection: Connection, url: str) -> None:
    """Raise SchemaError unless the database behind ``connection`` is at this version's head."""
    have = current_revision(connection)
    want = head()
    if have is None:
        raise SchemaError(f"{redact(url)} has no event log schema; run `recorder db upgrade`")
    if have != want:
        if have not in known():
            raise SchemaError(
                f"{redact(url)} is at revision {have}, newer than this recorder knows; upgrade the recorder"
            )
        raise SchemaError(f"{redact(url)} is at revision {have}, this recorder needs {want}; run `recorder db upgrade`")
