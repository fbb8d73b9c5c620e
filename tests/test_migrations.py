"""Migrations build the whole schema from empty, on SQLite and PostgreSQL, with no drift."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, text
from sqlalchemy.engine import make_url

from topmatch import db
from topmatch.models import metadata


@pytest.fixture
def empty_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A brand-new, empty database of the kind under test."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    name = f"tm_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = db.make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_engine: Engine) -> None:
    db.upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": db.include_object}
        )
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_empty_and_up_again(empty_engine: Engine) -> None:
    db.upgrade(empty_engine)
    db.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(empty_engine)
    db.upgrade(empty_engine)  # idempotent
    assert "cardbox_client" in inspect(empty_engine).get_table_names()


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'sub' / 'node.db'}")
    with engine.connect() as c:
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_concurrent_starters_migrate_once(empty_engine: Engine) -> None:
    """Several uvicorn workers start on an empty database at once: all come up."""
    import threading  # noqa: PLC0415

    problems: list[BaseException] = []

    def start() -> None:
        try:
            db.upgrade(empty_engine)
        except BaseException as e:
            problems.append(e)

    starters = [threading.Thread(target=start) for _ in range(4)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join(timeout=120)
    assert problems == []
    assert "ledger_entry" in inspect(empty_engine).get_table_names()


def test_proposals_pending_before_the_outbox_get_their_message(empty_engine: Engine) -> None:
    """0011: the ledger round no longer resends proposals; one still pending at the
    upgrade is queued in the outbox, once (a refused or countersigned one is not)."""
    db.upgrade(empty_engine, "0010")
    with empty_engine.begin() as c:
        for entry_id, status in (("a" * 64, "pending"), ("b" * 64, "countersigned")):
            c.execute(
                text(
                    "INSERT INTO ledger_proposal (entry_id, counterparty, signed, status, "
                    "created_at, updated_at) VALUES (:e, 'bravo', :b, :s, :t, :t)"
                ),
                {"e": entry_id, "b": b'{"entry_id": 1}', "s": status, "t": "2026-12-01 10:00:00"},
            )
    db.upgrade(empty_engine)
    with empty_engine.connect() as c:
        rows = c.execute(
            text("SELECT peer, kind, path, body, reference, state FROM federation_outbox")
        ).all()
    assert [tuple(r) for r in rows] == [
        (
            "bravo",
            "ledger.proposal",
            "/federation/v1/ledger/proposals",
            b'{"entry_id": 1}',
            "a" * 64,
            "queued",
        )
    ]


def test_0012_fills_the_client_hours_range_from_the_old_figure(empty_engine: Engine) -> None:
    """A client recorded at 36 hours becomes 36-36; one without hours stays without."""
    db.upgrade(empty_engine, "0011")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    clients = Table("cardbox_client", MetaData(), autoload_with=empty_engine)
    row = {
        "version": 1, "created_at": now, "updated_at": now, "first_name": "A",
        "name_prefix": "", "last_name": "B", "bsn_encrypted": b"x",
        "date_of_birth": date(1990, 1, 1), "phone": "", "email": "", "street": "",
        "house_number": "", "postcode": "1234AB", "city": "", "municipality": "Waalwijk",
        "benefit_type": "ww", "doelgroepregister": False, "skills": [],
        "desired_occupations": [], "max_travel_km": None, "languages": [],
        "driving_licences": [], "consent_share_profile": False, "notes": "",
        "status": "active",
    }  # fmt: skip
    with empty_engine.begin() as connection:
        connection.execute(
            clients.insert(),
            [
                {**row, "id": "with", "bsn_index": "1", "hours_per_week": 36},
                {**row, "id": "without", "bsn_index": "2", "hours_per_week": None},
            ],
        )
    db.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        found = connection.execute(
            text("SELECT id, hours_min, hours_max, hours_per_week FROM cardbox_client ORDER BY id")
        ).all()
    assert [tuple(r) for r in found] == [("with", 36, 36, 36), ("without", None, None, None)]
