"""Introduction endpoints: node to node, and for our consultants."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.api.deps import ActorDep, ConsultantUser, NowDep, SessionDep, SettingsDep
from topmatch.bounds import CleanInput
from topmatch.errors import InputError, PeerError, input_error
from topmatch.federation.inbound import VerifiedPeer
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import service as identity
from topmatch.publishing import service as publishing
from topmatch.referrals import service
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import Handover, IntroductionDecision, IntroductionRequest
from topmatch.settings import Settings

peer_router = APIRouter(prefix="/federation/v1/introductions", tags=["federation (node to node)"])
router = APIRouter(prefix="/api/v1/introductions", tags=["introductions"])


def _parse(model: type[Any], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        raise input_error(e, "not a valid message") from e


class IntroductionPublic(BaseModel):
    id: str
    peer: str
    role: str
    kind: str
    state: str
    summary_id: str | None
    handle: str | None
    client_id: str | None
    vacancy_id: str | None
    profile: dict[str, Any]
    handover_received: bool
    handover_sent: bool


def public(row: Introduction) -> IntroductionPublic:
    """The API's view of one introduction (the web app shows the same)."""
    return IntroductionPublic(
        id=row.id,
        peer=row.peer,
        role=row.role,
        kind=row.kind,
        state=row.state,
        summary_id=row.summary_id,
        handle=row.handle,
        client_id=row.client_id,
        vacancy_id=row.vacancy_id,
        profile=row.profile,
        handover_received=row.handover_in is not None,
        handover_sent=row.handover_sent,
    )


async def _send(state: Any, peer_id: str, path: str, body: bytes) -> str | None:
    registry: PeerRegistry = state.peers
    try:
        response = await state.peer_client.call(registry.get(peer_id), "POST", path, json_body=body)
    except PeerError as e:
        return e.diagnostics()
    if response.status != 200:  # noqa: PLR2004
        return f"HTTP {response.status}: {response.body[:300].decode(errors='replace')}"
    return None


async def _hand_over(state: Any, settings: Settings, introduction_id: str) -> str | None:
    """Seal our part to the peer and send it."""

    def seal() -> tuple[str, Handover]:
        with db.transaction(state.engine) as session:
            row = session.get(Introduction, introduction_id)
            assert row is not None  # noqa: S101
            return row.peer, service.seal_our_part(
                session,
                row,
                me=settings.node_id or "",
                peer=state.peers.get(row.peer),
            )

    peer_id, handover = await run_in_threadpool(seal)
    error = await _send(
        state,
        peer_id,
        f"/federation/v1/introductions/{introduction_id}/handover",
        handover.model_dump_json().encode(),
    )
    if error is None:  # only what arrived counts as handed over

        def mark() -> None:
            with db.transaction(state.engine) as session:
                service.mark_handed_over(session, introduction_id, now=state.clock())

        await run_in_threadpool(mark)
    return error


# --- node to node ----------------------------------------------------------------------


@peer_router.post("")
def receive_request(peer: VerifiedPeer, session: SessionDep, now: NowDep) -> dict[str, str]:
    request = _parse(IntroductionRequest, peer.body)
    row = service.receive_request(session, request, peer=peer.peer.node_id, now=now)
    return {"id": row.id, "state": row.state}


@peer_router.post("/{introduction_id}/decision")
def receive_decision(
    introduction_id: str,
    peer: VerifiedPeer,
    session: SessionDep,
    now: NowDep,
    request: Request,
    settings: SettingsDep,
    tasks: BackgroundTasks,
) -> dict[str, str]:
    decision = _parse(IntroductionDecision, peer.body)
    if decision.id != introduction_id:
        raise InputError("the decision names another introduction", field="id")
    row = service.receive_decision(session, decision, peer=peer.peer.node_id, now=now)
    if row.state == "accepted" and not row.handover_sent:
        # After this response is sent (and committed): our part, sealed to the peer.
        tasks.add_task(_hand_over, request.app.state, settings, row.id)
    return {"id": row.id, "state": row.state}


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
    row = service.receive_handover(
        session,
        handover,
        peer=peer.peer.node_id,
        me=settings.node_id or "",
        key=identity.load_encryption_key(settings),
        now=now,
    )
    return {"id": row.id, "state": row.state}


