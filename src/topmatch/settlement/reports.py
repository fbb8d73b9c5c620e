"""What finance and admins read: the fee agreements with their signatures, a period's
statement, its exports, the netting across the federation and the statement with one
counterparty as HTML.

Use cases for the API (``settlement/api.py``) and the web app (``web/finance.py``) alike;
they raise domain errors, never HTTP ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.clock import Clock
from topmatch.errors import InputError, NotFoundError
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import EntryBody
from topmatch.settlement import exchange, exports
from topmatch.settlement import service as settlement
from topmatch.settlement import statement as statements
from topmatch.settlement.models import FeeAgreementRecord
from topmatch.settlement.schemas import NettingProposal, SignedAgreement, Statement

ExportFormat = Literal["csv", "beancount", "json"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "beancount": "text/plain; charset=utf-8",
    "json": "application/json",
}


class AgreementView(BaseModel):
    version: str
    sha256: str
    in_force: bool
    signed_by: list[str]
    missing: list[str]
    document: SignedAgreement


def agreement_view(record: FeeAgreementRecord) -> AgreementView:
    """An agreement version with who signed it and who has not yet."""
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


def agreement_views(session: Session) -> list[AgreementView]:
    return [agreement_view(r) for r in settlement.agreements(session)]


class StatementView(BaseModel):
    report_sha256: str
    statement: Statement
    closed: dict[str, str | None]


class NettingView(BaseModel):
    proposal: NettingProposal
    proposal_sha256: str
    peers: list[exchange.ExchangeResult]


@dataclass(frozen=True)
class Export:
    """A statement export: its text, media type and file name."""

    content: str | bytes
    media_type: str
    filename: str


@dataclass(frozen=True)
class Federation:
    """What netting needs to ask the peers for their closings."""

    engine: Engine
    clock: Clock
    peers: PeerRegistry
    client: PeerClient
    book: KeyBook


def statement_view(session: Session, *, me: str, period: str, now: datetime) -> StatementView:
    """Our statement of a period, its report hash, and which counterparties closed it."""
    made, _ = settlement.statement(session, me=me, period_name=period, now=now)
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


def export(
    session: Session,
    *,
    me: str,
    period: str,
    kind: ExportFormat,
    names: dict[str, str],
    now: datetime,
    decimal_comma: bool = False,
) -> Export:
    """The statement for accounting: CSV (semicolons), a Beancount journal, or JSON."""
    made, _ = settlement.statement(session, me=me, period_name=period, now=now)
    content: str | bytes
    if kind == "json":
        content = exports.to_json(made)
    elif kind == "csv":
        content = exports.to_csv(made, names=names, decimal_comma=decimal_comma)
    else:
        content = exports.to_beancount(made, names=names)
    return Export(content, MEDIA[kind], f"topmatch-{me}-{period}.{kind}")


async def netting(federation: Federation, *, period: str) -> NettingView:
    """Payments that settle the period across the federation, from every closed bilateral
    net we can verify (ours and our active peers'), with the fewest transfers."""

    def ours() -> list[EntryBody]:
        with db.transaction(federation.engine) as session:
            settlement.period(period, now=federation.clock())
            return settlement.closed_entries(session)

    own = await run_in_threadpool(ours)
    theirs, results = await exchange.closed_entries(
        period=period,
        peers=federation.peers.active(),
        client=federation.client,
        book=federation.book,
    )
    try:
        proposal = settlement.netting([*own, *theirs], period_name=period)
    except ValueError as e:
        raise InputError(f"cannot net {period}: {e}", field="period") from e
    digest = statements.report_sha256(proposal)
    return NettingView(proposal=proposal, proposal_sha256=digest, peers=results)


async def statement_html(
    federation: Federation, *, me: str, period: str, counterparty: str, names: dict[str, str]
) -> str:
    """The statement with one counterparty in Dutch, with the netting payments if the
    period is netted, ready to print or send."""

    def make() -> StatementView:
        with db.transaction(federation.engine) as session:
            return statement_view(session, me=me, period=period, now=federation.clock())

    view = await run_in_threadpool(make)
    if counterparty not in {s.counterparty for s in view.statement.counterparties}:
        raise NotFoundError(
            f"nothing between us and {counterparty} in {period}", field="counterparty"
        )
    try:
        proposal: NettingProposal | None = (await netting(federation, period=period)).proposal
    except InputError:
        proposal = None
    return exports.to_html(
        view.statement,
        counterparty,
        names=names,
        netting=proposal if proposal and proposal.payments else None,
        report_sha256=view.report_sha256,
    )
