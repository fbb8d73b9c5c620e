"""Proposing ledger entries of every kind: the use cases behind the API and the web app.

Each builds its entry from our records and the fee agreement in force, then hands it to
:func:`topmatch.ledger.flows.propose`, the one pipeline every kind shares: check, sign,
keep as a pending proposal and queue it in the outbox, in the caller's transaction.
Nothing here calls a peer (docs/adr/0013-outbox.md); the caller kicks a delivery after
its commit. Errors are domain errors (:mod:`topmatch.errors`), never HTTP ones.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlmodel import Session

from topmatch import wiretext
from topmatch.bounds import CleanInput
from topmatch.errors import InputError
from topmatch.ledger import flows
from topmatch.ledger import service as ledger
from topmatch.ledger.flows import EventProposal, PlacementProposal, ProposalResult, Proposer
from topmatch.ledger.schemas import ENTRY_FORMAT, AgreementRef, handover_entry_id, licence_entry_id
from topmatch.publishing import service as publishing
from topmatch.settlement import agreement as pricing
from topmatch.settlement import service as settlement
from topmatch.settlement.periods import local_date
from topmatch.settlement.schemas import FeeAgreement

NodeIdField = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
ReferenceField = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class HandoverProposal(CleanInput):
    """A client handed over horizontally to (or from) another bureau, recorded by the
    bureau that pays for it under the fee agreement."""

    counterparty: NodeIdField
    direction: Literal["we_hand_over", "we_receive"]
    reference: ReferenceField = Field(description="the handing bureau's own reference")
    client_id: str = Field(min_length=1, max_length=32, description="the client in our card-box")
    handed_over_on: date


class LicenceProposal(CleanInput):
    """Participants we trained with a method another bureau sells (we pay its owner)."""

    counterparty: NodeIdField
    method: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    participants: int = Field(ge=1, le=10_000)
    reference: ReferenceField = Field(description="our own reference, e.g. a course number")


def _policy(me: str, now: datetime) -> flows.Policy:
    def check(session: Session, entry: Any) -> None:
        settlement.policy(session, entry, me=me, now=now)

    return check


def placement(
    session: Session, proposal: PlacementProposal, *, proposer: Proposer, now: datetime
) -> ProposalResult:
    """A cross-bureau placement, priced by the agreement in force on the day."""
    ref, amount = _price(session, proposal, me=proposer.me, now=now)
    entry = flows.build_placement(
        proposal,
        me=proposer.me,
        secret=proposer.secret,
        now=now,
        agreement=ref,
        amount_cents=amount,
    )
    return flows.propose(
        session,
        entry,
        counterparty=proposal.counterparty,
        proposer=proposer,
        now=now,
        policy=_policy(proposer.me, now),
    )


def _price(
    session: Session, proposal: PlacementProposal, *, me: str, now: datetime
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


def event(
    session: Session, proposal: EventProposal, *, proposer: Proposer, now: datetime
) -> ProposalResult:
    """A later event of one of our placements (retained, voided, disputed, resolved,
    adjusted), between the same payer and payee."""
    me = proposer.me
    referred = ledger.get_entry(session, proposal.refers_to)
    retention = (
        settlement.retention_cents(session, referred)
        if proposal.type == "placement.retained" and referred.type == "placement.started"
        else None
    )
    # the reason is signed into both ledgers for good: the wire gate scrubs it of every
    # card-box name when the entry is built, before it is signed
    with wiretext.scrubbing(publishing.scrubber_for(session, proposer.secret)):
        entry = flows.build_event(
            proposal, referred=referred, me=me, now=now, retention_cents=retention
        )
    policy = _policy(me, now)

    def check(session: Session, body: Any) -> None:
        flows.check_event(session, body, max_amount_cents=proposer.max_amount_cents)
        policy(session, body)

    counterparty = referred.payee if referred.payer == me else referred.payer
    return flows.propose(
        session, entry, counterparty=counterparty, proposer=proposer, now=now, policy=check
    )


def handover(
    session: Session, proposal: HandoverProposal, *, proposer: Proposer, now: datetime
) -> ProposalResult:
    """A horizontal handover of a client; the fee comes from the agreement, and the
    bureau that pays under it records the handover (the other countersigns)."""
    me = proposer.me
    terms, ref = _in_force(session, me=me, counterparty=proposal.counterparty, now=now)
    handing = me if proposal.direction == "we_hand_over" else proposal.counterparty
    payer = (
        handing
        if terms.handover_payer == "handing_bureau"
        else (proposal.counterparty if handing == me else me)
    )
    if payer != me:
        raise InputError(
            f"under agreement {terms.version} the {terms.handover_payer.replace('_', ' ')} "
            f"pays a handover: {proposal.counterparty} records it",
            field="direction",
        )
    entry = _entry(
        "handover.completed",
        me=me,
        payee=proposal.counterparty,
        amount=terms.handover_fee_cents,
        ref=ref,
        now=now,
        handover={
            "reference": proposal.reference,
            "from_bureau": handing,
            "client_ref": flows.client_ref(proposer.secret, proposal.client_id),
            "handed_over_on": proposal.handed_over_on.isoformat(),
        },
    )
    return _propose_priced(session, entry, proposal.counterparty, proposer=proposer, now=now)


def licence(
    session: Session, proposal: LicenceProposal, *, proposer: Proposer, now: datetime
) -> ProposalResult:
    """Participants trained with another bureau's method: we pay its owner the licence
    fee per participant the agreement names."""
    me = proposer.me
    terms, ref = _in_force(session, me=me, counterparty=proposal.counterparty, now=now)
    try:
        amount, owner = pricing.licence_fee(terms, proposal.method, proposal.participants)
    except pricing.PricingError as e:
        raise InputError(str(e), field="method") from e
    if owner != proposal.counterparty:
        raise InputError(f"method {proposal.method} belongs to {owner}", field="counterparty")
    entry = _entry(
        "licence.charged",
        me=me,
        payee=owner,
        amount=amount,
        ref=ref,
        now=now,
        licence={
            "reference": proposal.reference,
            "method": proposal.method,
            "participants": proposal.participants,
        },
    )
    return _propose_priced(session, entry, proposal.counterparty, proposer=proposer, now=now)


def close_period(
    session: Session, *, period: str, proposer: Proposer, now: datetime, only: str | None = None
) -> list[ProposalResult]:
    """A co-signed ``settlement.closed`` entry proposed to each counterparty of a period
    that is over (or ``only`` one): it names the hash of the bilateral statement, which
    the other bureau recomputes from its own ledger before it signs."""
    return [
        flows.propose(session, entry, counterparty=other, proposer=proposer, now=now, policy=None)
        for other, entry in settlement.closings(
            session, me=proposer.me, period_name=period, now=now, only=only
        )
    ]


def _in_force(
    session: Session, *, me: str, counterparty: str, now: datetime
) -> tuple[FeeAgreement, AgreementRef]:
    record = settlement.agreement_for(session, parties={me, counterparty}, day=local_date(now))
    return settlement.terms(record), AgreementRef(version=record.version, sha256=record.sha256)


def _propose_priced(
    session: Session, entry: dict[str, Any], counterparty: str, *, proposer: Proposer, now: datetime
) -> ProposalResult:
    return flows.propose(
        session,
        entry,
        counterparty=counterparty,
        proposer=proposer,
        now=now,
        policy=_policy(proposer.me, now),
    )


def _entry(
    kind: str, *, me: str, payee: str, amount: int, ref: AgreementRef, now: datetime, **facts: Any
) -> dict[str, Any]:
    """A priced entry we pay, with its id derived from its facts."""
    draft = {
        "format": ENTRY_FORMAT,
        "type": kind,
        "at": now.isoformat(),
        "proposer": me,
        "payer": me,
        "payee": payee,
        "amount_cents": amount,
        "currency": "EUR",
        "agreement": ref.model_dump(),
        **facts,
    }
    if kind == "handover.completed":
        entry_id = handover_entry_id(
            facts["handover"]["from_bureau"], facts["handover"]["reference"]
        )
    else:
        entry_id = licence_entry_id(me, facts["licence"]["reference"])
    return {**draft, "entry_id": entry_id}
