"""The node's own routes: health, who-am-I, the audit trail, the outbox (deliver now, the
failed-message alarm) and the manual ledger round. A router like the domains' routers;
the app factory (:mod:`topmatch.app`) includes it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from topmatch import __version__
from topmatch import worker as background
from topmatch.accounts.models import Role
from topmatch.api.cardbox_deps import WorkerDep
from topmatch.api.deps import AdminUser, CurrentUser, SessionDep
from topmatch.audit import service as audit
from topmatch.bounds import WholeNumber
from topmatch.federation import outbox
from topmatch.ledger import flows


class Health(BaseModel):
    status: str
    node_id: str
    version: str


class OutboxAttempt(BaseModel):
    message_id: str
    peer: str
    kind: str
    state: str
    detail: str | None


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


def router_for(node_id: str) -> APIRouter:
    """Health, who-am-I, the audit trail, the outbox and the manual ledger round."""
    router = APIRouter()

    @router.get("/healthz", tags=["node"])
    def healthz() -> Health:
        return Health(status="ok", node_id=node_id, version=__version__)

    @router.get("/api/v1/me", tags=["node"])
    def me(user: CurrentUser) -> Me:
        return Me(name=user.name, role=user.role)

    @router.post("/api/v1/ledger/round", tags=["ledger"])
    async def run_ledger_round(node: WorkerDep, _: AdminUser) -> list[flows.WitnessResult]:
        """Deliver what the outbox holds (proposals among it), then witness every peer
        now (admin)."""
        await background.deliver_outbox(node)
        return await background.ledger_round(node)

    @router.post("/api/v1/outbox/deliver", tags=["node"])
    async def deliver_outbox_now(
        node: WorkerDep,
        _: AdminUser,
        peer: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
    ) -> list[OutboxAttempt]:
        """Deliver every due message in the outbox now (admin); the worker does this
        every round (docs/adr/0013-outbox.md). With ``peer``: that peer's waiting
        messages are due now, whatever their backoff (it is back)."""
        if peer is not None:
            await asyncio.to_thread(background.due_now, node, peer)
        return [OutboxAttempt(**vars(d)) for d in await background.deliver_outbox(node)]

    @router.get("/api/v1/outbox/failed", tags=["node"])
    def failed_messages(session: SessionDep, _: AdminUser) -> list[OutboxAttempt]:
        """The alarm: messages the outbox gave up on (past the horizon, or refused)."""
        return [
            OutboxAttempt(
                message_id=m.message_id,
                peer=m.peer,
                kind=m.kind,
                state=m.state,
                detail=m.last_error,
            )
            for m in outbox.failed(session)
        ]

    @router.get("/api/v1/audit", tags=["node"])
    def audit_events(
        session: SessionDep,
        _: AdminUser,
        entity_id: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(), WholeNumber(1, 1000)] = 100,
        offset: Annotated[int, Query(), WholeNumber(0)] = 0,
    ) -> list[AuditEventPublic]:
        rows = audit.events(session=session, entity_id=entity_id, limit=limit, offset=offset)
        return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]

    return router
