"""alembic environment for the event log.

Run through `recorder db upgrade|current|check` (recorder.store.migrate), which hands us an open connection
in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from recorder.store import metadata

config = context.config


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave the UI's read model (``ui_*`` tables, migration 0005; not in the models) out of the drift check."""
    return not (type_ == "table" and name is not None and name.startswith("ui_"))


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `recorder db upgrade`, which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported; run `recorder db upgrade`")
run_migrations()
