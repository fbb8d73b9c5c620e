"""Ledger endpoints: node-to-node (proposals, checkpoints, proofs, cosignatures) and ours."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from topmatch import db, wiretext
from topmatch.accounts.models import Role
from topmatch.accounts.models import User as Account
from topmatch.api.deps import AdminUser, ConsultantUser, NowDep, SessionDep, SettingsDep, require
from topmatch.bounds import CleanInput, Count, WholeNumber
from topmatch.errors import InputError, NotFoundError
from topmatch.federation.inbound import VerifiedPeer
from topmatch.federation.peers import PeerRegistry
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.identity.service import NodeIdentity
from topmatch.ledger import flows, note
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import Cosignature, PendingProposal, WitnessAlarm
from topmatch.ledger.schemas import AgreementRef, EntryBody, entry_id_for
from topmatch.publishing import service as publishing
from topmatch.publishing.service import Publisher
from topmatch.settings import Settings
from topmatch.settlement import agreement as pricing
from topmatch.settlement import service as settlement
from topmatch.settlement.periods import local_date

peer_router = APIRouter(prefix="/federation/v1/ledger", tags=["federation (node to node)"])
router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])

AnyUser = Annotated[Account, Depends(require(Role.consultant, Role.finance, Role.admin))]


def own_descriptor(settings: Settings) -> PeerDescriptor:
    return PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())


def key_book(request: Request, settings: SettingsDep) -> KeyBook:
    """Keys that may sign entries we append: ours and those of active peers."""
    registry: PeerRegistry = request.app.state.peers
    return KeyBook([own_descriptor(settings), *registry.active()])


Book = Annotated[KeyBook, Depends(key_book)]


def note_signer(request: Request, settings: SettingsDep) -> note.NoteSigner:
    node: NodeIdentity = request.app.state.identity
    return note.NoteSigner(ledger.log_origin(settings.node_id or ""), node.private_key)


Signer = Annotated[note.NoteSigner, Depends(note_signer)]


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as e:
        raise InputError(f"body is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise InputError("body must be a JSON object")
    return data


def fee_policy(settings: Settings, now: datetime) -> flows.Policy:
    me = settings.node_id or ""

    def check(session: Session, entry: EntryBody) -> None:
        settlement.policy(session, entry, me=me, now=now)

    return check


# --- node to node ----------------------------------------------------------------------


@peer_router.post("/proposals")
def receive_proposal(
    request: Request,
    peer: VerifiedPeer,
    session: SessionDep,
    settings: SettingsDep,
    book: Book,
    now: NowDep,
) -> Response:
    """A peer proposes an entry naming both of us; we check it, countersign and log it."""
    signed = flows.countersign(
        session,
        _json(peer.body),
        proposer=peer.peer.node_id,
        me=settings.node_id or "",
        node=request.app.state.identity,
        book=book,
        now=now,
        policy=fee_policy(settings, now),
        max_amount_cents=settings.ledger_max_amount_cents,
    )
    return Response(json.dumps(signed), media_type="application/json")


@peer_router.get("/checkpoint")
def latest_checkpoint(
    peer: VerifiedPeer,  # noqa: ARG001 - any active peer may witness us
    session: SessionDep,
    settings: SettingsDep,
    signer: Signer,
    now: NowDep,
) -> Response:
    """Our newest signed checkpoint (c2sp.org/tlog-checkpoint in a signed note)."""
    point = ledger.checkpoint(
        session, signer=signer, origin=ledger.log_origin(settings.node_id or ""), now=now
    )
    return Response(point.note, media_type="text/plain; charset=utf-8")


@peer_router.get("/consistency")
def consistency_proof(
    peer: VerifiedPeer,  # noqa: ARG001
    session: SessionDep,
    old: Annotated[int, Query(), WholeNumber(0)],
    new: Annotated[int, Query(), WholeNumber(0)],
) -> dict[str, Any]:
    proof = ledger.consistency(session, old_size=old, new_size=new)
    return {"old": old, "new": new, "proof": flows.b64(proof)}


@peer_router.get("/inclusion")
def inclusion_proof(
    peer: VerifiedPeer,  # noqa: ARG001
    session: SessionDep,
    entry_id: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
    size: Annotated[int, Query(), WholeNumber(1)],
) -> dict[str, Any]:
    row = ledger.get_entry(session, entry_id)
    proof = ledger.inclusion(session, entry_id=entry_id, size=size)
    return {"entry_id": entry_id, "index": row.seq, "size": size, "proof": flows.b64(proof)}


@peer_router.get("/entries")
def shared_entries(
    peer: VerifiedPeer,
    session: SessionDep,
    after: Annotated[int, Query(), WholeNumber(-1)] = -1,
    limit: Annotated[int, Query(), WholeNumber(1, 500)] = 500,
) -> list[dict[str, Any]]:
    """The entries of our log that name the asking peer (no others)."""
    rows = ledger.entries(session, party=peer.peer.node_id, after=after, limit=limit)
    return [{"seq": r.seq, "entry": json.loads(r.canonical)} for r in rows]


class CosignatureIn(CleanInput):
    size: Count
    line: str = Field(max_length=1000)


@peer_router.post("/cosignatures")
def receive_cosignature(
    peer: VerifiedPeer,
    session: SessionDep,
    now: NowDep,
) -> dict[str, str]:
    """A witness cosigned one of our checkpoints."""
    try:
        data = CosignatureIn.model_validate_json(peer.body)
    except ValueError as e:
        raise InputError(f"not a cosignature: {e}") from e
    flows.store_cosignature(
        session, witness=peer.peer, size=data.size, line=data.line.encode(), now=now
    )
    return {"status": "stored"}


# --- our own users ---------------------------------------------------------------------


ProposalResult = flows.ProposalResult


def _price(
    session: Session, proposal: flows.PlacementProposal, *, me: str, now: datetime
) -> tuple[AgreementRef, int]:
    """The agreement in force between us on this day, and the start part of its fee."""
    record = settlement.agreement_for(
        session, parties={me, proposal.counterparty}, day=local_date(now)
    )
    named = (proposal.agreement_version, proposal.agreement_sha256)
    if named[0] not in {None, record.version} or named[1] not in {None, record.sha256}:
        raise InputError(
            f"the fee agreement in force is {record.version} ({record.sha256[:12]})",
            field="agreement_version",
        )
    terms = settlement.terms(record)
    try:
        fee = pricing.placement_fee(terms, proposal.contract_type, proposal.hours_per_week)
    except pricing.PricingError as e:
        raise InputError(str(e), field="contract_type") from e
    amount = pricing.start_part(terms, fee)
    if proposal.amount_cents is not None and proposal.amount_cents != amount:
        raise InputError(
            f"agreement {record.version} prices this placement's start at {amount} cents",
            field="amount_cents",
        )
    return AgreementRef(version=record.version, sha256=record.sha256), amount


def _propose(
    engine: Engine,
    proposal: flows.PlacementProposal,
    settings: Settings,
    publisher: Publisher,
    node: NodeIdentity,
    now: datetime,
) -> PendingProposal:
    with db.transaction(engine) as session:
        me = settings.node_id or ""
        known = session.get(
            PendingProposal, entry_id_for("placement.started", proposal.introduction_id)
        )
        ref, amount = _price(session, proposal, me=me, now=now)
        entry = flows.build_placement(
            proposal, me=me, secret=publisher.secret, now=now, agreement=ref, amount_cents=amount
        )
        if known is None:
            settlement.policy(session, ledger.body_of(entry), me=me, now=now)
        signed = flows.sign_as(entry, node, settings.node_id or "")
        return flows.store_proposal(session, signed, counterparty=proposal.counterparty, now=now)


@router.post("/placements", response_model=ProposalResult)
async def propose_placement(
    proposal: flows.PlacementProposal,
    request: Request,
    settings: SettingsDep,
    book: Book,
    _: ConsultantUser,
) -> ProposalResult:
    """Record a cross-bureau placement: we sign, the other bureau countersigns, both log it."""
    state = request.app.state
    registry: PeerRegistry = state.peers
    peer = registry.get(proposal.counterparty)
    now = state.clock()
    pending = await run_in_threadpool(
        _propose, state.engine, proposal, settings, state.publisher, state.identity, now
    )
    return await deliver(pending, peer=peer, state=state, settings=settings, book=book)


async def deliver(
    pending: PendingProposal,
    *,
    peer: PeerDescriptor,
    state: Any,
    settings: Settings,
    book: KeyBook,
) -> ProposalResult:
    return await flows.deliver(
        pending,
        peer=peer,
        client=state.peer_client,
        engine=state.engine,
        me=settings.node_id or "",
        book=book,
        clock=state.clock,
    )


def _propose_event(
    engine: Engine,
    proposal: flows.EventProposal,
    settings: Settings,
    node: NodeIdentity,
    publisher: Publisher,
    now: datetime,
) -> tuple[PendingProposal, str]:
    me = settings.node_id or ""
    with db.transaction(engine) as session:
        referred = ledger.get_entry(session, proposal.refers_to)
        retention = (
            settlement.retention_cents(session, referred)
            if proposal.type == "placement.retained" and referred.type == "placement.started"
            else None
        )
        # the reason is signed into both ledgers for good: the wire gate scrubs it of every
        # card-box name when the entry is built, before it is signed
        with wiretext.scrubbing(publishing.scrubber_for(session, publisher.secret)):
            entry = flows.build_event(
                proposal, referred=referred, me=me, now=now, retention_cents=retention
            )
        counterparty = referred.payee if referred.payer == me else referred.payer
        if session.get(PendingProposal, entry["entry_id"]) is None:
            body = ledger.body_of(entry)
            flows.check_event(session, body, max_amount_cents=settings.ledger_max_amount_cents)
            settlement.policy(session, body, me=me, now=now)
        signed = flows.sign_as(entry, node, me)
        return flows.store_proposal(
            session, signed, counterparty=counterparty, now=now
        ), counterparty


@router.post("/events", response_model=ProposalResult)
async def propose_event(
    proposal: flows.EventProposal,
    request: Request,
    settings: SettingsDep,
    book: Book,
    _: ConsultantUser,
) -> ProposalResult:
    """Record what happened next (retention confirmed, voided, disputed, adjusted): a new
    entry referring to the placement, co-signed like the first; nothing is ever edited."""
    state = request.app.state
    now = state.clock()
    pending, counterparty = await run_in_threadpool(
        _propose_event, state.engine, proposal, settings, state.identity, state.publisher, now
    )
    registry: PeerRegistry = state.peers
    return await deliver(
        pending, peer=registry.get(counterparty), state=state, settings=settings, book=book
    )


@router.get("/entries")
def list_entries(
    session: SessionDep,
    _: AnyUser,
    after: Annotated[int, Query(), WholeNumber(-1)] = -1,
    limit: Annotated[int, Query(), WholeNumber(1, 1000)] = 100,
) -> list[dict[str, Any]]:
    """Our log, oldest first (witnesses per checkpoint: GET /api/v1/ledger/checkpoint)."""
    rows = ledger.entries(session, after=after, limit=limit)
    return [{"seq": r.seq, "entry": json.loads(r.canonical)} for r in rows]


@router.get("/proposals")
def list_proposals(session: SessionDep, _: AnyUser) -> list[dict[str, Any]]:
    rows = session.exec(
        select(PendingProposal).order_by(col(PendingProposal.created_at).desc())
    ).all()
    return [
        {
            "entry_id": r.entry_id,
            "counterparty": r.counterparty,
            "status": r.status,
            "last_error": r.last_error,
            "updated_at": r.updated_at.isoformat(),
        }
        for r in rows
    ]


@router.get("/checkpoint")
def our_checkpoint(session: SessionDep, _: AnyUser) -> dict[str, Any]:
    """Our newest checkpoint and which peers cosigned (witnessed) it."""
    point = ledger.latest_checkpoint(session)
    if point is None:
        raise NotFoundError("no checkpoint yet")
    witnesses = session.exec(
        select(Cosignature.witness).where(Cosignature.size == point.size)
    ).all()
    return {
        "size": point.size,
        "root_hash": point.root_hash,
        "note": point.note.decode(),
        "witnessed_by": sorted(witnesses),
    }


@router.get("/alarms")
def list_alarms(session: SessionDep, _: AdminUser) -> list[dict[str, Any]]:
    """Equivocation, rollback, inconsistency or missing entries seen in peers' logs."""
    rows = session.exec(select(WitnessAlarm).order_by(col(WitnessAlarm.raised_at).desc())).all()
    return [
        {
            "node_id": r.node_id,
            "kind": r.kind,
            "detail": r.detail,
            "raised_at": r.raised_at.isoformat(),
        }
        for r in rows
    ]
