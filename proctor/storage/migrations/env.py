"""Alembic environment: always run programmatically with a connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from proctor.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - CLI use without a connection is not supported
    raise RuntimeError("run migrations through proctor.storage.db.migrate(engine)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
