"""Introduction endpoints: node to node, and for our consultants.

Thin routers over :mod:`topmatch.referrals.service`. Nothing here calls a peer: a use case
records its change and queues its messages in the outbox in one transaction
(:mod:`topmatch.federation.outbox`); after the commit a background task kicks a delivery
attempt, and the worker keeps trying (docs/adr/0013-outbox.md).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, col, select

from topmatch.api.deps import (
    ActorDep,
    ConsultantUser,
    CourierDep,
    IdempotencyKeyDep,
    NowDep,
    PeersDep,
    SessionDep,
    SettingsDep,
)
from topmatch.audit.service import Actor
from topmatch.errors import InputError, input_error
from topmatch.federation import outbox
from topmatch.federation.inbound import VerifiedPeer, VerifiedRequest
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import service as identity
from topmatch.publishing import service as publishing
from topmatch.referrals import service
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import (
    Handover,
    IntroductionDecision,
    IntroductionPublic,
    IntroductionRequest,
    public,
)
from topmatch.settings import Settings

log = logging.getLogger("topmatch.referrals")

peer_router = APIRouter(prefix="/federation/v1/introductions", tags=["federation (node to node)"])
router = APIRouter(prefix="/api/v1/introductions", tags=["introductions"])

__all__ = ["IntroductionPublic", "outgoing", "peer_router", "public", "router", "view"]


def _parse(model: type[Any], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        raise input_error(e, "not a valid message") from e


def outgoing(settings: Settings) -> service.Outgoing:
    """Who we are and how long the outbox tries, from the settings."""
    return service.Outgoing(
        me=settings.node_id or "", horizon=timedelta(days=settings.outbox_horizon_days)
    )


def view(session: Session, row: Introduction) -> IntroductionPublic:
    """One introduction with where our newest message about it stands."""
    return public(row, outbox.for_references(session, [row.id]).get(row.id))


def introductions(session: Session) -> list[IntroductionPublic]:
    """Every introduction, newest first, each with its message state."""
    rows = session.exec(select(Introduction).order_by(col(Introduction.updated_at).desc())).all()
    messages = outbox.for_references(session, [r.id for r in rows])
    return [public(r, messages.get(r.id)) for r in rows]


async def kick(courier: outbox.Courier, peer: str) -> None:
    """After the commit: try to deliver ``peer``'s queue now (the worker retries)."""
    try:
        await outbox.deliver(courier, peers=[peer])
    except Exception:  # a background task must not fail loudly; the worker tries again
        log.exception("delivering to %s right after the request failed", peer)


# --- node to node ----------------------------------------------------------------------


def _message_id(peer: VerifiedRequest) -> str | None:
    """The message id the sender signed into the target URI (``?message_id=``)."""
    query = peer.target_uri.partition("?")[2]
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == outbox.MESSAGE_ID_PARAM and len(value) <= 32:  # noqa: PLR2004
            return value
    return None


def _answer(row: Introduction) -> dict[str, str]:
    return {"id": row.id, "state": row.state}


@peer_router.post("")
def receive_request(peer: VerifiedPeer, session: SessionDep, now: NowDep) -> dict[str, str]:
    request = _parse(IntroductionRequest, peer.body)
    message_id = _message_id(peer)
    row = service.receive_request(session, request, peer=peer.peer.node_id, now=now)
    if not outbox.already_received(session, peer=peer.peer.node_id, message_id=message_id):
        outbox.record_received(
            session, peer=peer.peer.node_id, message_id=message_id, kind=service.REQUEST, now=now
        )
    return _answer(row)


@peer_router.post("/{introduction_id}/decision")
def receive_decision(
    introduction_id: str,
    peer: VerifiedPeer,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
) -> dict[str, str]:
    decision = _parse(IntroductionDecision, peer.body)
    if decision.id != introduction_id:
        raise InputError("the decision names another introduction", field="id")
    sender, message_id = peer.peer.node_id, _message_id(peer)
    if outbox.already_received(session, peer=sender, message_id=message_id):
        return _answer(service.get(session, introduction_id, sender))
    row = service.decision_received(
        session, decision, peer=peer.peer, outgoing=outgoing(settings), now=now
    )
    outbox.record_received(
        session, peer=sender, message_id=message_id, kind=service.DECISION, now=now
    )
    tasks.add_task(kick, courier, sender)  # our sealed part, once accepted
    return _answer(row)


