"""The application factory: ``uvicorn --factory topmatch.api.app:app_from_env``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel

from topmatch import __version__, db
from topmatch.accounts.models import Role
from topmatch.api import errors
from topmatch.api.deps import AdminUser, CurrentUser, SessionDep
from topmatch.api.limits import BodySizeLimit
from topmatch.audit import service as audit
from topmatch.cardbox import api as cardbox_api
from topmatch.cardbox.crypto import BsnVault
from topmatch.clock import Clock, system_clock
from topmatch.errors import ConfigurationError
from topmatch.identity import service as identity
from topmatch.settings import Settings, load_settings


class Health(BaseModel):
    status: str
    node_id: str
    version: str


class Me(BaseModel):
    name: str
    role: Role


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, object]


def create_app(settings: Settings, *, clock: Clock = system_clock, migrate: bool = True) -> FastAPI:
    """Build a node's app. Identity and the card-box secret are loaded here, so a node with
    missing or unreadable keys fails at start with a message, not at the first request."""
    if not settings.node_id:
        raise ConfigurationError("node_id is not set: run `topmatch init` or set TOPMATCH_NODE_ID")
    node_identity = identity.load_identity(settings)
    vault = BsnVault(identity.load_cardbox_secret(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.make_engine(settings.resolved_database_url())
        if migrate:
            db.upgrade(engine)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title=f"Topmatch node {settings.display_name or settings.node_id}",
        version=__version__,
        lifespan=lifespan,
        description="A bureau's Topmatch node: private card-box, federation, ledger.",
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.vault = vault
    app.state.identity = node_identity
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.include_router(cardbox_api.router)

    node_id = settings.node_id

    @app.get("/healthz", tags=["node"])
    def healthz() -> Health:
        return Health(status="ok", node_id=node_id, version=__version__)

    @app.get("/api/v1/me", tags=["node"])
    def me(user: CurrentUser) -> Me:
        return Me(name=user.name, role=user.role)

    @app.get("/api/v1/audit", tags=["node"])
    def audit_events(
        session: SessionDep,
        _: AdminUser,
        entity_id: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[AuditEventPublic]:
        rows = audit.events(session=session, entity_id=entity_id, limit=limit, offset=offset)
        return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment and config file."""
    return create_app(load_settings())
