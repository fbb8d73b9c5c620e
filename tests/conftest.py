"""Shared fixtures. Every test starts from an empty, migrated database.

The database is SQLite in a temporary folder, or the PostgreSQL server named by
``TOPMATCH_TEST_DATABASE_URL`` (``scripts/with-postgres.sh`` sets it). Migrations run once
per session; between tests every table is emptied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from tests.factories import FrozenClock
from topmatch import db
from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role
from topmatch.app import create_app
from topmatch.cardbox.crypto import BsnVault
from topmatch.identity import service as identity
from topmatch.models import metadata
from topmatch.settings import Settings, load_settings

PG_URL = os.environ.get("TOPMATCH_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own TOPMATCH_* settings."""
    for name in list(os.environ):
        if name.startswith("TOPMATCH_") and name != "TOPMATCH_TEST_DATABASE_URL":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'topmatch.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    yield migrated_engine
    with migrated_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # Append-only tables refuse DELETE by trigger: lift the triggers for the clean-up.
            triggers = connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name LIKE 'ledger_%'"
                )
            ).all()
            for name, _ in triggers:
                connection.execute(text(f'DROP TRIGGER "{name}"'))
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
            for _, sql in triggers:
                connection.execute(text(sql))
            connection.execute(text("DELETE FROM sqlite_sequence"))  # AUTOINCREMENT counters


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clock: FrozenClock) -> Settings:
    overrides = {
        "data_dir": tmp_path / "node",
        "database_url": database_url,
        "sync_interval_seconds": 0,
    }  # tests sync explicitly, never in the background
    s = load_settings(**overrides)
    identity.create_identity(
        settings=s,
        node_id="baanbrekers",
        name="Baanbrekers",
        url="http://127.0.0.1:8001",
        now=clock(),
        force=False,
    )
    return load_settings(**overrides)


@pytest.fixture
def vault(settings: Settings) -> BsnVault:
    return BsnVault(identity.load_cardbox_secret(settings))


@pytest.fixture
def client(settings: Settings, engine: Engine, clock: FrozenClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, migrate=False)
    with TestClient(app) as c:
        yield c


def _token(engine: Engine, name: str, role: Role, clock: FrozenClock) -> dict[str, str]:
    with db.transaction(engine) as s:
        _, token = accounts.add_user(session=s, name=name, role=role, now=clock())
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def consultant(engine: Engine, clock: FrozenClock) -> dict[str, str]:
    return _token(engine, "jobcoach-anna", Role.consultant, clock)


@pytest.fixture
def admin(engine: Engine, clock: FrozenClock) -> dict[str, str]:
    return _token(engine, "beheerder", Role.admin, clock)


@pytest.fixture
def finance(engine: Engine, clock: FrozenClock) -> dict[str, str]:
    return _token(engine, "financien", Role.finance, clock)
