"""events: drop the index on ``type``

Every append wrote five B-trees per event; the one on ``type`` served no query well. Reads filtered by type are
reads of one stream (``stream_id`` and ``seq`` lead, through the ``(stream_id, seq)`` key), and reports by type
read the analytics model, not the log. Dropping it makes each append about a tenth cheaper on SQLite (measured in
``make bench``, ``store``), and frees its space.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_type", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_type", "events", ["type"], unique=False)
