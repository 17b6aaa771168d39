"""A reusable check that secrets never reach the log, its exports or its logs.

``find_secrets(url, secrets, paths)`` scans every text and binary column of every table of the database at ``url``
and every file under ``paths`` (files or directories: export bundles, log files, captured output), Parquet files
decoded, for each secret as written, JSON-escaped and UTF-8 encoded. It returns one line per finding
(``table.column`` with the row's key, or the file), so a test asserts ``find_secrets(...) == []``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import MetaData, create_engine, select


def _needles(secrets: Iterable[str]) -> list[tuple[str, bytes]]:
    out = []
    for secret in secrets:
        if not secret:
            raise ValueError("an empty secret would match everything")
        for form in dict.fromkeys((secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1])):
            out.append((secret, form.encode("utf-8", "surrogatepass")))
    return out


def _hits(value: Any, needles: list[tuple[str, bytes]]) -> set[str]:
    if value is None or isinstance(value, int | float | bool):
        return set()
    if isinstance(value, memoryview | bytearray):
        value = bytes(value)
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    return {secret for secret, needle in needles if needle in data}


def _database(url: str, needles: list[tuple[str, bytes]]) -> Iterator[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                key = list(table.primary_key.columns) or list(table.columns)[:1]
                rows = conn.execution_options(stream_results=True, yield_per=1000).execute(select(table))
                for row in rows.mappings():
                    for column, value in row.items():
                        for secret in sorted(_hits(value, needles)):
                            where = ", ".join(f"{k.name}={row[k.name]!r}" for k in key)
                            yield f"{secret!r} in {table.name}.{column} ({where})"
    finally:
        engine.dispose()


def _files(paths: Iterable[Path | str], needles: list[tuple[str, bytes]]) -> Iterator[str]:
    for base in map(Path, paths):
        for path in sorted([base] if base.is_file() else (p for p in base.rglob("*") if p.is_file())):
            found = _hits(path.read_bytes(), needles)
            if path.suffix == ".parquet":  # compressed: look at the decoded values
                with duckdb.connect() as con:
                    target = str(path).replace("'", "''")
                    for row in con.execute(f"SELECT * FROM read_parquet('{target}')").fetchall():
                        for value in row:
                            found |= _hits(value, needles)
            for secret in sorted(found):
                yield f"{secret!r} in file {path}"


def find_secrets(url: str | None, secrets: Iterable[str], paths: Iterable[Path | str] = ()) -> list[str]:
    """Every place one of ``secrets`` appears in the database at ``url`` (None: skip) and the files under
    ``paths``."""
    needles = _needles(secrets)
    found = list(_database(url, needles)) if url else []
    return found + list(_files(paths, needles))