# --- our consultants -------------------------------------------------------------------


class NewIntroduction(CleanInput):
    peer: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    kind: Literal["client_for_opening", "candidate_for_vacancy"]
    summary_id: str | None = None
    client_id: str | None = None
    handle: str | None = None
    vacancy_id: str | None = None
    note: str = Field(default="", max_length=500)


class Sent(BaseModel):
    introduction: IntroductionPublic
    delivered: bool
    error: str | None = None


@router.post("", response_model=Sent)
async def create(
    data: NewIntroduction,
    request: Request,
    settings: SettingsDep,
    actor: ActorDep,
    _: ConsultantUser,
) -> Sent:
    """Ask another bureau for an introduction, in either direction."""
    state = request.app.state

    def build() -> tuple[Introduction, IntroductionRequest]:
        with db.transaction(state.engine) as session:
            scrubber = publishing.scrubber_for(session, state.publisher.secret)
            if data.kind == "client_for_opening":
                if not data.summary_id or not data.client_id:
                    raise InputError("needs summary_id and client_id", field="summary_id")
                return service.client_for_opening(
                    session,
                    peer=data.peer,
                    summary_id=data.summary_id,
                    client_id=data.client_id,
                    note=data.note,
                    scrubber=scrubber,
                    actor=actor,
                    now=state.clock(),
                )
            if not data.handle or not data.vacancy_id:
                raise InputError("needs handle and vacancy_id", field="handle")
            return service.candidate_for_vacancy(
                session,
                peer=data.peer,
                handle=data.handle,
                vacancy_id=data.vacancy_id,
                note=data.note,
                scrubber=scrubber,
                secret=state.publisher.secret,
                origin=settings.node_id or "",
                now=state.clock(),
            )

    state.peers.get(data.peer)  # 404 for an unknown peer, before anything is stored
    row, message = await run_in_threadpool(build)
    error = await _send(
        state, data.peer, "/federation/v1/introductions", message.model_dump_json().encode()
    )
    return Sent(introduction=public(row), delivered=error is None, error=error)


@router.get("", response_model=list[IntroductionPublic])
def list_introductions(session: SessionDep, _: ConsultantUser) -> list[IntroductionPublic]:
    rows = session.exec(select(Introduction).order_by(col(Introduction.updated_at).desc())).all()
    return [public(r) for r in rows]


class DecisionIn(CleanInput):
    accept: bool
    client_consents: bool = False
    reason: str = Field(default="", max_length=500)


@router.post("/{introduction_id}/decision", response_model=Sent)
async def decide(
    introduction_id: str,
    data: DecisionIn,
    request: Request,
    settings: SettingsDep,
    actor: ActorDep,
    _: ConsultantUser,
) -> Sent:
    """Accept (with the client's consent where the client is ours) or decline."""
    state = request.app.state

    def record() -> tuple[Introduction, IntroductionDecision]:
        with db.transaction(state.engine) as session:
            return service.decide(
                session,
                introduction_id=introduction_id,
                accept=data.accept,
                client_consents=data.client_consents,
                actor=actor,
                now=state.clock(),
                scrubber=publishing.scrubber_for(session, state.publisher.secret),
                reason=data.reason,
            )

    row, decision = await run_in_threadpool(record)
    error = await _send(
        state,
        row.peer,
        f"/federation/v1/introductions/{row.id}/decision",
        decision.model_dump_json().encode(),
    )
    if error is None and row.state == "accepted":
        error = await _hand_over(state, settings, row.id)
    with db.transaction(state.engine) as session:
        fresh = session.get(Introduction, row.id)
        assert fresh is not None  # noqa: S101
        return Sent(introduction=public(fresh), delivered=error is None, error=error)


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
