"""Introductions: request, decide, hand over what each side holds, and only then.

The side that holds the client releases the client's contact details, the side that holds
the vacancy releases the employer's; each only after the introduction was accepted, the
client's part only with the client's consent, and both sealed to the receiving node's
X25519 key (:mod:`topmatch.referrals.sealed`). What a node receives is stored sealed and
opened only when a consultant looks at it, which the audit trail records.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from topmatch import wiretext
from topmatch.audit import service as audit
from topmatch.audit.service import Actor
from topmatch.cardbox.models import Client, Employer, Vacancy
from topmatch.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from topmatch.federation import outbox
from topmatch.federation.models import OutboxMessage, ReplicaSummary
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.matching import candidates, scoring
from topmatch.matching.models import CandidateHandle
from topmatch.publishing import service as publishing
from topmatch.publishing.anonymise import Scrubber
from topmatch.publishing.models import PublishedRecord
from topmatch.referrals import sealed
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import (
    Handover,
    IntroductionDecision,
    IntroductionPublic,
    IntroductionRequest,
    IntroductionWithdrawal,
    NewIntroduction,
    public,
)
from topmatch.settings import Settings


def _get(session: Session, introduction_id: str, peer: str | None = None) -> Introduction:
    row = session.get(Introduction, introduction_id)
    if row is None or (peer is not None and row.peer != peer):
        raise NotFoundError(
            f"no introduction {introduction_id}" + (f" with {peer}" if peer else "")
        )
    return row


def get(session: Session, introduction_id: str, peer: str | None = None) -> Introduction:
    """One introduction (with ``peer``: only if it is with that peer), or NotFoundError."""
    return _get(session, introduction_id, peer)


def _new(session: Session, **values: Any) -> Introduction:
    row = Introduction(**values)
    session.add(row)
    session.flush()
    return row


# --- requester -------------------------------------------------------------------------


def client_for_opening(
    session: Session,
    *,
    peer: str,
    summary_id: str,
    client_id: str,
    note: str,
    scrubber: Scrubber,
    actor: Actor,
    now: datetime,
) -> tuple[Introduction, IntroductionRequest]:
    """Offer one of our clients (anonymised) for a peer's published opening."""
    opening = session.get(ReplicaSummary, (peer, summary_id))
    if opening is None or opening.deleted:
        raise InputError(f"{peer} has no open opening {summary_id}", field="summary_id")
    client = session.get(Client, client_id)
    if client is None:
        raise InputError(f"no client with id {client_id}", field="client_id")
    if not client.consent_share_profile:
        raise PermissionDeniedError("this client has not consented to sharing their profile")
    profile = candidates.anonymise(
        client,
        match=scoring.Match(score=0.0, reasons=()),
        handle="c-" + uuid.uuid4().hex,
        scrubber=scrubber,
        today=now.date(),
    )
    row = _new(
        session,
        id=uuid.uuid4().hex,
        peer=peer,
        role="requester",
        kind="client_for_opening",
        state="requested",
        client_id=client_id,
        summary_id=summary_id,
        created_at=now,
        updated_at=now,
    )
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.query,
        entity="client",
        entity_id=client_id,
        detail={"introduction": row.id},
    )
    with wiretext.scrubbing(scrubber):  # the note is scrubbed of every card-box name
        return row, IntroductionRequest(
            id=row.id, kind="client_for_opening", summary_id=summary_id, client=profile, note=note
        )


