"""hardening (issue 14): ingest robustness and security

Two independent sections, kept apart so two engineers can fill them in without conflicts:

- ``# --- ingest ---``: schema for the recorder's ingest hardening (tombstones of pruned sessions, etc.).
- ``# --- security ---``: schema for the security hardening (legal-hold triggers, scrubbed paths, etc.).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- ingest ---
    _upgrade_ingest()
    # --- security ---
    _upgrade_security()


def downgrade() -> None:
    # --- security ---
    _downgrade_security()
    # --- ingest ---
    _downgrade_ingest()


# --- ingest ---


def _upgrade_ingest() -> None:
    pass


def _downgrade_ingest() -> None:
    pass


# --- security ---


# Legal holds are protected like the log (0002 left them open to a plain DELETE: a held session could then be
# pruned and `verify` passed). A hold row is never updated; it is deleted only by the documented release path,
# `recorder hold remove`, which first appends its `release` audit entry for that session in the same transaction:
# a DELETE is refused unless the newest audit entry is a release of that very session. `verify` also replays the
# audit trail's holds and releases and fails when a hold it records has vanished.

_HOLD_REFUSED = ("legal holds are changed only by `recorder hold add` / `recorder hold remove`, which record them "
                 "in the audit trail")
_HOLD_RELEASED = ("EXISTS (SELECT 1 FROM compliance_audit a WHERE a.audit_id = (SELECT max(audit_id) FROM "
                  "compliance_audit) AND a.action = 'release' AND a.session_id = OLD.session_id)")


def _upgrade_security() -> None:
    # Which JSON pointers of an event the recorder scrubbed (recorder.ingest.scrub): the record says what it altered.
    op.add_column("events", sa.Column("scrubbed", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER recorder_legal_holds_no_update BEFORE UPDATE ON legal_holds BEGIN "
                   f"SELECT RAISE(ABORT, 'recorder: UPDATE of legal_holds refused: {_HOLD_REFUSED}'); END")
        op.execute(f"CREATE TRIGGER recorder_legal_holds_guard_delete BEFORE DELETE ON legal_holds WHEN NOT "
                   f"{_HOLD_RELEASED} BEGIN "
                   f"SELECT RAISE(ABORT, 'recorder: DELETE from legal_holds refused: {_HOLD_REFUSED}'); END")
    else:
        op.execute(f"""
CREATE FUNCTION recorder_guard_legal_holds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR NOT {_HOLD_RELEASED} THEN
        RAISE EXCEPTION 'recorder: % of legal_holds refused: {_HOLD_REFUSED}', TG_OP;
    END IF;
    RETURN OLD;
END $$""")
        op.execute("CREATE TRIGGER recorder_legal_holds_guard BEFORE UPDATE OR DELETE ON legal_holds "
                   "FOR EACH ROW EXECUTE FUNCTION recorder_guard_legal_holds()")


def _downgrade_security() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS recorder_legal_holds_guard_delete")
        op.execute("DROP TRIGGER IF EXISTS recorder_legal_holds_no_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS recorder_legal_holds_guard ON legal_holds")
        op.execute("DROP FUNCTION IF EXISTS recorder_guard_legal_holds()")
    # Not a batch operation: on SQLite that would copy the table and lose its append-only triggers.
    op.execute("ALTER TABLE events DROP COLUMN scrubbed")
