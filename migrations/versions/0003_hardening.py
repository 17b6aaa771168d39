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

import sqlalchemy as sa  # noqa: F401  (used by the sections below)
from alembic import op  # noqa: F401

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


def _upgrade_security() -> None:
    pass


def _downgrade_security() -> None:
    pass
