"""ui read model: the search index and per-session totals behind `recorder ui`

A rebuildable read model kept in the log's own database (so the database's full-text search can serve it); it is
filled from the event log by ``recorder.store.search.SearchIndex``, never by recording, and may be dropped and
rebuilt at any time (``recorder ui --rebuild-index``):

- ``ui_index_state`` — one row: the global log position the model has caught up to (its checkpoint, written in
  the same transaction as the rows it covers) and the chain hash of the event there, so that a log replaced
  under the model (restored, reset, pruned at that point) is noticed and the model rebuilt.
- ``ui_sessions`` — per session: distinct events, model requests, the four token sums (each event counted once
  however many streams hold it), the latest ``list_cost``, first/last event time, when deleted upstream.
- ``ui_threads`` — the same token sums per (session, thread), for the thread tree of the session viewer.
- ``ui_docs`` — one row per distinct event of a session (``(session_id, event_key)`` unique: that is what counts
  an event once), with ``body``: the searchable text of messages and tool calls (NULL for other events).
- Full text: SQLite an FTS5 external-content table ``ui_fts`` over ``ui_docs.body``; PostgreSQL a generated
  ``tsvector`` column ``ui_docs.tsv`` with a GIN index.

These tables are not in ``recorder.store.schema.metadata`` (the log's models): ``migrations/env.py`` leaves names
starting with ``ui_`` out of the drift check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKENS = ("model_requests", "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def upgrade() -> None:
    op.create_table(
        "ui_index_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),  # of the event at position: a reset log
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ui_index_state"),
    )
    op.create_table(
        "ui_sessions",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in _TOKENS],
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("list_cost", sa.Text(), nullable=True),
        sa.Column("list_cost_value", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=16), nullable=True),
        sa.Column("list_cost_position", sa.BigInteger(), nullable=True),
        sa.Column("first_event_at", sa.DateTime(), nullable=True),
        sa.Column("last_event_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("session_id", name="pk_ui_sessions"),
    )
    for column in ("last_event_at", "tokens", "list_cost_value", "events"):
        op.create_index(f"ix_ui_sessions_{column}", "ui_sessions", [column])
    op.create_table(
        "ui_threads",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("thread_id", sa.String(length=255), nullable=False),  # "" for requests of the session stream
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in _TOKENS],
        sa.PrimaryKeyConstraint("session_id", "thread_id", name="pk_ui_threads"),
    )
    op.create_table(
        "ui_docs",
        sa.Column("doc_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("thread_id", sa.String(length=255), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("doc_id", name="pk_ui_docs"),
        sa.UniqueConstraint("event_key", "session_id", name="uq_ui_docs_event_key_session_id"),
    )
    op.create_index("ix_ui_docs_session_id_position", "ui_docs", ["session_id", "position"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ui_docs ADD COLUMN tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', coalesce(body, ''))) STORED")
        op.execute("CREATE INDEX ix_ui_docs_tsv ON ui_docs USING gin (tsv)")
    else:
        op.execute("CREATE VIRTUAL TABLE ui_fts USING fts5(body, content='ui_docs', content_rowid='doc_id', "
                   "tokenize='unicode61 remove_diacritics 2')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS ui_fts")
    op.drop_index("ix_ui_docs_session_id_position", "ui_docs")
    op.drop_table("ui_docs")
    op.drop_table("ui_threads")
    for column in ("last_event_at", "tokens", "list_cost_value", "events"):
        op.drop_index(f"ix_ui_sessions_{column}", "ui_sessions")
    op.drop_table("ui_sessions")
    op.drop_table("ui_index_state")
