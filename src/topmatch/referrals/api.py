"""Introduction endpoints: node to node, and for our consultants.

Thin routers over :mod:`topmatch.referrals.service`. Nothing here calls a peer: a use case
records its change and queues its messages in the outbox in one transaction
(:mod:`topmatch.federation.outbox`); after the commit a background task kicks a delivery
attempt, and the worker keeps trying (docs/adr/0013-outbox.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks
from pydantic import ValidationError

from topmatch.api.cardbox_deps import PublisherDep
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
from topmatch.errors import InputError, input_error
from topmatch.federation import outbox
from topmatch.federation.inbound import VerifiedPeer, VerifiedRequest
from topmatch.identity import service as identity
from topmatch.referrals import service
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import (
    DecisionIn,
    Handover,
    IntroductionDecision,
    IntroductionPublic,
    IntroductionRequest,
    IntroductionWithdrawal,
    NewIntroduction,
)

peer_router = APIRouter(prefix="/federation/v1/introductions", tags=["federation (node to node)"])
router = APIRouter(prefix="/api/v1/introductions", tags=["introductions"])


def _parse(model: type[Any], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        raise input_error(e, "not a valid message") from e


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
        session, decision, peer=peer.peer, outgoing=service.outgoing(settings), now=now
    )
    outbox.record_received(
        session, peer=sender, message_id=message_id, kind=service.DECISION, now=now
    )
    tasks.add_task(outbox.kick, courier, sender)  # our sealed part, once accepted
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


@peer_router.post("/{introduction_id}/withdrawal")
def receive_withdrawal(
    introduction_id: str, peer: VerifiedPeer, session: SessionDep, now: NowDep
) -> dict[str, str]:
    withdrawal = _parse(IntroductionWithdrawal, peer.body)
    if withdrawal.id != introduction_id:
        raise InputError("the withdrawal names another introduction", field="id")
    sender, message_id = peer.peer.node_id, _message_id(peer)
    if outbox.already_received(session, peer=sender, message_id=message_id):
        return _answer(service.get(session, introduction_id, sender))
    row = service.withdrawal_received(session, withdrawal, peer=sender, now=now)
    outbox.record_received(
        session, peer=sender, message_id=message_id, kind=service.WITHDRAWAL, now=now
    )
    return _answer(row)


# --- our consultants -------------------------------------------------------------------


@router.post("", response_model=IntroductionPublic, status_code=202)
def create(
    data: NewIntroduction,
    publisher: PublisherDep,
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
    made = service.create_introduction(
        session,
        data,
        secret=publisher.secret,
        settings=settings,
        peers=peers,
        actor=actor,
        key=key,
        now=now,
    )
    tasks.add_task(outbox.kick, courier, data.peer)
    return made


@router.get("", response_model=list[IntroductionPublic])
def list_introductions(session: SessionDep, _: ConsultantUser) -> list[IntroductionPublic]:
    return service.introductions(session)


@router.post("/{introduction_id}/decision", response_model=IntroductionPublic)
def decide(
    introduction_id: str,
    data: DecisionIn,
    publisher: PublisherDep,
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
        secret=publisher.secret,
        actor=actor,
        peer=peers.get(row.peer),
        outgoing=service.outgoing(settings),
        now=now,
    )
    tasks.add_task(outbox.kick, courier, row.peer)
    return service.view(session, row)


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
        session, introduction_id=introduction_id, outgoing=service.outgoing(settings), now=now
    )
    tasks.add_task(outbox.kick, courier, row.peer)
    return service.view(session, row)


@router.post("/{introduction_id}/cancel", response_model=IntroductionPublic)
def cancel(
    introduction_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    now: NowDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
    _: ConsultantUser,
) -> IntroductionPublic:
    """Cancel the queued or failed messages about this introduction (409 if none wait);
    a cancelled request withdraws the introduction (state ``cancelled``), at the other
    bureau too if the request may have reached it."""
    row = service.withdraw(
        session,
        introduction_id=introduction_id,
        actor=actor,
        now=now,
        outgoing=service.outgoing(settings),
    )
    tasks.add_task(outbox.kick, courier, row.peer)
    return service.view(session, row)


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