def candidate_for_vacancy(
    session: Session,
    *,
    peer: str,
    handle: str,
    vacancy_id: str,
    note: str,
    scrubber: Scrubber,
    secret: bytes,
    origin: str,
    now: datetime,
) -> tuple[Introduction, IntroductionRequest]:
    """Ask a peer to introduce its candidate (by the handle it gave us) for our vacancy."""
    vacancy = session.get(Vacancy, vacancy_id)
    if vacancy is None:
        raise InputError(f"no vacancy with id {vacancy_id}", field="vacancy_id")
    employer = session.get(Employer, vacancy.employer_id)
    assert employer is not None  # noqa: S101 - a foreign key guarantees it
    profile = candidates.vacancy_profile(
        vacancy=vacancy, employer=employer, scrubber=scrubber, secret=secret, origin=origin, now=now
    )
    row = _new(
        session,
        id=uuid.uuid4().hex,
        peer=peer,
        role="requester",
        kind="candidate_for_vacancy",
        state="requested",
        vacancy_id=vacancy_id,
        handle=handle,
        created_at=now,
        updated_at=now,
    )
    with wiretext.scrubbing(scrubber):
        return row, IntroductionRequest(
            id=row.id, kind="candidate_for_vacancy", handle=handle, vacancy=profile, note=note
        )


# --- responder -------------------------------------------------------------------------


def receive_request(
    session: Session, request: IntroductionRequest, *, peer: str, now: datetime
) -> Introduction:
    """A peer's request, tied to what it names on our side (our opening, our candidate)."""
    existing = session.get(Introduction, request.id)
    if existing is not None:
        if existing.peer != peer:
            raise ConflictError(f"introduction id {request.id} is taken")
        return existing
    values: dict[str, Any] = {
        "id": request.id,
        "peer": peer,
        "role": "responder",
        "kind": request.kind,
        "state": "requested",
        "created_at": now,
        "updated_at": now,
    }
    if request.kind == "client_for_opening":
        published = session.exec(
            select(PublishedRecord).where(
                PublishedRecord.summary_id == request.summary_id, col(PublishedRecord.live)
            )
        ).first()
        if published is None:
            raise InputError(
                f"{request.summary_id} is not one of our open openings", field="summary_id"
            )
        values.update(
            summary_id=request.summary_id,
            vacancy_id=published.record_id,
            profile=json.loads(request.client.model_dump_json()) if request.client else {},
        )
    else:
        handle = session.get(CandidateHandle, request.handle)
        if handle is None or handle.asking_peer != peer or handle.expires_at < now:
            raise InputError("unknown or expired candidate handle", field="handle")
        values.update(
            handle=request.handle,
            client_id=handle.client_id,
            profile=json.loads(request.vacancy.model_dump_json()) if request.vacancy else {},
        )
    return _new(session, **values)


def decide(
    session: Session,
    *,
    introduction_id: str,
    accept: bool,
    client_consents: bool,
    actor: Actor,
    now: datetime,
    scrubber: Scrubber,
    reason: str = "",
) -> tuple[Introduction, IntroductionDecision]:
    """The responder's consultant accepts or declines. The reason goes to the other bureau,
    scrubbed of patterns and of every name in our card-box (``scrubber``), whether or not
    the client it names is part of this introduction."""
    row = _get(session, introduction_id)
    if row.role != "responder":
        raise PermissionDeniedError("only the bureau that was asked can accept or decline")
    if row.state != "requested":
        raise ConflictError(f"introduction is already {row.state}", field="state")
    if accept and row.client_id is not None and not client_consents:
        raise InputError(
            "the client's consent to hand over their contact details is needed",
            field="client_consents",
        )
    row.state = "accepted" if accept else "declined"
    row.updated_at = now
    session.add(row)
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.update,
        entity="introduction",
        entity_id=row.id,
        detail={"state": row.state},
    )
    with wiretext.scrubbing(scrubber):
        return row, IntroductionDecision(
            id=row.id, decision="accepted" if accept else "declined", reason=reason
        )


def receive_decision(
    session: Session, decision: IntroductionDecision, *, peer: str, now: datetime
) -> Introduction:
    row = _get(session, decision.id, peer)
    if row.role != "requester":
        raise ConflictError("a decision is for the bureau that asked")
    if row.state != "requested":
        if row.state in {decision.decision, "cancelled"}:
            # a repeated message; or we withdrew and our withdrawal crossed their
            # decision: it tells them, so their decision changes nothing here
            return row
        raise ConflictError(f"introduction is already {row.state}")
    row.state, row.updated_at = decision.decision, now
    session.add(row)
    return row


