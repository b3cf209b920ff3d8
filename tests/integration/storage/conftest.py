"""Storage fixtures: every test runs on SQLite, and on PostgreSQL when
``PROCTOR_TEST_POSTGRES_URL`` is set (each test in its own schema)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from proctor.storage.uow import Storage, open_storage

PG_ENV = "PROCTOR_TEST_POSTGRES_URL"
KEY = bytes(range(32))


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.db),
        pytest.param("postgres", marks=[pytest.mark.db, pytest.mark.postgres]),
    ]
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite":
        st = open_storage(f"sqlite:///{tmp_path / 'proctor.db'}", data_dir=tmp_path, master_key=KEY)
        yield st
        st.engine.dispose()
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL storage tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    st = open_storage(url, data_dir=tmp_path, master_key=KEY, schema=schema)
    try:
        yield st
    finally:
        st.engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
