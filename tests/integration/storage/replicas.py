"""A second replica's storage on the same database (its own engine and connection pool)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from proctor.storage.uow import Storage, open_storage

KEY = bytes(range(32))


def replica_of(storage: Storage, tmp_path: Path) -> Storage:
    url = storage.engine.url.render_as_string(hide_password=False)
    schema = None
    if storage.engine.dialect.name == "postgresql":
        with storage.engine.connect() as conn:
            schema = conn.execute(text("select current_schema()")).scalar_one()
    return open_storage(url, data_dir=tmp_path, master_key=KEY, schema=schema, run_migrations=False)


def open_replica(storage: Storage, tmp_path: Path) -> Iterator[Storage]:
    """Fixture body: the same database as ``storage``, through a second engine."""
    other = replica_of(storage, tmp_path)
    yield other
    other.engine.dispose()
