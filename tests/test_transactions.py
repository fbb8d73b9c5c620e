"""A failure mid-request leaves the database exactly as it was before the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from tests.factories import FrozenClock, client_data
from topmatch.app import create_app
from topmatch.audit import service as audit_service
from topmatch.audit.models import AuditEvent
from topmatch.audit.service import Actor
from topmatch.cardbox import service
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.models import Client
from topmatch.cardbox.schemas import ClientCreate, ClientUpdate
from topmatch.errors import ConflictError
from topmatch.settings import Settings


class CrashError(RuntimeError):
    pass


@pytest.fixture
def crashing_client(
    settings: Settings,
    engine: Engine,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    consultant: dict[str, str],  # created before the crash is armed
) -> Iterator[TestClient]:
    """The app, with the audit step (which runs after the record is flushed) crashing."""

    def crash(**_: object) -> None:
        raise CrashError("disk full")

    monkeypatch.setattr(audit_service, "record", crash)
    app = create_app(settings, clock=clock, migrate=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _count(engine: Engine, model: type[Client] | type[AuditEvent]) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_crash_after_the_insert_was_flushed_writes_nothing(
    crashing_client: TestClient, consultant: dict[str, str], engine: Engine
) -> None:
    events_before = _count(engine, AuditEvent)
    response = crashing_client.post("/api/v1/clients", json=client_data(), headers=consultant)
    assert response.status_code == 500
    assert _count(engine, Client) == 0
    assert _count(engine, AuditEvent) == events_before


def test_an_edit_racing_another_edit_is_refused(
    engine: Engine, vault: BsnVault, clock: FrozenClock
) -> None:
    """Two sessions read version 1; the second to write gets a conflict, not a lost update."""
    actor = Actor(name="t")
    with Session(engine, expire_on_commit=False) as s:
        created = service.create_client(
            session=s,
            vault=vault,
            actor=actor,
            now=clock(),
            data=ClientCreate.model_validate(client_data()),
        )
        s.commit()
    with Session(engine) as first, Session(engine) as second:
        a = first.get(Client, created.id)
        b = second.get(Client, created.id)
        assert a is not None
        assert b is not None
        a.city = "Tilburg"
        first.commit()
        b.city = "Breda"
        with pytest.raises(ConflictError, match="changed by someone else"):
            service._flush(second, b, {})
    with Session(engine) as s:
        stored = s.get(Client, created.id)
        assert stored is not None
        assert (stored.city, stored.version) == ("Tilburg", 2)


def test_service_update_through_the_public_function(
    engine: Engine, vault: BsnVault, clock: FrozenClock
) -> None:
    actor = Actor(name="t")
    with Session(engine, expire_on_commit=False) as s:
        created = service.create_client(
            session=s,
            vault=vault,
            actor=actor,
            now=clock(),
            data=ClientCreate.model_validate(client_data()),
        )
        updated = service.update_client(
            session=s,
            vault=vault,
            client_id=created.id,
            if_match=None,
            actor=actor,
            now=clock(),
            changes=ClientUpdate(consent_share_profile=False),
        )
        s.commit()
    assert updated.consent_share_profile is False
    assert updated.consent_date == clock().date()  # the date consent was withdrawn
