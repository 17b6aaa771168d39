"""Where the analytics DuckDB file lives.

It is a read model: deleting it loses nothing (the next report rebuilds it from the log). In order:

1. ``--analytics-db PATH`` or the ``RECORDER_ANALYTICS_DB`` environment variable;
2. for a SQLite log in a file, beside it: ``recorder.db`` -> ``recorder.analytics.duckdb``;
3. otherwise (PostgreSQL, in-memory SQLite), in the user's cache directory:
   ``$XDG_CACHE_HOME/recorder/analytics/<host>-<port>-<database>-<hash>.duckdb`` (``~/.cache`` by default),
   the hash telling apart logs whose URLs differ only in user or options.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from recorder.store import parse_url, redact

ENV_VAR = "RECORDER_ANALYTICS_DB"
SUFFIX = ".analytics.duckdb"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recorder" / "analytics"


def default_path(db_url: str) -> Path:
    """The analytics file for the event log at ``db_url`` when neither an option nor the env var names one."""
    url = parse_url(db_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        log = Path(database).expanduser()
        stem = log.name[: -len(log.suffix)] if log.suffix in (".db", ".sqlite", ".sqlite3") else log.name
        return log.with_name(stem + SUFFIX)
    digest = hashlib.sha256(redact(url).encode("utf-8")).hexdigest()[:10]
    parts = [url.host or "local", str(url.port or ""), database or "memory"]
    name = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts if part)
    return cache_dir() / f"{name}-{digest}.duckdb"


def resolve(db_url: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The analytics file to use: ``explicit``, else ``$RECORDER_ANALYTICS_DB``, else :func:`default_path`."""
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    return default_path(db_url)
