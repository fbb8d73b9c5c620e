"""Ledger endpoints: node-to-node (proposals, checkpoints, proofs, cosignatures) and ours."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Response
from pydantic import Field
from sqlmodel import Session, col, select

from topmatch.accounts.models import Role
from topmatch.accounts.models import User as Account
from topmatch.api.deps import (
    AdminUser,
    ConsultantUser,
    CourierDep,
    IdentityDep,
    NowDep,
    SessionDep,
    SettingsDep,
    require,
)
from topmatch.bounds import CleanInput, Count, WholeNumber
from topmatch.errors import InputError, NotFoundError
from topmatch.federation import outbox
from topmatch.federation.inbound import VerifiedPeer
from topmatch.ledger import deps, flows, note, proposals
from topmatch.ledger import service as ledger
from topmatch.ledger.deps import ProposerDep, queued
from topmatch.ledger.models import PendingProposal
from topmatch.ledger.schemas import EntryBody
from topmatch.settings import Settings
from topmatch.settlement import service as settlement

peer_router = APIRouter(prefix="/federation/v1/ledger", tags=["federation (node to node)"])
router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])

AnyUser = Annotated[Account, Depends(require(Role.consultant, Role.finance, Role.admin))]


own_descriptor = deps.own_descriptor
key_book = deps.key_book
Book = deps.BookDep


def note_signer(settings: SettingsDep, node: IdentityDep) -> note.NoteSigner:
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
    identity: IdentityDep,
    peer: VerifiedPeer,
    session: SessionDep,
    settings: SettingsDep,
    book: Book,
    now: NowDep,
) -> Response:
    """A peer proposes an entry naming both of us; we check it, countersign and log it.

    At least once on the wire, once in the log: a message id we applied before, or an
    entry id already in our log, is answered with the entry as both signed it."""
    sender = peer.peer.node_id
    message_id = outbox.message_id_in(peer.target_uri)
    proposed = _json(peer.body)
    if outbox.already_received(session, peer=sender, message_id=message_id):
        stored = flows.logged(session, proposed)
        if stored is not None:  # the same message again: its answer, nothing applied
            return Response(json.dumps(stored), media_type="application/json")
    signed = flows.countersign(
        session,
        proposed,
        proposer=sender,
        me=settings.node_id or "",
        node=identity,
        book=book,
        now=now,
        policy=fee_policy(settings, now),
        max_amount_cents=settings.ledger_max_amount_cents,
    )
    if not outbox.already_received(session, peer=sender, message_id=message_id):
        outbox.record_received(
            session, peer=sender, message_id=message_id, kind=flows.PROPOSAL, now=now
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


@router.post("/placements", status_code=202)
def propose_placement(
    proposal: flows.PlacementProposal,
    session: SessionDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    now: NowDep,
    _: ConsultantUser,
) -> ProposalResult:
    """Record a cross-bureau placement: we sign and queue it for the other bureau, which
    countersigns; both log it. Answers 202 with the proposal (``pending``, its message
    ``queued``) without waiting for the peer; ``GET /api/v1/ledger/proposals`` follows it."""
    result = proposals.placement(session, proposal, proposer=me, now=now)
    return queued(result, courier, tasks)


@router.post("/events", status_code=202)
def propose_event(
    proposal: flows.EventProposal,
    session: SessionDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    now: NowDep,
    _: ConsultantUser,
) -> ProposalResult:
    """Record what happened next (retention confirmed, voided, disputed, adjusted): a new
    entry referring to the placement, co-signed like the first; nothing is ever edited."""
    result = proposals.event(session, proposal, proposer=me, now=now)
    return queued(result, courier, tasks)


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
    """Our proposals, newest first, each with where its message stands (queued, sent,
    delivered, answered, failed) and the last error, as introductions show it."""
    rows = session.exec(
        select(PendingProposal).order_by(col(PendingProposal.created_at).desc())
    ).all()
    return [proposal_view(session, r) for r in rows]


@router.get("/proposals/{entry_id}")
def show_proposal(
    entry_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], session: SessionDep, _: AnyUser
) -> ProposalResult:
    """One proposal: pending (with where its message stands), countersigned (with the
    entry both signed) or refused (with the reason)."""
    row = session.get(PendingProposal, entry_id)
    if row is None:
        raise NotFoundError(f"no proposal {entry_id}", field="entry_id")
    return flows.result_of(session, row)


@router.post("/proposals/{entry_id}/resend", status_code=202)
def resend_proposal(
    entry_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    session: SessionDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    now: NowDep,
    _: ConsultantUser,
) -> ProposalResult:
    """Queue a proposal whose message failed (refused, or not delivered in time) again,
    with a fresh horizon (409 if nothing failed)."""
    return queued(flows.resend(session, entry_id=entry_id, proposer=me, now=now), courier, tasks)


def proposal_view(session: Session, row: PendingProposal) -> dict[str, Any]:
    result = flows.result_of(session, row)
    return {
        "entry_id": row.entry_id,
        "counterparty": row.counterparty,
        "status": row.status,
        "last_error": row.last_error,
        "updated_at": row.updated_at.isoformat(),
        "message": None if result.message is None else result.message.model_dump(mode="json"),
    }


@router.get("/checkpoint")
def our_checkpoint(session: SessionDep, _: AnyUser) -> dict[str, Any]:
    """Our newest checkpoint and which peers cosigned (witnessed) it."""
    return ledger.witnessed_checkpoint(session)


@router.get("/alarms")
def list_alarms(session: SessionDep, _: AdminUser) -> list[dict[str, Any]]:
    """Equivocation, rollback, inconsistency or missing entries seen in peers' logs."""
    return ledger.alarms(session)
