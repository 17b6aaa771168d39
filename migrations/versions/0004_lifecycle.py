"""lifecycle: each session's state in the log (active, settled, closed, deleted) and webhook deliveries

``session_lifecycle`` holds what the API last said about a session when it was recorded (status, ``updated_at``,
``archived_at``), so ``record --all`` can skip sessions that did not change, and when it was found deleted
upstream. ``webhook_deliveries`` keeps every accepted webhook by its ``webhook-id`` before it is acknowledged.
See ``recorder.store.schema``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_lifecycle",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("upstream_status", sa.String(length=32), nullable=True),
        sa.Column("upstream_updated_at", sa.DateTime(), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_lifecycle")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_handled_at"), "webhook_deliveries", ["handled_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_deliveries_handled_at"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("session_lifecycle")
