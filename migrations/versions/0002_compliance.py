"""compliance: legal holds, audit trail, pruned ranges, and append-only triggers

The log is append-only in the database itself, on SQLite and on PostgreSQL:

- ``events``, ``session_snapshots``, ``session_files``, ``file_blobs``, ``compliance_audit``, ``pruned_ranges``:
  every UPDATE is refused.
- ``streams``: an UPDATE may only extend a stream — move ``last_seq`` forward with ``head_hash`` equal to the
  ``chain_hash`` of the event at the new ``last_seq`` (what ``EventStore.append`` does); its identity columns never
  change. ``log_head``: ``last_position`` never moves back (except to reset a log holding no events) and the row is
  never deleted.
- DELETE from ``events``, ``streams``, ``sessions``, ``threads``, ``session_snapshots`` and ``session_files`` is
  refused unless the row's session is listed in ``retention_guard`` and is not under legal hold. ``file_blobs``
  rows may be deleted only while ``retention_guard`` holds a row (foreign keys keep a blob in use). Rows of
  ``compliance_audit`` and ``pruned_ranges`` are never deleted.

The bypass (the retention path): ``recorder prune`` inserts its audit entry, then one ``retention_guard`` row per
session it removes, deletes, and deletes the guard rows again, all in one transaction under the log's write lock.
No other transaction ever sees a guard row (SQLite serializes writers; PostgreSQL shows uncommitted rows to no one),
and a committed leftover row is reported by ``recorder verify``. On PostgreSQL the writer and reader roles of
``recorder db roles`` have no privilege on ``retention_guard`` (nor DELETE anywhere), so only the owner can prune.
TRUNCATE and dropping the triggers remain possible for the tables' owner: tamper evidence (``recorder verify``,
anchors) covers what privileges cannot.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "the event log is append-only; only `recorder prune` deletes, and never a session under legal hold"

# Tables whose rows belong to one session (column session_id): deletable only through the retention path.
SESSION_TABLES = ("events", "streams", "sessions", "threads", "session_snapshots", "session_files")
# Tables never updated.
NO_UPDATE = ("events", "session_snapshots", "session_files", "file_blobs", "compliance_audit", "pruned_ranges")
# Tables never deleted from (TRUNCATE by the owner is not a DELETE).
NO_DELETE = ("compliance_audit", "pruned_ranges", "log_head")


def _create_tables() -> None:
    op.create_table(
        "compliance_audit",
        sa.Column("audit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("tool_version", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_compliance_audit")),
    )
    with op.batch_alter_table("compliance_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_audit_session_id"), ["session_id"], unique=False)

    op.create_table(
        "legal_holds",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_by", sa.String(length=255), nullable=False),
        sa.Column("held_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.session_id"], name=op.f("fk_legal_holds_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_legal_holds")),
    )
    op.create_table(
        "pruned_ranges",
        sa.Column("first_position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["compliance_audit.audit_id"], name=op.f("fk_pruned_ranges_audit_id_compliance_audit")
        ),
        sa.PrimaryKeyConstraint("first_position", name=op.f("pk_pruned_ranges")),
    )
    op.create_table(
        "retention_guard",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["compliance_audit.audit_id"], name=op.f("fk_retention_guard_audit_id_compliance_audit")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_retention_guard")),
    )


def _drop_tables() -> None:
    op.drop_table("retention_guard")
    op.drop_table("pruned_ranges")
    op.drop_table("legal_holds")
    with op.batch_alter_table("compliance_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_audit_session_id"))
    op.drop_table("compliance_audit")


# ------------------------------------------------------------------------------------------- SQLite


def _sqlite_statements() -> list[str]:
    def refuse(what: str) -> str:
        return f"BEGIN SELECT RAISE(ABORT, 'recorder: {what} refused: {REFUSED}'); END"

    guarded = (
        "NOT EXISTS (SELECT 1 FROM retention_guard g WHERE g.session_id = OLD.session_id) "
        "OR EXISTS (SELECT 1 FROM legal_holds h WHERE h.session_id = OLD.session_id)"
    )
    statements = [
        f"CREATE TRIGGER recorder_{table}_no_update BEFORE UPDATE ON {table} {refuse(f'UPDATE of {table}')}"
        for table in NO_UPDATE
    ]
    statements += [
        f"CREATE TRIGGER recorder_{table}_no_delete BEFORE DELETE ON {table} {refuse(f'DELETE from {table}')}"
        for table in NO_DELETE
    ]
    statements += [
        f"CREATE TRIGGER recorder_{table}_guard_delete BEFORE DELETE ON {table} WHEN {guarded} "
        f"{refuse(f'DELETE from {table}')}"
        for table in SESSION_TABLES
    ]
    statements.append(
        "CREATE TRIGGER recorder_file_blobs_guard_delete BEFORE DELETE ON file_blobs "
        "WHEN NOT EXISTS (SELECT 1 FROM retention_guard) " + refuse("DELETE from file_blobs")
    )
    statements.append(
        "CREATE TRIGGER recorder_streams_forward_only BEFORE UPDATE ON streams WHEN "
        "NEW.stream_id IS NOT OLD.stream_id OR NEW.session_id IS NOT OLD.session_id "
        "OR NEW.thread_id IS NOT OLD.thread_id OR NEW.stream_key IS NOT OLD.stream_key "
        "OR NEW.created_at IS NOT OLD.created_at OR NEW.last_seq < OLD.last_seq "
        "OR (NEW.last_seq = OLD.last_seq AND NEW.head_hash IS NOT OLD.head_hash) "
        "OR (NEW.last_seq > OLD.last_seq AND NEW.head_hash IS NOT "
        "(SELECT e.chain_hash FROM events e WHERE e.stream_id = NEW.stream_id AND e.seq = NEW.last_seq)) "
        + refuse("UPDATE of streams other than extending a stream")
    )
    statements.append(
        "CREATE TRIGGER recorder_log_head_forward_only BEFORE UPDATE ON log_head WHEN "
        "NEW.id IS NOT OLD.id OR (NEW.last_position < OLD.last_position AND EXISTS (SELECT 1 FROM events)) "
        + refuse("moving log_head back")
    )
    return statements


def _sqlite_trigger_names() -> list[str]:
    names = [f"recorder_{table}_no_update" for table in NO_UPDATE]
    names += [f"recorder_{table}_no_delete" for table in NO_DELETE]
    names += [f"recorder_{table}_guard_delete" for table in (*SESSION_TABLES, "file_blobs")]
    return [*names, "recorder_streams_forward_only", "recorder_log_head_forward_only"]


# --------------------------------------------------------------------------------------- PostgreSQL

_PG_FUNCTIONS = f"""
CREATE FUNCTION recorder_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'recorder: % of % refused: {REFUSED}', TG_OP, TG_TABLE_NAME;
END $$;

