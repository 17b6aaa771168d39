"""Opening the event log read-only: for every command that only reads (verify, events, transcript, sessions, usage,
tools, latency, export, anchor, replay, serve, audit, hold list, ...).

Verifying an archive copy on read-only media is a compliance use case, and a reader should not be able to change
the log by mistake. SQLite: the file is opened through a URI with ``mode=ro``, so SQLite never tries to create it,
write it or take a write lock. A WAL database also needs its ``-shm`` index, which a reader creates when it is
missing; on a read-only directory or medium it cannot, so there the file is opened ``immutable=1`` (no locks, no
index). That is safe because no writer can be active: a WAL writer always has the ``-shm`` file beside the
database, and nothing can create one on that medium. PostgreSQL: every transaction is READ ONLY
(``default_transaction_read_only``), so a reader's connection cannot write even with a writer's role.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import URL

from recorder.errors import ConfigError, SchemaError, StoreUnavailable


def sqlite_read_only_url(url: URL) -> URL:
    """``sqlite:///path`` as a read-only URI (``file:path?mode=ro``, or ``immutable=1`` on read-only media)."""
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser().resolve()
    if not path.parent.is_dir():
        raise StoreUnavailable(f"cannot open SQLite database {database}: directory {path.parent} does not exist")
    if not path.exists():
        raise SchemaError(f"there is no event log at {database}; create it with `recorder db upgrade`")
    if path.is_dir():
        raise ConfigError(f"{database} is a directory, not a SQLite database file")
    shm = path.with_name(path.name + "-shm")
    immutable = not shm.exists() and not _writable(path.parent)
    wal = path.with_name(path.name + "-wal")
    if immutable and wal.exists() and wal.stat().st_size > 0:
        raise StoreUnavailable(f"cannot read {database} on a read-only medium: its write-ahead log {wal.name} has "
                               "changes not yet in the file; copy it again after `sqlite3 FILE 'PRAGMA "
                               "wal_checkpoint(TRUNCATE)'` on a writable copy")
    query = {"mode": "ro", "uri": "true", **({"immutable": "1"} if immutable else {})}
    return url.set(database=f"file:{quote(str(path))}", query=query)


def _writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (false on a read-only mount even for root, unlike
    ``os.access`` with permissions alone, which root bypasses)."""
    if not os.access(directory, os.W_OK):
        return False
    try:
        stat = os.statvfs(directory)
    except OSError:
        return False
    return not stat.f_flag & os.ST_RDONLY


def postgres_read_only_args(connect_args: dict[str, Any]) -> dict[str, Any]:
    args = dict(connect_args)
    args["options"] = (args.get("options", "") + " -c default_transaction_read_only=on").strip()
    return args