# --- handover --------------------------------------------------------------------------


def _context(sender: str, recipient: str, introduction_id: str, part: str) -> bytes:
    return f"topmatch handover v1\n{sender}\n{recipient}\n{introduction_id}\n{part}".encode()


def our_part(session: Session, row: Introduction) -> tuple[str, dict[str, Any]]:
    """What we release once accepted: the client's contact details or the employer's."""
    if row.client_id is not None:
        client = session.get(Client, row.client_id)
        if client is None:
            raise NotFoundError("the client of this introduction was erased")
        return "client", {
            "first_name": client.first_name,
            "name_prefix": client.name_prefix,
            "last_name": client.last_name,
            "phone": client.phone,
            "email": client.email,
            "municipality": client.municipality,
        }
    vacancy = session.get(Vacancy, row.vacancy_id) if row.vacancy_id else None
    employer = session.get(Employer, vacancy.employer_id) if vacancy else None
    if vacancy is None or employer is None:
        raise NotFoundError("the vacancy of this introduction is gone")
    return "employer", {
        "employer": employer.name,
        "contact_name": employer.contact_name,
        "contact_phone": employer.contact_phone,
        "contact_email": employer.contact_email,
        "vacancy": vacancy.title,
        "municipality": vacancy.municipality,
        "postcode": vacancy.postcode,
    }


def seal_our_part(
    session: Session, row: Introduction, *, me: str, peer: PeerDescriptor
) -> Handover:
    if row.state != "accepted":
        raise ConflictError(f"nothing is handed over before acceptance (state {row.state})")
    if peer.encryption_key is None:
        raise InputError(
            f"{peer.node_id} publishes no encryption key: it cannot receive personal data"
        )
    part, data = our_part(session, row)
    recipient = X25519PublicKey.from_public_bytes(keys.b64url_decode(peer.encryption_key))
    box = sealed.seal(
        json.dumps(data).encode(),
        recipient=recipient,
        context=_context(me, peer.node_id, row.id, part),
    )
    session.add(row)
    return Handover(id=row.id, part=part, sealed=base64.b64encode(box).decode(), size=len(box))


def receive_handover(
    session: Session,
    handover: Handover,
    *,
    peer: str,
    me: str,
    key: X25519PrivateKey,
    now: datetime,
) -> Introduction:
    """Keep the other side's part, sealed; it must open (then the plaintext is dropped)."""
    row = _get(session, handover.id, peer)
    if row.handover_in is not None:
        return row  # a repeated message: the first copy is kept
    if row.state == "cancelled":
        return row  # withdrawn meanwhile (our withdrawal tells them): the part is not kept
    if row.state not in {"accepted", "placed"}:
        raise ConflictError(f"a handover before acceptance is refused (state {row.state})")
    box = base64.b64decode(handover.sealed)
    sealed.open_sealed(box, recipient=key, context=_context(peer, me, row.id, handover.part))
    row.handover_in, row.updated_at = box, now
    session.add(row)
    return row