CREATE FUNCTION recorder_guard_session_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM recorder_old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM retention_guard g WHERE g.session_id = o.session_id)
           OR EXISTS (SELECT 1 FROM legal_holds h WHERE h.session_id = o.session_id)
    ) THEN
        RAISE EXCEPTION 'recorder: DELETE from % refused: {REFUSED}', TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION recorder_guard_blob_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM retention_guard) THEN
        RAISE EXCEPTION 'recorder: DELETE from % refused: {REFUSED}', TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION recorder_streams_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_id IS DISTINCT FROM OLD.stream_id OR NEW.session_id IS DISTINCT FROM OLD.session_id
       OR NEW.thread_id IS DISTINCT FROM OLD.thread_id OR NEW.stream_key IS DISTINCT FROM OLD.stream_key
       OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.last_seq < OLD.last_seq
       OR (NEW.last_seq = OLD.last_seq AND NEW.head_hash IS DISTINCT FROM OLD.head_hash)
       OR (NEW.last_seq > OLD.last_seq AND NEW.head_hash IS DISTINCT FROM
           (SELECT e.chain_hash FROM events e WHERE e.stream_id = NEW.stream_id AND e.seq = NEW.last_seq)) THEN
        RAISE EXCEPTION 'recorder: UPDATE of streams other than extending a stream refused: {REFUSED}';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION recorder_log_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
       OR (NEW.last_position < OLD.last_position AND EXISTS (SELECT 1 FROM events)) THEN
        RAISE EXCEPTION 'recorder: moving log_head back refused: {REFUSED}';
    END IF;
    RETURN NEW;
END $$;
"""

_PG_FUNCTION_NAMES = (
    "recorder_refuse",
    "recorder_guard_session_delete",
    "recorder_guard_blob_delete",
    "recorder_streams_forward_only",
    "recorder_log_head_forward_only",
)


def _pg_statements() -> list[str]:
    statements = [f"CREATE FUNCTION {body.strip()}" for body in _PG_FUNCTIONS.split("CREATE FUNCTION") if body.strip()]
    statements += [
        f"CREATE TRIGGER recorder_{table}_no_update BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION recorder_refuse()"
        for table in NO_UPDATE
    ]
    statements += [
        f"CREATE TRIGGER recorder_{table}_no_delete BEFORE DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION recorder_refuse()"
        for table in NO_DELETE
    ]
    # One set-based check per DELETE statement (a transition table), not one per row: prune deletes in bulk.
    statements += [
        f"CREATE TRIGGER recorder_{table}_guard_delete AFTER DELETE ON {table} "
        "REFERENCING OLD TABLE AS recorder_old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION recorder_guard_session_delete()"
        for table in SESSION_TABLES
    ]
    statements.append(
        "CREATE TRIGGER recorder_file_blobs_guard_delete BEFORE DELETE ON file_blobs "
        "FOR EACH STATEMENT EXECUTE FUNCTION recorder_guard_blob_delete()"
    )
    statements.append(
        "CREATE TRIGGER recorder_streams_forward_only BEFORE UPDATE ON streams "
        "FOR EACH ROW EXECUTE FUNCTION recorder_streams_forward_only()"
    )
    statements.append(
        "CREATE TRIGGER recorder_log_head_forward_only BEFORE UPDATE ON log_head "
        "FOR EACH ROW EXECUTE FUNCTION recorder_log_head_forward_only()"
    )
    return statements


def upgrade() -> None:
    _create_tables()
    dialect = op.get_bind().dialect.name
    for statement in _sqlite_statements() if dialect == "sqlite" else _pg_statements():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _sqlite_trigger_names():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in _PG_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")  # with the triggers that use it
    _drop_tables()
