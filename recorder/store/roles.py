"""PostgreSQL roles for the log: a writer (what ``recorder record`` needs, nothing more) and a reader.

:func:`role_statements` is the DDL; :func:`grant_roles` runs it (``recorder db roles``).
"""

from __future__ import annotations

import re

from recorder.errors import ConfigError
from recorder.store.sql import make_engine, translated

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# What the recorder's writer needs: read everything, append events, extend streams and the log head (the triggers
# allow nothing else), keep the recorder's own bookkeeping (sessions, threads, snapshots, checkpoints, runs, leases,
# files). No DELETE anywhere, no TRUNCATE, no DDL; holds, the audit trail and the retention guard are read-only.
WRITER_TABLE_PRIVILEGES = {
    "events": "SELECT, INSERT",
    "streams": "SELECT, INSERT, UPDATE",
    "log_head": "SELECT, UPDATE",
    "sessions": "SELECT, INSERT, UPDATE",
    "threads": "SELECT, INSERT, UPDATE",
    "checkpoints": "SELECT, INSERT, UPDATE",
    "session_snapshots": "SELECT, INSERT",
    "recording_runs": "SELECT, INSERT, UPDATE",
    "leases": "SELECT, INSERT, UPDATE",
    "session_files": "SELECT, INSERT",
    "file_blobs": "SELECT, INSERT",
    "legal_holds": "SELECT",
    "compliance_audit": "SELECT",
    "pruned_ranges": "SELECT",
    "retention_guard": "SELECT",
    "alembic_version": "SELECT",
}


def role_statements(writer: str, reader: str) -> list[str]:
    """SQL creating (if missing) the NOLOGIN roles ``writer`` and ``reader`` and granting their privileges on the
    current database. Grant them to login roles: ``GRANT recorder_writer TO alice``."""
    for name in (writer, reader):
        if not ROLE_NAME.fullmatch(name):
            raise ConfigError(f"bad role name {name!r}: use lowercase letters, digits and _")
    if writer == reader:
        raise ConfigError("the writer and reader roles must differ")
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} NOLOGIN; END IF; END $$"
        for name in (writer, reader)
    ]
    tables = sorted(WRITER_TABLE_PRIVILEGES)
    statements.append(f"REVOKE ALL ON {', '.join(tables)} FROM {writer}, {reader}")
    statements += [f"GRANT {privileges} ON {table} TO {writer}" for table, privileges in
                   sorted(WRITER_TABLE_PRIVILEGES.items())]
    statements.append(f"GRANT SELECT ON {', '.join(tables)} TO {reader}")
    statements.append(
        f"GRANT USAGE ON SEQUENCE streams_stream_id_seq, recording_runs_run_id_seq, "
        f"session_snapshots_snapshot_id_seq TO {writer}"
    )
    statements.append(f"GRANT USAGE ON SCHEMA public TO {writer}, {reader}")
    return statements


def grant_roles(url: str, writer: str, reader: str) -> list[str]:
    """Run :func:`role_statements` on the PostgreSQL database at ``url`` (as its owner); returns the statements."""
    statements = role_statements(writer, reader)
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise ConfigError("database roles exist on PostgreSQL only; a SQLite log is protected by file permissions")
        with translated(url), engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return statements