def open_handover(
    session: Session,
    *,
    introduction_id: str,
    me: str,
    key: X25519PrivateKey,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Show what the other bureau handed over (audited: it is personal data)."""
    row = _get(session, introduction_id)
    if row.handover_in is None:
        raise NotFoundError("nothing was handed over yet")
    part = "employer" if row.client_id is not None else "client"
    data: dict[str, Any] = json.loads(
        sealed.open_sealed(
            row.handover_in, recipient=key, context=_context(row.peer, me, row.id, part)
        )
    )
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.read,
        entity="introduction",
        entity_id=row.id,
        detail={"part": part},
    )
    return {"part": part, **data}


def mark_placed(session: Session, introduction_id: str, *, now: datetime) -> None:
    """The introduction led to a placement (its ledger entry is in our log)."""
    row = session.get(Introduction, introduction_id)
    if row is not None and row.state == "accepted":
        row.state, row.updated_at = "placed", now
        session.add(row)


def placement_problem(
    session: Session,
    introduction_id: str,
    *,
    payer: str,
    payee: str,
    me: str,
    payer_rule: str | None = "client_bureau",
) -> str | None:
    """Why a new placement under this introduction cannot be signed by us, or None.

    It needs an introduction between the two parties that we hold as accepted (not yet
    placed: one placement per introduction), and the fee agreement's payer rule:
    ``client_bureau`` (the bureau whose client was placed pays the bureau that brought the
    opening), ``opening_bureau`` (the other way round) or None (not checked here).
    """
    row = session.get(Introduction, introduction_id)
    other = ({payer, payee} - {me}) or {""}
    if row is None or me not in {payer, payee} or row.peer not in other:
        return f"no introduction {introduction_id} between {payer} and {payee} in our records"
    if row.state == "placed":
        return f"introduction {introduction_id} already led to a placement"
    if row.state != "accepted":
        return f"introduction {introduction_id} is {row.state}, not accepted"
    client_holder = me if row.client_id is not None else row.peer
    if payer_rule == "client_bureau" and payer != client_holder:
        return (
            f"the bureau whose client is placed pays: expected payer {client_holder}, got {payer}"
        )
    if payer_rule == "opening_bureau" and payer == client_holder:
        return f"the bureau that brought the opening pays: {client_holder} placed its own client"
    return None


def mark_handed_over(session: Session, introduction_id: str, *, now: datetime) -> None:
    """Our part arrived at the other bureau."""
    row = _get(session, introduction_id)
    row.handover_sent, row.updated_at = True, now
    session.add(row)


# --- messages to the other bureau (through the outbox) ----------------------------------

REQUEST = "introduction.request"
DECISION = "introduction.decision"
HANDOVER = "introduction.handover"
WITHDRAWAL = "introduction.withdrawal"
PATH = "/federation/v1/introductions"


@dataclass(frozen=True)
class NewRequest:
    """What a consultant asks for; ``idempotency_key`` makes asking twice ask once."""

    peer: str
    kind: str
    summary_id: str | None = None
    client_id: str | None = None
    handle: str | None = None
    vacancy_id: str | None = None
    note: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """Where our messages go and how long the outbox keeps trying."""

    me: str
    horizon: timedelta


def outgoing(settings: Settings) -> Outgoing:
    """Who we are and how long the outbox tries, from the settings."""
    return Outgoing(me=settings.node_id or "", horizon=timedelta(days=settings.outbox_horizon_days))


def view(session: Session, row: Introduction) -> IntroductionPublic:
    """One introduction with where our newest message about it stands."""
    return public(row, outbox.for_references(session, [row.id]).get(row.id))


def introductions(session: Session) -> list[IntroductionPublic]:
    """Every introduction, the most recently changed first, each with its message state."""
    rows = session.exec(select(Introduction).order_by(col(Introduction.updated_at).desc())).all()
    messages = outbox.for_references(session, [r.id for r in rows])
    return [public(r, messages.get(r.id)) for r in rows]


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
    row = request_introduction(
        session,
        NewRequest(**data.model_dump(), idempotency_key=key),
        scrubber=publishing.scrubber_for(session, secret),
        secret=secret,
        actor=actor,
        outgoing=outgoing(settings),
        now=now,
    )
    return view(session, row)


def request_introduction(
    session: Session,
    new: NewRequest,
    *,
    scrubber: Scrubber,
    secret: bytes,
    actor: Actor,
    outgoing: Outgoing,
    now: datetime,
) -> Introduction:
    """Record the request and queue it for the peer (one transaction). With an
    ``idempotency_key`` seen before, the introduction made then is returned as it is."""
    if new.idempotency_key:
        existing = session.exec(
            select(Introduction).where(Introduction.idempotency_key == new.idempotency_key)
        ).first()
        if existing is not None:
            return existing
    row, message = _build_request(
        session, new, scrubber=scrubber, secret=secret, actor=actor, outgoing=outgoing, now=now
    )
    row.idempotency_key = new.idempotency_key or None
    session.add(row)
    try:
        session.flush()
    except IntegrityError as e:  # the same key at the same moment, from another request
        raise ConflictError(
            "this introduction is being made already", field="idempotency_key"
        ) from e
    outbox.enqueue(
        session,
        peer=row.peer,
        kind=REQUEST,
        path=PATH,
        body=message.model_dump_json().encode(),
        reference=row.id,
        now=now,
        horizon=outgoing.horizon,
    )
    return row


def _build_request(
    session: Session,
    new: NewRequest,
    *,
    scrubber: Scrubber,
    secret: bytes,
    actor: Actor,
    outgoing: Outgoing,
    now: datetime,
) -> tuple[Introduction, IntroductionRequest]:
    if new.kind == "client_for_opening":
        if not new.summary_id or not new.client_id:
            raise InputError("needs summary_id and client_id", field="summary_id")
        return client_for_opening(
            session,
            peer=new.peer,
            summary_id=new.summary_id,
            client_id=new.client_id,
            note=new.note,
            scrubber=scrubber,
            actor=actor,
            now=now,
        )
    if not new.handle or not new.vacancy_id:
        raise InputError("needs handle and vacancy_id", field="handle")
    return candidate_for_vacancy(
        session,
        peer=new.peer,
        handle=new.handle,
        vacancy_id=new.vacancy_id,
        note=new.note,
        scrubber=scrubber,
        secret=secret,
        origin=outgoing.me,
        now=now,
    )


def decide_and_tell(
    session: Session,
    *,
    introduction_id: str,
    accept: bool,
    client_consents: bool,
    reason: str,
    secret: bytes,
    actor: Actor,
    peer: PeerDescriptor,
    outgoing: Outgoing,
    now: datetime,
) -> Introduction:
    """Decide (:func:`decide`, the reason scrubbed with our publishing ``secret``) and
    queue the decision, then, if accepted, our sealed part."""
    row, decision = decide(
        session,
        introduction_id=introduction_id,
        accept=accept,
        client_consents=client_consents,
        actor=actor,
        now=now,
        scrubber=publishing.scrubber_for(session, secret),
        reason=reason,
    )
    if row.peer != peer.node_id:
        raise InputError(f"introduction {row.id} is with {row.peer}, not {peer.node_id}")
    outbox.enqueue(
        session,
        peer=row.peer,
        kind=DECISION,
        path=f"{PATH}/{row.id}/decision",
        body=decision.model_dump_json().encode(),
        reference=row.id,
        now=now,
        horizon=outgoing.horizon,
    )
    if row.state == "accepted":
        queue_handover(session, row, peer=peer, outgoing=outgoing, now=now)
    return row


def queue_handover(
    session: Session,
    row: Introduction,
    *,
    peer: PeerDescriptor,
    outgoing: Outgoing,
    now: datetime,
) -> None:
    """Seal our part to the peer and queue it (sealed at rest too: only the peer opens it)."""
    handover = seal_our_part(session, row, me=outgoing.me, peer=peer)
    outbox.enqueue(
        session,
        peer=row.peer,
        kind=HANDOVER,
        path=f"{PATH}/{row.id}/handover",
        body=handover.model_dump_json().encode(),
        reference=row.id,
        now=now,
        horizon=outgoing.horizon,
    )


def decision_received(
    session: Session,
    decision: IntroductionDecision,
    *,
    peer: PeerDescriptor,
    outgoing: Outgoing,
    now: datetime,
) -> Introduction:
    """The peer decided on our request: record it; once accepted, queue our sealed part."""
    before = session.get(Introduction, decision.id)
    was = before.state if before is not None else None
    row = receive_decision(session, decision, peer=peer.node_id, now=now)
    outbox.mark_answered(session, reference=row.id, kind=REQUEST)
    if row.state == "accepted" and was == "requested":
        queue_handover(session, row, peer=peer, outgoing=outgoing, now=now)
    return row


def handover_received(
    session: Session,
    handover: Handover,
    *,
    peer: str,
    me: str,
    key: X25519PrivateKey,
    now: datetime,
) -> Introduction:
    """The peer's sealed part: kept (once), and our decision counts as answered."""
    row = receive_handover(session, handover, peer=peer, me=me, key=key, now=now)
    outbox.mark_answered(session, reference=row.id, kind=DECISION)
    return row


def withdraw(
    session: Session,
    *,
    introduction_id: str,
    actor: Actor,
    now: datetime,
    outgoing: Outgoing | None = None,
) -> Introduction:
    """Cancel what we still have to send about this introduction; an unsent request
    withdraws the introduction itself. A request that may have arrived (an attempt
    reached the peer, its answer never came) is withdrawn at the other bureau too: a withdrawal is
    queued behind it (with ``outgoing``)."""
    row = _get(session, introduction_id)
    cancelled = outbox.cancel(session, reference=row.id)
    request = next((m for m in cancelled if m.kind == REQUEST), None)
    if row.role == "requester" and request is not None:
        row.state, row.updated_at = "cancelled", now
        session.add(row)
        if request.reached and outgoing is not None:
            outbox.enqueue(
                session,
                peer=row.peer,
                kind=WITHDRAWAL,
                path=f"{PATH}/{row.id}/withdrawal",
                body=IntroductionWithdrawal(id=row.id).model_dump_json().encode(),
                reference=row.id,
                now=now,
                horizon=outgoing.horizon,
            )
    audit.record(
        session=session,
        now=now,
        actor=actor.name,
        action=audit.Action.update,
        entity="introduction",
        entity_id=row.id,
        detail={"cancelled": [m.kind for m in cancelled]},
    )
    return row


def withdrawal_received(
    session: Session, withdrawal: IntroductionWithdrawal, *, peer: str, now: datetime
) -> Introduction:
    """The bureau that asked withdrew: the introduction is cancelled here too, whatever we
    decided (nothing was placed yet), and what we still had to send about it is not
    sent. A withdrawal that overtook its request keeps the id as cancelled, so a late
    copy of the request finds it so."""
    row = session.get(Introduction, withdrawal.id)
    if row is None:
        return _new(
            session,
            id=withdrawal.id,
            peer=peer,
            role="responder",
            kind="client_for_opening",
            state="cancelled",
            created_at=now,
            updated_at=now,
        )
    if row.peer != peer or row.role != "responder":
        raise ConflictError("a withdrawal is from the bureau that asked")
    if row.state == "placed":
        raise ConflictError("the introduction led to a placement; it cannot be withdrawn")
    if row.state != "cancelled":
        with contextlib.suppress(ConflictError):  # nothing waiting is fine
            outbox.cancel(session, reference=row.id)
        row.state, row.updated_at = "cancelled", now
        session.add(row)
    return row


def resend(
    session: Session, *, introduction_id: str, outgoing: Outgoing, now: datetime
) -> Introduction:
    """Try the failed messages about this introduction again (with a fresh horizon)."""
    row = _get(session, introduction_id)
    outbox.resend(session, reference=row.id, now=now, horizon=outgoing.horizon)
    return row


def forget_client(session: Session, *, client_id: str) -> int:
    """Erasure of our client: contact details not handed over yet are not sent any more
    (their queued handovers are cancelled and emptied). How many were cancelled."""
    ids = session.exec(select(Introduction.id).where(Introduction.client_id == client_id)).all()
    return sum(outbox.forget(session, reference=i, kinds=(HANDOVER,)) for i in ids)


def _handed_over(session: Session, message: OutboxMessage) -> None:
    if message.reference is not None:
        mark_handed_over(session, message.reference, now=message.delivered_at or datetime.now(UTC))


#: what the outbox does in our records when one of our messages arrived
ON_DELIVERED: dict[str, Callable[[Session, OutboxMessage], None]] = {HANDOVER: _handed_over}
