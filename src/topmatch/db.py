"""Database engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys enforced; PostgreSQL is
used by URL (``postgresql+psycopg://``). The schema is created and changed only by the
Alembic migrations in :mod:`topmatch.migrations`.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from topmatch.errors import ConfigurationError

MIGRATIONS = "topmatch:migrations"

# Database objects made by migrations for one backend only (full-text search); they are not
# in the SQLModel metadata, so schema comparisons must not see them as drift.
UNMODELLED = ("matching_fts", "search_vector", "ix_federation_summary_search_vector")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic hook: leave the backend-specific full-text objects out of comparisons."""
    del obj, type_, reflected, compare_to
    return not (name or "").startswith(UNMODELLED)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; an SQLite file's folder is created when missing."""
    try:
        parsed = make_url(url)
    except Exception as e:
        raise ConfigurationError(f"invalid database URL: {e}") from e
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigurationError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        # The file holds personal data in clear: only the node's own user may read it.
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not Path(database).exists():
            Path(database).touch(mode=0o600)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def refresh_statistics(engine: Engine) -> None:
    """Let SQLite's planner know the replica's shape (ANALYZE).

    Without statistics SQLite guesses, and for ranking queries it guessed a full scan of
    the replica instead of the covering index (docs/benchmarks.md). PostgreSQL's autovacuum
    keeps its own statistics, so this does nothing there.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE federation_summary")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["engine"] = engine
    return config


MIGRATION_LOCK = 0x746F706D61746368  # "topmatch": one migrating process at a time


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent).

    Concurrent starters (several uvicorn workers on a new database) take turns: on
    PostgreSQL through a session advisory lock, on a SQLite file through an exclusive lock
    on ``<database>.migrate.lock``; whoever comes second finds the migration done.
    """
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        # autocommit: the holder never sits idle in a transaction, which a server's
        # idle_in_transaction_session_timeout would end, taking the lock with it
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                yield
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
