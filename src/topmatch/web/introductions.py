"""Introductions and placements: asking another bureau for an introduction, deciding on
theirs, the contact details handed over, recording the placement that follows and its
later events, and where each ledger entry stands.

Same service layer as the API, no duplicated business logic. Introductions call the
referrals service directly, as the API does (``referrals.service``: create, decide,
resend, cancel, open the contact details handed over); each queues its messages in the
outbox, and a background task kicks their delivery after the commit
(docs/adr/0013-outbox.md). Placements and events call the ledger's propose use cases
(``ledger.proposals.placement`` and ``ledger.proposals.event``) the same way: they
check, sign, keep the proposal and queue it; a background task kicks its delivery.

They check, store and sign; the page renders what they return, and shows a
:class:`~topmatch.errors.TopmatchError` they raise next to the lists, with the status the
API would give. What the pages add is presentation: which side of the fee we are (from the
fee agreement's payer rule, so that the consultant need not fill it in), which opening an
introduction is about, and a Dutch status per ledger entry.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.accounts.models import Role, User
from topmatch.api.cardbox_deps import PublisherDep
from topmatch.api.deps import (
    BureauNames,
    ClockDep,
    CourierDep,
    EngineDep,
    PeersDep,
    SettingsDep,
)
from topmatch.api.errors import status_of
from topmatch.audit.service import Actor
from topmatch.cardbox import service as cardbox
from topmatch.clock import Clock
from topmatch.errors import InputError, NotFoundError, TopmatchError, input_error
from topmatch.federation import outbox
from topmatch.federation.models import OutboxMessage, ReplicaSummary
from topmatch.identity import service as identity
from topmatch.ledger import flows, proposals
from topmatch.ledger import service as ledger
from topmatch.ledger.deps import ProposerDep, queued
from topmatch.ledger.models import Cosignature, LedgerEntry, PendingProposal
from topmatch.publishing.models import PublishedRecord
from topmatch.referrals import service as referrals
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import IntroductionPublic, NewIntroduction, public
from topmatch.settlement import service as settlement
from topmatch.settlement.periods import local_date
from topmatch.vocabulary import ContractType
from topmatch.web.core import CsrfChecked, WebUser, error_page, render, requires

router = APIRouter(include_in_schema=False)

CONSULTANTS = (Role.consultant, Role.admin)
LEDGER_LINES = 200  # the newest entries of our log on the page
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Node:
    """What the page helpers read: our node id, the database and the clock."""

    me: str
    engine: Engine
    clock: Clock


def node(settings: SettingsDep, engine: EngineDep, clock: ClockDep) -> Node:
    return Node(me=settings.node_id or "", engine=engine, clock=clock)


NodeDep = Annotated[Node, Depends(node)]


@dataclass(frozen=True)
class Opening:
    """The opening an introduction is about, as far as this node knows it."""

    title: str
    contract_type: str | None
    hours: int | None


@dataclass(frozen=True)
class LedgerLine:
    """One entry of our ledger, or one of our proposals not (yet) in it."""

    entry_id: str
    type: str
    status: Literal["proposed", "refused", "signed", "witnessed"]
    counterparty: str
    we_pay: bool
    amount_cents: int
    at: str
    refers_to: str | None
    placement: dict[str, Any] | None
    reason: str | None
    error: str | None
    message: str | None = None  # a proposal's outbox message: queued, sent, failed, ...


@dataclass(frozen=True)
class Ledger:
    lines: list[LedgerLine]
    witnessed_size: int
    witnesses: list[str]


@dataclass(frozen=True)
class Notice:
    """What the action just did, for the message above the lists."""

    kind: Literal["introduction", "decision", "resend", "cancel", "placement", "event"]
    outcome: str  # sent; accepted/declined; countersigned/pending/refused
    peer: str = ""
    error: str | None = None


# --- pages -----------------------------------------------------------------------------


@router.get("/voorstellen", response_class=HTMLResponse)
def introductions_page(
    request: Request, user: WebUser, names: BureauNames, here: NodeDep
) -> HTMLResponse:
    """Introductions both ways, and the placements and events in our ledger."""
    try:
        requires(user, *CONSULTANTS)
        context = _overview(here)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    return render(request, "introductions.html", {**context, "names": names}, user=user)


@router.get("/voorstellen/{introduction_id}", response_class=HTMLResponse)
def introduction_page(
    introduction_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    settings: SettingsDep,
    here: NodeDep,
) -> HTMLResponse:
    """One introduction, with the contact details the other bureau handed over. Opening
    them is recorded in the audit trail (the API's ``GET .../handover``)."""
    me = here.me
    contact: dict[str, Any] | None = None
    problem: TopmatchError | None = None
    try:
        requires(user, *CONSULTANTS)
        with db.transaction(here.engine) as session:
            row = session.get(Introduction, introduction_id)
            if row is None:
                raise NotFoundError(f"no introduction {introduction_id}")
            intro = referrals.view(session, row)
            if intro.handover_received:
                try:
                    contact = referrals.open_handover(
                        session,
                        introduction_id=introduction_id,
                        me=me,
                        key=identity.load_encryption_key(settings),
                        actor=Actor(name=user.name),
                        now=here.clock(),
                    )
                except TopmatchError as e:
                    problem = e
            context = {
                "intro": intro,
                "contact": contact,
                "problem": problem,
                "openings": {intro.id: _opening(session, intro, me)},
                "sides": _sides(session, [intro], me=me, now=here.clock()),
                "contract_types": [c.value for c in ContractType],
                "names": names,
            }
    except TopmatchError as e:
        return error_page(request, e, user=user)
    response = render(request, "introductions_detail.html", context, user=user)
    response.headers["Cache-Control"] = "no-store"  # contact details: never from a cache
    return response


# --- actions: each awaits the API handler, then shows the lists ------------------------


@router.post("/voorstellen/nieuw", response_class=HTMLResponse)
async def new_introduction(
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    tasks: BackgroundTasks,
    peer: Annotated[str, Form(max_length=63)] = "",
    kind: Annotated[str, Form(max_length=30)] = "",
    client_id: Annotated[str, Form(max_length=32)] = "",
    summary_id: Annotated[str, Form(max_length=26)] = "",
    vacancy_id: Annotated[str, Form(max_length=32)] = "",
    handle: Annotated[str, Form(max_length=80)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    idempotency_key: Annotated[str, Form(max_length=64)] = "",
    *,
    here: NodeDep,
    settings: SettingsDep,
    peers: PeersDep,
    publisher: PublisherDep,
    courier: CourierDep,
) -> HTMLResponse:
    """Our client for their opening (from search) or their candidate for our vacancy
    (from a candidate query): the kind follows from what the form names. The form's key
    makes a double click one introduction; the request is queued for the peer."""
    fields = {
        "peer": peer,
        "kind": kind or ("candidate_for_vacancy" if handle else "client_for_opening"),
        "client_id": client_id,
        "summary_id": summary_id,
        "vacancy_id": vacancy_id,
        "handle": handle,
        "note": note,
    }

    def record() -> IntroductionPublic:
        data = _validated(NewIntroduction, {k: v for k, v in fields.items() if v})
        with db.transaction(here.engine) as session:
            return referrals.create_introduction(
                session,
                data,
                secret=publisher.secret,
                settings=settings,
                peers=peers,
                actor=Actor(name=user.name),
                key=idempotency_key or None,
                now=here.clock(),
            )

    async def act() -> Notice:
        made = await run_in_threadpool(record)
        tasks.add_task(outbox.kick, courier, made.peer)
        return Notice("introduction", "queued", peer=made.peer)

    return await _act_then_show(request, user, names, here, act)


@router.post("/voorstellen/{introduction_id}/besluit", response_class=HTMLResponse)
async def record_decision(
    introduction_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    tasks: BackgroundTasks,
    accept: Annotated[bool, Form()],
    client_consents: Annotated[bool, Form()] = False,
    reason: Annotated[str, Form(max_length=500)] = "",
    *,
    here: NodeDep,
    settings: SettingsDep,
    peers: PeersDep,
    publisher: PublisherDep,
    courier: CourierDep,
) -> HTMLResponse:
    """Accept (with our client's consent, where the client is ours) or decline; the
    decision (and, once accepted, our sealed part) is queued for the other bureau."""

    def record() -> Introduction:
        with db.transaction(here.engine) as session:
            row = referrals.get(session, introduction_id)
            return referrals.decide_and_tell(
                session,
                introduction_id=introduction_id,
                accept=accept,
                client_consents=client_consents,
                reason=reason,
                secret=publisher.secret,
                actor=Actor(name=user.name),
                peer=peers.get(row.peer),
                outgoing=referrals.outgoing(settings),
                now=here.clock(),
            )

    async def act() -> Notice:
        row = await run_in_threadpool(record)
        tasks.add_task(outbox.kick, courier, row.peer)
        return Notice("decision", row.state, peer=row.peer)

    return await _act_then_show(request, user, names, here, act)


@router.post("/voorstellen/{introduction_id}/opnieuw", response_class=HTMLResponse)
async def resend_messages(
    introduction_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    tasks: BackgroundTasks,
    here: NodeDep,
    settings: SettingsDep,
    courier: CourierDep,
) -> HTMLResponse:
    """Send the failed messages about this introduction again."""

    def record() -> Introduction:
        with db.transaction(here.engine) as session:
            return referrals.resend(
                session,
                introduction_id=introduction_id,
                outgoing=referrals.outgoing(settings),
                now=here.clock(),
            )

    async def act() -> Notice:
        row = await run_in_threadpool(record)
        tasks.add_task(outbox.kick, courier, row.peer)
        return Notice("resend", "queued", peer=row.peer)

    return await _act_then_show(request, user, names, here, act)


@router.post("/voorstellen/{introduction_id}/annuleren", response_class=HTMLResponse)
async def cancel_messages(
    introduction_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    tasks: BackgroundTasks,
    *,
    here: NodeDep,
    settings: SettingsDep,
    courier: CourierDep,
) -> HTMLResponse:
    """Cancel the messages about this introduction that still wait (queued or failed); a
    request that may have arrived is withdrawn at the other bureau too."""

    def record() -> Introduction:
        with db.transaction(here.engine) as session:
            return referrals.withdraw(
                session,
                introduction_id=introduction_id,
                actor=Actor(name=user.name),
                now=here.clock(),
                outgoing=referrals.outgoing(settings),
            )

    async def act() -> Notice:
        row = await run_in_threadpool(record)
        tasks.add_task(outbox.kick, courier, row.peer)
        return Notice("cancel", "cancelled", peer=row.peer)

    return await _act_then_show(request, user, names, here, act)


@router.post("/voorstellen/{introduction_id}/plaatsing", response_class=HTMLResponse)
async def confirm_placement(
    introduction_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    start_date: Annotated[str, Form(max_length=10)] = "",
    contract_type: Annotated[str, Form(max_length=30)] = "",
    hours_per_week: Annotated[str, Form(max_length=3)] = "",
    *,
    here: NodeDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
) -> HTMLResponse:
    """Record the placement that followed an accepted introduction: we sign, the other
    bureau countersigns, both log it; the fee follows from the agreement in force."""
    form = {
        "start_date": start_date,
        "contract_type": contract_type,
        "hours_per_week": hours_per_week,
    }

    def record() -> flows.ProposalResult:
        proposal = _placement_proposal(here, introduction_id=introduction_id, form=form)
        with db.transaction(here.engine) as session:
            return proposals.placement(session, proposal, proposer=me, now=here.clock())

    async def act() -> Notice:
        result = queued(await run_in_threadpool(record), courier, tasks)
        return Notice(
            "placement", result.status, peer=result.counterparty or "", error=result.error
        )

    return await _act_then_show(request, user, names, here, act)


@router.post("/plaatsingen/{entry_id}/opnieuw", response_class=HTMLResponse)
async def resend_proposal(
    entry_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    tasks: BackgroundTasks,
    here: NodeDep,
    me: ProposerDep,
    courier: CourierDep,
) -> HTMLResponse:
    """Queue a ledger proposal whose message failed again."""

    def record() -> flows.ProposalResult:
        with db.transaction(here.engine) as session:
            return flows.resend(session, entry_id=entry_id, proposer=me, now=here.clock())

    async def act() -> Notice:
        result = queued(await run_in_threadpool(record), courier, tasks)
        return Notice("resend", "queued", peer=result.counterparty or "")

    return await _act_then_show(request, user, names, here, act)


@router.post("/plaatsingen/{entry_id}/gebeurtenis", response_class=HTMLResponse)
async def record_event(
    entry_id: str,
    request: Request,
    user: WebUser,
    names: BureauNames,
    _csrf: CsrfChecked,
    type: Annotated[str, Form(max_length=30)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    *,
    here: NodeDep,
    me: ProposerDep,
    courier: CourierDep,
    tasks: BackgroundTasks,
) -> HTMLResponse:
    """Retention confirmed, voided, disputed, dispute resolved: a new co-signed entry that
    refers to the placement (nothing in the ledger is ever edited)."""

    def record() -> flows.ProposalResult:
        with db.transaction(here.engine) as session:
            key = _event_key(session, entry_id, type)
            proposal = _validated(
                flows.EventProposal,
                {"refers_to": entry_id, "type": type, "reason": reason, "key": key},
            )
            return proposals.event(session, proposal, proposer=me, now=here.clock())

    async def act() -> Notice:
        result = queued(await run_in_threadpool(record), courier, tasks)
        return Notice("event", result.status, peer=result.counterparty or "", error=result.error)

    return await _act_then_show(request, user, names, here, act)


async def _act_then_show(
    request: Request,
    user: User,
    names: dict[str, str],
    here: Node,
    act: Callable[[], Awaitable[Notice]],
) -> HTMLResponse:
    """Do it, then answer with the lists and what happened (one round trip). A refusal is
    shown above the lists, with the status the API would give."""
    try:
        requires(user, *CONSULTANTS)
    except TopmatchError as e:
        return error_page(request, e, user=user)
    notice: Notice | None = None
    problem: TopmatchError | None = None
    try:
        notice = await act()
    except TopmatchError as e:
        problem = e
    context = await run_in_threadpool(_overview, here)
    return render(
        request,
        "introductions.html",
        {**context, "names": names, "notice": notice, "problem": problem},
        user=user,
        status_code=status_of(problem) if problem else 200,
    )


def _event_key(session: Session, entry_id: str, event_type: str) -> str:
    """Which event of this type for this placement it is: 1 for the first dispute, 2 for
    a dispute after the first was resolved. A form sent twice thus names an event that is
    already in the ledger, which the ledger refuses, rather than repeating the first one
    unnoticed (an event id is derived from the placement, the type and this key); sent
    twice before the countersignature, it names the same proposal, which queues nothing new."""
    done = session.exec(
        select(func.count()).where(
            LedgerEntry.refers_to == entry_id, LedgerEntry.type == event_type
        )
    ).one()
    return str(done + 1)


def _validated(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as e:
        raise input_error(e) from e


# --- what the pages show ---------------------------------------------------------------


def _overview(here: Node) -> dict[str, Any]:
    me = here.me
    with db.transaction(here.engine) as session:
        rows = referrals.introductions(session)
        return {
            "incoming": [r for r in rows if r.role == "responder"],
            "outgoing": [r for r in rows if r.role == "requester"],
            "openings": {r.id: _opening(session, r, me) for r in rows},
            "sides": _sides(session, rows, me=me, now=here.clock()),
            "ledger": _ledger(session, me=me),
            "contract_types": [c.value for c in ContractType],
            "notice": None,
            "problem": None,
        }


def _opening(session: Session, intro: IntroductionPublic, me: str) -> Opening | None:
    """The opening: a published summary (theirs, or ours for a request to us), our own
    vacancy, or the vacancy profile the other bureau sent with its request."""
    if intro.summary_id:
        origin = intro.peer if intro.role == "requester" else me
        summary = session.get(ReplicaSummary, (origin, intro.summary_id))
        if summary is not None:
            return Opening(summary.title, summary.contract_type, summary.hours_max)
    if intro.vacancy_id:
        try:
            vacancy = cardbox.get_vacancy(session=session, vacancy_id=intro.vacancy_id)
        except NotFoundError:
            return None
        return Opening(vacancy.title, vacancy.contract_type, vacancy.hours_max)
    occupation = intro.profile.get("occupation")
    if isinstance(occupation, dict):
        return Opening(
            str(occupation.get("label", "")),
            intro.profile.get("contract_type"),
            intro.profile.get("hours_max"),
        )
    return None


def _sides(
    session: Session, intros: list[IntroductionPublic], *, me: str, now: datetime
) -> dict[str, str | None]:
    """Per accepted introduction: "payer" or "payee", or None without an agreement."""
    sides: dict[str, str | None] = {}
    for intro in intros:
        if intro.state != "accepted":
            continue
        try:
            sides[intro.id] = _we_are(session, intro, me=me, now=now)
        except InputError:
            sides[intro.id] = None
    return sides


def _we_are(session: Session, intro: IntroductionPublic, *, me: str, now: datetime) -> str:
    """Our side of the fee, by the payer rule of the agreement in force with the peer:
    ``client_bureau`` (the bureau whose client is placed pays) or ``opening_bureau``.
    The client is ours exactly when the introduction names one of our clients."""
    record = settlement.agreement_for(session, parties={me, intro.peer}, day=local_date(now))
    client_bureau_pays = settlement.terms(record).payer == "client_bureau"
    client_is_ours = intro.client_id is not None
    return "payer" if client_bureau_pays == client_is_ours else "payee"


def _placement_proposal(
    here: Node, *, introduction_id: str, form: dict[str, str]
) -> flows.PlacementProposal:
    """Everything but the start date, contract and hours follows from the introduction.

    The client reference is a pseudonym only this node can link back: our client's id when
    the client is ours, else the introduction's id (the other bureau holds the client). The
    summary id is the opening's published summary when this node knows it.
    """
    me = here.me
    with db.transaction(here.engine) as session:
        row = session.get(Introduction, introduction_id)
        if row is None:
            raise NotFoundError(f"no introduction {introduction_id}")
        intro = public(row)
        values = {
            **form,
            "counterparty": intro.peer,
            "we_are": _we_are(session, intro, me=me, now=here.clock()),
            "introduction_id": intro.id,
            "summary_id": intro.summary_id or _published_summary(session, intro.vacancy_id),
            "client_id": intro.client_id or intro.id,
        }
    return _validated(flows.PlacementProposal, values)


def _published_summary(session: Session, vacancy_id: str | None) -> str:
    if vacancy_id is None:
        return ""  # their vacancy: we know only the profile they sent
    published = session.exec(
        select(PublishedRecord).where(PublishedRecord.record_id == vacancy_id)
    ).first()
    return published.summary_id if published is not None else ""


def _ledger(session: Session, *, me: str) -> Ledger:
    """Our newest entries and our open proposals, each with its status: proposed (waiting
    for the countersignature), refused, signed by both (in our log), or witnessed (covered
    by a checkpoint of our log that at least one peer cosigned)."""
    witnessed = session.exec(select(func.max(Cosignature.size))).one() or 0
    witnesses = session.exec(select(Cosignature.witness).where(Cosignature.size == witnessed)).all()
    last = session.exec(select(func.max(LedgerEntry.seq))).one()
    after = -1 if last is None else max(-1, last - LEDGER_LINES)
    logged = [
        _line(
            json.loads(row.canonical),
            me=me,
            status="witnessed" if row.seq < witnessed else "signed",
        )
        for row in ledger.entries(session, after=after, limit=LEDGER_LINES)
    ]
    proposals = session.exec(
        select(PendingProposal)
        .where(PendingProposal.status != "countersigned")
        .order_by(col(PendingProposal.created_at).desc())
    ).all()
    messages = outbox.for_references(session, [p.entry_id for p in proposals])
    open_ = [
        _line(
            json.loads(p.signed),
            me=me,
            status="proposed" if p.status == "pending" else "refused",
            error=p.last_error or _message_error(messages.get(p.entry_id)),
            message=_message_state(messages.get(p.entry_id)),
        )
        for p in proposals
    ]
    return Ledger(open_ + logged[::-1], witnessed, sorted(witnesses))


def _message_error(message: OutboxMessage | None) -> str | None:
    """Why the proposal's message has not arrived yet (the outbox's last error)."""
    return None if message is None else message.last_error


def _message_state(message: OutboxMessage | None) -> str | None:
    return None if message is None else message.state


def _line(
    entry: dict[str, Any],
    *,
    me: str,
    status: Literal["proposed", "refused", "signed", "witnessed"],
    error: str | None = None,
    message: str | None = None,
) -> LedgerLine:
    return LedgerLine(
        entry_id=entry["entry_id"],
        type=entry["type"],
        status=status,
        counterparty=entry["payee"] if entry["payer"] == me else entry["payer"],
        we_pay=entry["payer"] == me,
        amount_cents=entry["amount_cents"],
        at=entry["at"],
        refers_to=entry.get("refers_to"),
        placement=entry.get("placement"),
        reason=entry.get("reason"),
        error=error,
        message=message,
    )
