"""Settlement endpoints: fee agreements, statements, exports, netting and closing.

Finance staff (and admins) read statements and close periods; admins propose and sign
fee agreements; every user may read the agreements. Peers fetch the agreements they are
members of and the closed bilateral nets of a period.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.accounts.models import Role
from topmatch.accounts.models import User as Account
from topmatch.api.deps import (
    AdminUser,
    ConsultantUser,
    CourierDep,
    NowDep,
    SessionDep,
    SettingsDep,
    require,
)
from topmatch.errors import InputError, NotFoundError
from topmatch.federation.inbound import VerifiedPeer
from topmatch.federation.peers import PeerRegistry
from topmatch.ledger import flows, proposals
from topmatch.ledger.api import key_book
from topmatch.ledger.deps import ProposerDep, queued
from topmatch.ledger.models import LedgerEntry
from topmatch.matching.api import bureau_names
from topmatch.settings import Settings
from topmatch.settlement import exchange, exports
from topmatch.settlement import service as settlement
from topmatch.settlement import statement as statements
from topmatch.settlement.models import FeeAgreementRecord
from topmatch.settlement.schemas import NettingProposal, SignedAgreement, Statement

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


def names(request: Request, settings: Settings) -> dict[str, str]:
    """Bureau names by node id, for statements people read (the same as search shows)."""
    return bureau_names(request, settings)


# --- fee agreements --------------------------------------------------------------------


class AgreementView(BaseModel):
    version: str
    sha256: str
    in_force: bool
    signed_by: list[str]
    missing: list[str]
    document: SignedAgreement


def _view(record: FeeAgreementRecord) -> AgreementView:
    document = settlement.document(record)
    signed = settlement.signers(record)
    return AgreementView(
        version=record.version,
        sha256=record.sha256,
        in_force=record.in_force,
        signed_by=signed,
        missing=sorted(set(document.members) - set(signed)),
        document=document,
    )


@router.get("/api/v1/agreements")
def list_agreements(session: SessionDep, _: AnyUser) -> list[AgreementView]:
    return [_view(r) for r in settlement.agreements(session)]


@router.get("/api/v1/agreements/{version}")
def show_agreement(version: str, session: SessionDep, _: AnyUser) -> AgreementView:
    return _view(settlement.get_agreement(session, version))


@router.post("/api/v1/agreements", status_code=201)
def propose_agreement(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    _: AdminUser,
    document: Annotated[dict[str, Any], Body()],
) -> AgreementView:
    """Propose a new version of the fee agreement, signed by us; the other members' nodes
    fetch it on their next round and their admins sign it."""
    record = settlement.propose_agreement(
        session, document, me=settings.node_id or "", node=request.app.state.identity, now=now
    )
    return _view(record)


@router.post("/api/v1/agreements/{version}/signature")
def sign_agreement(
    version: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    _: AdminUser,
) -> AgreementView:
    """Sign an agreement version on behalf of our bureau."""
    record = settlement.sign_agreement(
        session, version, me=settings.node_id or "", node=request.app.state.identity, now=now
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


class StatementView(BaseModel):
    report_sha256: str
    statement: Statement
    closed: dict[str, str | None]


def _statement(session: Any, settings: Settings, period: str, now: Any) -> StatementView:
    made, _ = settlement.statement(session, me=settings.node_id or "", period_name=period, now=now)
    closings = {
        next(iter(e.parties - {made.node})): e.entry_id
        for e in settlement.closed_entries(session)
        if e.period == period
    }
    return StatementView(
        report_sha256=statements.report_sha256(made),
        statement=made,
        closed={s.counterparty: closings.get(s.counterparty) for s in made.counterparties},
    )


@router.get("/api/v1/settlements/{period}")
def get_statement(
    period: PeriodPath, session: SessionDep, settings: SettingsDep, now: NowDep, _: FinanceUser
) -> StatementView:
    """Our statement of a period: receivables and payables per counterparty, line by
    line, from the ledger only; the same ledger gives the same report hash on any node."""
    return _statement(session, settings, period, now)


ExportFormat = Literal["csv", "beancount", "json"]
MEDIA = {"csv": "text/csv; charset=utf-8", "beancount": "text/plain; charset=utf-8"}


@router.get("/api/v1/settlements/{period}/export.{kind}")
def export_statement(
    period: PeriodPath,
    kind: ExportFormat,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: FinanceUser,  # noqa: ARG001
    decimal_comma: bool = False,
) -> Response:
    """The statement for accounting: CSV (semicolons), a Beancount journal, or JSON."""
    made, _ = settlement.statement(session, me=settings.node_id or "", period_name=period, now=now)
    filename = f"topmatch-{settings.node_id}-{period}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "json":
        return Response(exports.to_json(made), media_type="application/json", headers=headers)
    bureau_names = names(request, settings)
    text = (
        exports.to_csv(made, names=bureau_names, decimal_comma=decimal_comma)
        if kind == "csv"
        else exports.to_beancount(made, names=bureau_names)
    )
    return Response(text, media_type=MEDIA[kind], headers=headers)


@router.get("/api/v1/settlements/{period}/statements/{counterparty}.html")
async def statement_html(
    period: PeriodPath, counterparty: str, request: Request, settings: SettingsDep, _: FinanceUser
) -> Response:
    """The statement with one counterparty in Dutch, with the netting payments if the
    period is netted, ready to print or send."""
    state = request.app.state

    def make() -> StatementView:
        with db.transaction(state.engine) as session:
            return _statement(session, settings, period, state.clock())

    view = await run_in_threadpool(make)
    if counterparty not in {s.counterparty for s in view.statement.counterparties}:
        raise NotFoundError(
            f"nothing between us and {counterparty} in {period}", field="counterparty"
        )
    try:
        proposal: NettingProposal | None = (await _netting(request, settings, period)).proposal
    except InputError:
        proposal = None
    html = exports.to_html(
        view.statement,
        counterparty,
        names=names(request, settings),
        netting=proposal if proposal and proposal.payments else None,
        report_sha256=view.report_sha256,
    )
    return Response(html, media_type="text/html; charset=utf-8")


# --- netting and closing ---------------------------------------------------------------


class NettingView(BaseModel):
    proposal: NettingProposal
    proposal_sha256: str
    peers: list[exchange.ExchangeResult]


async def _netting(request: Request, settings: Settings, period: str) -> NettingView:
    state = request.app.state
    registry: PeerRegistry = state.peers

    def ours() -> list[Any]:
        with db.transaction(state.engine) as session:
            settlement.period(period, now=state.clock())
            return settlement.closed_entries(session)

    own = await run_in_threadpool(ours)
    theirs, results = await exchange.closed_entries(
        period=period,
        peers=registry.active(),
        client=state.peer_client,
        book=key_book(request, settings),
    )
    try:
        proposal = settlement.netting([*own, *theirs], period_name=period)
    except ValueError as e:
        raise InputError(f"cannot net {period}: {e}", field="period") from e
    digest = statements.report_sha256(proposal)
    return NettingView(proposal=proposal, proposal_sha256=digest, peers=results)


@router.get("/api/v1/settlements/{period}/netting")
async def get_netting(
    period: PeriodPath, request: Request, settings: SettingsDep, _: FinanceUser
) -> NettingView:
    """Payments that settle the period across the federation, from every closed bilateral
    net we can verify (ours and our peers'), with the fewest transfers."""
    return await _netting(request, settings, period)


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