@peer_router.post("/{introduction_id}/handover")
def receive_handover(
    introduction_id: str,
    peer: VerifiedPeer,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> dict[str, str]:
    handover = _parse(Handover, peer.body)
    if handover.id != introduction_id:
        raise InputError("the handover names another introduction", field="id")
    sender, message_id = peer.peer.node_id, _message_id(peer)
    if outbox.already_received(session, peer=sender, message_id=message_id):
        return _answer(service.get(session, introduction_id, sender))
    row = service.handover_received(
        session,
        handover,
        peer=sender,
        me=settings.node_id or "",
        key=identity.load_encryption_key(settings),
        now=now,
    )
    outbox.record_received(
        session, peer=sender, message_id=message_id, kind=service.HANDOVER, now=now
    )
    return _answer(row)


# --- our consultants -------------------------------------------------------------------


class NewIntroduction(BaseModel):
    peer: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    kind: Literal["client_for_opening", "candidate_for_vacancy"]
    summary_id: str | None = None
    client_id: str | None = None
    handle: str | None = None
    vacancy_id: str | None = None
    note: str = Field(default="", max_length=500)


def create_introduction(
    session: Session,
    data: NewIntroduction,
    *,
    secret: bytes,
    settings: Settings,
    peers: PeerRegistry,
    actor: Actor,
    key: str | None,
    now: datetime,
) -> IntroductionPublic:
    """The use case behind the API and the web form: record and queue (no peer call)."""
    peers.get(data.peer)  # 404 for an unknown peer, before anything is stored
    row = service.request_introduction(
        session,
        service.NewRequest(**data.model_dump(), idempotency_key=key),
        scrubber=publishing.scrubber_for(session, secret),
        secret=secret,
        actor=actor,
        outgoing=outgoing(settings),
        now=now,
    )
    return view(session, row)


@router.post("", response_model=IntroductionPublic, status_code=202)
def create(
    data: NewIntroduction,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    peers: PeersDep,
    courier: CourierDep,
    actor: ActorDep,
    now: NowDep,
    key: IdempotencyKeyDep,
    tasks: BackgroundTasks,
    _: ConsultantUser,
) -> IntroductionPublic:
    """Ask another bureau for an introduction, in either direction. 202: the request is
    recorded and queued for the peer; ``message.state`` says where it stands. With an
    ``Idempotency-Key`` header sent before, the introduction made then is returned."""
    made = create_introduction(
        session,
        data,
        secret=request.app.state.publisher.secret,
        settings=settings,
        peers=peers,
        actor=actor,
        key=key,
        now=now,
    )
    tasks.add_task(kick, courier, data.peer)
    return made


@router.get("", response_model=list[IntroductionPublic])
def list_introductions(session: SessionDep, _: ConsultantUser) -> list[IntroductionPublic]:
    return introductions(session)


class DecisionIn(BaseModel):
    accept: bool
    client_consents: bool = False
    reason: str = Field(default="", max_length=500)


@router.post("/{introduction_id}/decision", response_model=IntroductionPublic)
def decide(
    introduction_id: str,
    data: DecisionIn,
    session: SessionDep,
    settings: SettingsDep,
    peers: PeersDep,
    courier: CourierDep,
    actor: ActorDep,
    now: NowDep,
    tasks: BackgroundTasks,
    _: ConsultantUser,
) -> IntroductionPublic:
    """Accept (with the client's consent where the client is ours) or decline. The
    decision (and, once accepted, our sealed part) is queued for the peer."""
    row = service.get(session, introduction_id)
    row = service.decide_and_tell(
        session,
        introduction_id=introduction_id,
        accept=data.accept,
        client_consents=data.client_consents,
        reason=data.reason,
        actor=actor,
        peer=peers.get(row.peer),
        outgoing=outgoing(settings),
        now=now,
    )
    tasks.add_task(kick, courier, row.peer)
    return view(session, row)


@router.post("/{introduction_id}/resend", response_model=IntroductionPublic)
def resend(
    introduction_id: str,
    session: SessionDep,
    settings: SettingsDep,
    courier: CourierDep,
    now: NowDep,
    tasks: BackgroundTasks,
    _: ConsultantUser,
) -> IntroductionPublic:
    """Queue the failed messages about this introduction again (409 if none failed)."""
    row = service.resend(
        session, introduction_id=introduction_id, outgoing=outgoing(settings), now=now
    )
    tasks.add_task(kick, courier, row.peer)
    return view(session, row)


@router.post("/{introduction_id}/cancel", response_model=IntroductionPublic)
def cancel(
    introduction_id: str,
    session: SessionDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> IntroductionPublic:
    """Cancel the queued or failed messages about this introduction (409 if none wait);
    an unsent request withdraws the introduction (state ``cancelled``)."""
    row = service.withdraw(session, introduction_id=introduction_id, actor=actor, now=now)
    return view(session, row)


@router.get("/{introduction_id}/handover")
def handover(
    introduction_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    now: NowDep,
    _: ConsultantUser,
) -> dict[str, Any]:
    """What the other bureau handed over (contact details): opened now, and audited."""
    return service.open_handover(
        session,
        introduction_id=introduction_id,
        me=settings.node_id or "",
        key=identity.load_encryption_key(settings),
        actor=actor,
        now=now,
    )
