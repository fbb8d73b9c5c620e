"""Settlement endpoints: fee agreements, statements, exports, netting and closing.

Finance staff (and admins) read statements and close periods; admins propose and sign
fee agreements; every user may read the agreements. Peers fetch the agreements they are
members of and the closed bilateral nets of a period.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Path, Query, Response
from sqlmodel import select

from topmatch.accounts.models import Role
from topmatch.accounts.models import User as Account
from topmatch.api.deps import (
    AdminUser,
    BureauNames,
    ConsultantUser,
    CourierDep,
    IdentityDep,
    NowDep,
    SessionDep,
    SettingsDep,
    require,
)
from topmatch.federation.inbound import VerifiedPeer
from topmatch.ledger import flows, proposals
from topmatch.ledger.deps import ProposerDep, queued
from topmatch.ledger.models import LedgerEntry
from topmatch.settlement import reports
from topmatch.settlement import service as settlement
from topmatch.settlement.deps import FederationDep

router = APIRouter(tags=["settlement"])
peer_router = APIRouter(tags=["federation (node to node)"])

FinanceUser = Annotated[Account, Depends(require(Role.finance, Role.admin))]
AnyUser = Annotated[Account, Depends(require(Role.consultant, Role.finance, Role.admin))]
PeriodPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{4}-(Q[1-4]|0[1-9]|1[0-2])$",
        description="a quarter like 2026-Q4 or a month like 2026-11",
    ),
]


# --- fee agreements --------------------------------------------------------------------


AgreementView = reports.AgreementView
_view = reports.agreement_view


@router.get("/api/v1/agreements")
def list_agreements(session: SessionDep, _: AnyUser) -> list[AgreementView]:
    return reports.agreement_views(session)


@router.get("/api/v1/agreements/{version}")
def show_agreement(version: str, session: SessionDep, _: AnyUser) -> AgreementView:
    return _view(settlement.get_agreement(session, version))


@router.post("/api/v1/agreements", status_code=201)
def propose_agreement(
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    _: AdminUser,
    document: Annotated[dict[str, Any], Body()],
) -> AgreementView:
    """Propose a new version of the fee agreement, signed by us; the other members' nodes
    fetch it on their next round and their admins sign it."""
    record = settlement.propose_agreement(
        session, document, me=settings.node_id or "", node=identity, now=now
    )
    return _view(record)


@router.post("/api/v1/agreements/{version}/signature")
def sign_agreement(
    version: str,
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    _: AdminUser,
) -> AgreementView:
    """Sign an agreement version on behalf of our bureau."""
    record = settlement.sign_agreement(
        session, version, me=settings.node_id or "", node=identity, now=now
    )
    return _view(record)


@peer_router.get("/federation/v1/agreements")
def peer_agreements(peer: VerifiedPeer, session: SessionDep) -> list[dict[str, Any]]:
    """The fee agreements the asking peer is a member of, with the signatures we hold."""
    documents = [settlement.document(r) for r in settlement.agreements(session)]
    return [d.model_dump(mode="json") for d in documents if peer.peer.node_id in d.members]


@peer_router.get("/federation/v1/settlement/closed")
def peer_closed(
    peer: VerifiedPeer,  # noqa: ARG001 - any member may net the federation
    session: SessionDep,
    period: Annotated[str, Query(pattern=r"^[0-9]{4}-(Q[1-4]|0[1-9]|1[0-2])$")],
) -> list[dict[str, Any]]:
    """Our co-signed closings of a period: the bilateral nets, nothing line by line."""
    rows = session.exec(select(LedgerEntry).where(LedgerEntry.type == "settlement.closed")).all()
    entries = [json.loads(r.canonical) for r in rows]
    return [e for e in entries if e.get("period") == period]


# --- statements ------------------------------------------------------------------------

StatementView = reports.StatementView
NettingView = reports.NettingView
ExportFormat = reports.ExportFormat


@router.get("/api/v1/settlements/{period}")
def get_statement(
    period: PeriodPath, session: SessionDep, settings: SettingsDep, now: NowDep, _: FinanceUser
) -> StatementView:
    """Our statement of a period: receivables and payables per counterparty, line by
    line, from the ledger only; the same ledger gives the same report hash on any node."""
    return reports.statement_view(session, me=settings.node_id or "", period=period, now=now)


@router.get("/api/v1/settlements/{period}/export.{kind}")
def export_statement(
    period: PeriodPath,
    kind: ExportFormat,
    session: SessionDep,
    settings: SettingsDep,
    names: BureauNames,
    now: NowDep,
    user: FinanceUser,  # noqa: ARG001
    decimal_comma: bool = False,
) -> Response:
    """The statement for accounting: CSV (semicolons), a Beancount journal, or JSON."""
    made = reports.export(
        session,
        me=settings.node_id or "",
        period=period,
        kind=kind,
        names=names,
        now=now,
        decimal_comma=decimal_comma,
    )
    headers = {"Content-Disposition": f'attachment; filename="{made.filename}"'}
    return Response(made.content, media_type=made.media_type, headers=headers)


@router.get("/api/v1/settlements/{period}/statements/{counterparty}.html")
async def statement_html(
    period: PeriodPath,
    counterparty: str,
    settings: SettingsDep,
    names: BureauNames,
    federation: FederationDep,
    _: FinanceUser,
) -> Response:
    """The statement with one counterparty in Dutch, with the netting payments if the
    period is netted, ready to print or send."""
    html = await reports.statement_html(
        federation, me=settings.node_id or "", period=period, counterparty=counterparty, names=names
    )
    return Response(html, media_type="text/html; charset=utf-8")


# --- netting and closing ---------------------------------------------------------------


@router.get("/api/v1/settlements/{period}/netting")
async def get_netting(period: PeriodPath, federation: FederationDep, _: FinanceUser) -> NettingView:
    """Payments that settle the period across the federation, from every closed bilateral
    net we can verify (ours and our peers'), with the fewest transfers."""
    return await reports.netting(federation, period=period)


@router.post("/api/v1/settlements/{period}/close", status_code=202)
def close_period(
    period: PeriodPath,
    session: SessionDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    now: NowDep,
    _: FinanceUser,
    counterparty: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
) -> list[flows.ProposalResult]:
    """Propose a co-signed settlement.closed entry to each counterparty of the period (or
    one): it names the hash of the bilateral statement, which the other bureau recomputes
    from its own ledger before it signs. Answers 202 with each proposal (``pending``, its
    message queued) without waiting for the peers."""
    results = proposals.close_period(
        session, period=period, proposer=me, now=now, only=counterparty
    )
    for result in results:
        queued(result, courier, tasks)
    return results


# --- handovers and licences ------------------------------------------------------------

HandoverProposal = proposals.HandoverProposal
LicenceProposal = proposals.LicenceProposal


@router.post("/api/v1/ledger/handovers", tags=["ledger"], status_code=202)
def propose_handover(
    proposal: HandoverProposal,
    session: SessionDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    now: NowDep,
    _: ConsultantUser,
) -> flows.ProposalResult:
    """Record a horizontal handover of a client; the fee comes from the agreement, and the
    bureau that pays under it records the handover (the other countersigns)."""
    return queued(proposals.handover(session, proposal, proposer=me, now=now), courier, tasks)


@router.post("/api/v1/ledger/licences", tags=["ledger"], status_code=202)
def propose_licence(
    proposal: LicenceProposal,
    session: SessionDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    now: NowDep,
    _: ConsultantUser,
) -> flows.ProposalResult:
    """Record participants trained with another bureau's method: we pay its owner the
    licence fee per participant the agreement names."""
    return queued(proposals.licence(session, proposal, proposer=me, now=now), courier, tasks)
