"""Engines and migrations.

SQLite (the default) gets, on every connection: WAL, ``synchronous=FULL``,
foreign keys, a busy timeout and ``secure_delete``; every transaction starts
with ``BEGIN IMMEDIATE`` so read-then-write units of work never fail with
SQLITE_BUSY on upgrade. PostgreSQL is used through its URL; an optional schema
is put on the ``search_path``. Alembic migrations run programmatically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///var/proctor.db"
BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA secure_delete=ON",
)
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url_from_env(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    return env.get("PROCTOR_DATABASE_URL", DEFAULT_URL)


def owner_only_sqlite(path: Path) -> None:
    """Create the SQLite file owner-only (0600; a new folder 0700) before SQLite opens it.
    SQLite gives its -wal and -shm files the database file's permissions (issue 17:
    ``proctor.db`` was world-readable)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # an older, world-readable file is tightened


def make_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            owner_only_sqlite(Path(db))
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "isolation_level": None},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(pragma)
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe to call at every start)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def sqlite_settings(engine: Engine) -> dict[str, Any]:
    """The pragmas as read back from a live connection (for start-up assertions and tests)."""
    with engine.connect() as conn:
        return {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
