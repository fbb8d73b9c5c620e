"""The federation status page for the node's admin: peers and their sync state, witness
alarms, our latest checkpoint and its witnesses, the fee agreements and their signatures.

Peers and "sync now" call the federation service, as ``GET /api/v1/peers`` and
``POST /api/v1/peers/sync`` do; the ledger and fee-agreement parts call the ledger service
(``witnessed_checkpoint``, ``alarms``) and the settlement use cases
(``settlement.reports.agreement_views``, ``settlement.service.sign_agreement``), as the
API's handlers do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.accounts.models import Role, User
from topmatch.api.deps import (
    ClockDep,
    EngineDep,
    IdentityDep,
    PeerClientDep,
    PeersDep,
    SettingsDep,
    bureau_names,
    get_clock,
    get_engine,
    get_peers,
    get_settings,
)
from topmatch.errors import NotFoundError, TopmatchError
from topmatch.federation import outbox
from topmatch.federation import service as federation
from topmatch.federation.status import lag_threshold
from topmatch.ledger import service as ledger
from topmatch.settlement import reports
from topmatch.settlement import service as settlement
from topmatch.web.core import CsrfChecked, WebUser, error_page, render, requires

router = APIRouter(include_in_schema=False)

SECONDS_PER_MINUTE = 60


def lag_minutes(last_success: datetime | None, now: datetime) -> int | None:
    """Whole minutes since the last successful sync (None: never synchronised)."""
    if last_success is None:
        return None
    return max(0, int((now - last_success).total_seconds()) // SECONDS_PER_MINUTE)


def _peers(
    request: Request, session: Any, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Each peer with its sync state made readable, and the peer files that did not load."""
    found = federation.peers_overview(
        session=session,
        registry=get_peers(request),
        now=now,
        lag_after=lag_threshold(get_settings(request).sync_interval_seconds),
    )
    rows = [
        {
            "peer": peer,
            "lag": lag_minutes(peer.last_success_at, now),
        }
        for peer in found.peers
    ]
    return rows, found.problems


def _checkpoint(session: Any) -> dict[str, Any] | None:
    try:
        return ledger.witnessed_checkpoint(session)
    except NotFoundError:
        return None


def overview(request: Request) -> dict[str, Any]:
    """Everything the page shows, read in one transaction."""
    settings = get_settings(request)
    now = get_clock(request)()
    with db.transaction(get_engine(request)) as session:
        peers, problems = _peers(request, session, now)
        alarms = ledger.alarms(session)
        undelivered = list(outbox.failed(session))
        checkpoint = _checkpoint(session)
        agreements = reports.agreement_views(session)
    return {
        "peers": peers,
        "problems": problems,
        "alarms": alarms,
        "undelivered": undelivered,
        "checkpoint": checkpoint,
        "agreements": agreements,
        "names": bureau_names(request, settings),
        "me": settings.node_id or "",
    }


def _page(
    request: Request,
    user: User,
    *,
    synced: Sequence[Mapping[str, object]] | None = None,
    signed: reports.AgreementView | None = None,
) -> HTMLResponse:
    context = overview(request)
    context["synced"] = synced
    context["signed"] = signed
    return render(request, "federation.html", context, user=user)


def _refused(request: Request, user: User) -> HTMLResponse | None:
    try:
        requires(user, Role.admin)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    return None


@router.get("/federatie", response_class=HTMLResponse)
def federation_page(request: Request, user: WebUser) -> HTMLResponse:
    """The state of the federation as this node sees it (admin only)."""
    if refused := _refused(request, user):
        return refused
    return _page(request, user)


@router.post("/federatie/synchroniseren", response_class=HTMLResponse)
async def sync_now(
    request: Request,
    user: WebUser,
    _: CsrfChecked,
    registry: PeersDep,
    client: PeerClientDep,
    engine: EngineDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """Sync every active peer now, as ``POST /api/v1/peers/sync`` does, and show the
    result per peer."""
    if refused := _refused(request, user):
        return refused
    try:
        results = await federation.sync_now(
            registry=registry,
            client=client,
            engine=engine,
            clock=clock,
            budget=settings.peer_round_seconds,
        )
    except TopmatchError as e:
        return error_page(request, e, user=user)
    synced = [r.__dict__ for r in results]
    return await run_in_threadpool(_page, request, user, synced=synced)


@router.post("/federatie/afspraken/{version}/tekenen", response_class=HTMLResponse)
def sign_agreement(
    version: str,
    request: Request,
    user: WebUser,
    _: CsrfChecked,
    settings: SettingsDep,
    engine: EngineDep,
    clock: ClockDep,
    node: IdentityDep,
) -> HTMLResponse:
    """Sign a fee agreement version on behalf of our bureau."""
    if refused := _refused(request, user):
        return refused
    try:
        with db.transaction(engine) as session:
            record = settlement.sign_agreement(
                session, version, me=settings.node_id or "", node=node, now=clock()
            )
            view = reports.agreement_view(record)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    return _page(request, user, signed=view)
