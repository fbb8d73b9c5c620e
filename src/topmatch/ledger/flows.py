"""The ledger between nodes: proposing and countersigning entries, and witnessing.

Proposing (we are one party): :func:`build_placement` (or another builder) makes the
entry; :func:`propose` signs it, keeps it as a :class:`PendingProposal` and queues it in
the durable outbox in the same transaction. The outbox delivers it (at least once,
retrying with backoff) and hands the counterparty's answer to :func:`proposal_answered`,
which appends the countersigned entry once. Only a fully signed entry is appended to our
log; a crash in between leaves the proposal and its queued message.

Countersigning (a peer proposes to us): :func:`countersign` checks the entry against our
own log (idempotency, the entry it refers to, the parties) and that the proposer signed
it, then adds our signature and appends it to our log, in one transaction.

Witnessing: :func:`witness_peer` fetches a peer's latest checkpoint, verifies its
signature and its consistency with the last one we saw, cosigns it and sends the
cosignature back. Two different roots for one size (equivocation), a smaller size
(rollback) or a failed consistency proof raise an alarm, kept with its evidence; so does
an entry that both of us signed but only one of us logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.bounds import CleanInput
from topmatch.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PeerDataError,
    PeerError,
    TopmatchError,
)
from topmatch.federation import outbox
from topmatch.federation.models import OutboxMessage
from topmatch.federation.transport import PeerClient, describe_peer_problem
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.identity.service import NodeIdentity
from topmatch.ledger import canonical, merkle, note
from topmatch.ledger import service as ledger
from topmatch.ledger.errors import LedgerError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import (
    Cosignature,
    LedgerCheckpoint,
    LedgerEntry,
    PendingProposal,
    WitnessAlarm,
    WitnessedCheckpoint,
)
from topmatch.ledger.schemas import (
    ENTRY_FORMAT,
    AgreementRef,
    EntryBody,
    PlacementFacts,
    entry_id_for,
)
from topmatch.referrals import service as referrals
from topmatch.settings import Settings
from topmatch.vocabulary import ContractType

log = logging.getLogger("topmatch.ledger")

PROPOSALS_PATH = "/federation/v1/ledger/proposals"
MAX_SHARED_ENTRIES = 1_000_000
CHECKPOINT_PATH = "/federation/v1/ledger/checkpoint"
CONSISTENCY_PATH = "/federation/v1/ledger/consistency"
ENTRIES_PATH = "/federation/v1/ledger/entries"
COSIGNATURES_PATH = "/federation/v1/ledger/cosignatures"


Policy = Callable[[Session, EntryBody], None]
"""What the fee agreements say of an entry (topmatch.settlement.service.policy): raises
InputError when it is not priced as agreed or falls in a closed period."""


class PlacementProposal(CleanInput):
    """What a consultant (or admin) fills in to record a cross-bureau placement.

    The fee follows from the fee agreement in force between the two bureaus; an amount or
    agreement given here must match it (a check, not a choice).
    """

    counterparty: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    we_are: str = Field(pattern=r"^(payer|payee)$")
    amount_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    introduction_id: str = Field(min_length=8, max_length=64)
    summary_id: str = Field(max_length=26)
    client_id: str = Field(min_length=1, max_length=32, description="our own client, if ours")
    start_date: date
    contract_type: ContractType
    hours_per_week: int = Field(ge=0, le=60)
    agreement_version: str | None = Field(default=None, min_length=1, max_length=40)
    agreement_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def client_ref(secret: bytes, client_id: str) -> str:
    """A pseudonym for a client that only the bureau holding ``secret`` can link back."""
    return hmac.new(secret, f"topmatch client ref {client_id}".encode(), hashlib.sha256).hexdigest()


def build_placement(
    proposal: PlacementProposal,
    *,
    me: str,
    secret: bytes,
    now: datetime,
    agreement: AgreementRef,
    amount_cents: int,
) -> dict[str, Any]:
    payer, payee = (
        (me, proposal.counterparty) if proposal.we_are == "payer" else (proposal.counterparty, me)
    )
    body = EntryBody(
        format=ENTRY_FORMAT,
        entry_id=entry_id_for("placement.started", proposal.introduction_id),
        type="placement.started",
        at=now,
        proposer=me,
        payer=payer,
        payee=payee,
        amount_cents=amount_cents,
        agreement=agreement,
        placement=PlacementFacts(
            introduction_id=proposal.introduction_id,
            summary_id=proposal.summary_id,
            client_ref=client_ref(secret, proposal.client_id),
            start_date=proposal.start_date,
            contract_type=proposal.contract_type,
            hours_per_week=proposal.hours_per_week,
        ),
    )
    built: dict[str, Any] = json.loads(body.model_dump_json(exclude_none=True))
    return built


class EventProposal(CleanInput):
    """A later event of a placement: retention confirmed, voided, disputed or adjusted."""

    refers_to: str = Field(pattern=r"^[0-9a-f]{64}$")
    type: Literal[
        "placement.retained",
        "placement.voided",
        "placement.disputed",
        "placement.resolved",
        "placement.adjusted",
    ]
    amount_cents: int | None = Field(
        default=None,
        ge=-100_000_000,
        le=100_000_000,
        description="adjustments only; a retention is priced by the agreement",
    )
    reason: str = Field(min_length=1, max_length=500)
    key: str = Field(
        default="1",
        min_length=1,
        max_length=40,
        description="tells apart several events of one type (adjustments)",
    )


def build_event(
    proposal: EventProposal,
    *,
    referred: LedgerEntry,
    me: str,
    now: datetime,
    retention_cents: int | None = None,
) -> dict[str, Any]:
    """An event entry between the same payer and payee as the entry it refers to, priced
    under the placement's agreement (``retention_cents``: the retention part of its fee)."""
    if me not in {referred.payer, referred.payee}:
        raise InputError(f"entry {referred.entry_id} is not ours", field="refers_to")
    amount = proposal.amount_cents
    if proposal.type == "placement.adjusted" and amount is None:
        raise InputError("an adjustment names its amount", field="amount_cents")
    if proposal.type == "placement.retained":
        if amount is not None and amount != retention_cents:
            raise InputError(
                f"the retention part of this placement's fee is {retention_cents} cents",
                field="amount_cents",
            )
        amount = retention_cents
    elif proposal.type != "placement.adjusted" and amount:
        raise InputError(
            f"a {proposal.type} entry carries no amount; use an adjustment", field="amount_cents"
        )
    placement = json.loads(referred.canonical)
    priced = proposal.type in {"placement.retained", "placement.adjusted"}
    body = EntryBody(
        format=ENTRY_FORMAT,
        entry_id=entry_id_for(
            proposal.type, f"{referred.entry_id}:{proposal.key}", referred.entry_id
        ),
        type=proposal.type,
        refers_to=referred.entry_id,
        at=now,
        proposer=me,
        payer=referred.payer,
        payee=referred.payee,
        amount_cents=amount or 0,
        reason=proposal.reason,
        agreement=placement.get("agreement") if priced else None,
    )
    built: dict[str, Any] = json.loads(body.model_dump_json(exclude_none=True))
    return built


def sign_as(entry: Mapping[str, Any], node: NodeIdentity, party: str) -> dict[str, Any]:
    return canonical.sign_entry(entry, key=node.private_key, key_id=node.key_id, party=party)


def store_proposal(
    session: Session, signed: Mapping[str, Any], *, counterparty: str, now: datetime
) -> PendingProposal:
    """Keep what we signed and propose (idempotent per entry id). A proposal the other
    bureau refused may be made again: its signed bytes are replaced (it was never
    countersigned); otherwise proposing the same entry with other facts is a conflict."""
    entry_id = str(signed["entry_id"])
    existing = session.get(PendingProposal, entry_id)
    if existing is not None:
        if existing.status == "refused":
            existing.signed, existing.updated_at = canonical.canonical(dict(signed)), now
            session.add(existing)
            return existing
        _same_facts(entry_id, json.loads(existing.signed), signed)
        return existing
    row = PendingProposal(
        entry_id=entry_id,
        counterparty=counterparty,
        signed=canonical.canonical(dict(signed)),
        status="pending",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _same_facts(entry_id: str, stored: Mapping[str, Any], signed: Mapping[str, Any]) -> None:
    field = next(
        (
            k
            for k in sorted(set(stored) | set(signed))
            if k not in {"signatures", "at"} and stored.get(k) != signed.get(k)
        ),
        None,
    )
    if field is not None:
        raise ConflictError(
            f"placement {entry_id} was already proposed with another {field}", field=field
        )


def settle_proposal(
    session: Session,
    proposal: PendingProposal,
    signed: Mapping[str, Any] | None,
    error: str | None,
    *,
    me: str,
    book: KeyBook,
    now: datetime,
) -> LedgerEntry | None:
    """Append a countersigned entry (checking both signatures), or record why not."""
    row = session.get(PendingProposal, proposal.entry_id) or proposal
    row.updated_at = now
    if signed is None:
        row.last_error = (error or "")[:500]
        # The other bureau refused the entry itself (422, 409); anything else may pass.
        refused = error is not None and error.startswith(("HTTP 422", "HTTP 409"))
        row.status = "refused" if refused else "pending"
        session.add(row)
        return None
    ours = json.loads(row.signed)
    body_changed = {
        k for k in set(ours) | set(signed) if k != "signatures" and ours.get(k) != signed.get(k)
    }
    if body_changed:
        row.status, row.last_error = "refused", f"counterparty changed {sorted(body_changed)}"
        session.add(row)
        return None
    appended = ledger.append(session, signed, me=me, book=book, now=now)
    placement = ledger.body_of(signed).placement
    if placement is not None:
        referrals.mark_placed(session, placement.introduction_id, now=now)
    row.status, row.last_error = "countersigned", None
    session.add(row)
    return appended.entry


# --- proposing through the outbox (docs/adr/0013-outbox.md) ----------------------------

#: the outbox kind of a proposal: the body is the entry as we signed it
PROPOSAL = "ledger.proposal"


@dataclass(frozen=True)
class Proposer:
    """Who we are when proposing: who signs, the secret that makes client pseudonyms
    (:func:`client_ref`), how long the outbox tries to deliver, and the amount limit."""

    me: str
    node: NodeIdentity
    secret: bytes
    horizon: timedelta
    max_amount_cents: int


def proposer_from(settings: Settings, *, node: NodeIdentity, secret: bytes) -> Proposer:
    """Our :class:`Proposer` from the settings, the node's identity and the publishing
    secret (the same one client pseudonyms have always been made with)."""
    return Proposer(
        me=settings.node_id or "",
        node=node,
        secret=secret,
        horizon=timedelta(days=settings.outbox_horizon_days),
        max_amount_cents=settings.ledger_max_amount_cents,
    )


class MessageStatus(BaseModel):
    """Where the newest message about a proposal stands (the outbox's view)."""

    state: str = Field(description="queued, sent, delivered, answered, failed or cancelled")
    attempts: int
    next_attempt_at: datetime | None = None
    last_error: str | None = None


class ProposalResult(BaseModel):
    """A proposal as we keep it: pending (its message on its way), countersigned (the
    entry both signed, in our log) or refused (``error`` says why)."""

    entry_id: str
    status: str
    error: str | None = None
    entry: dict[str, Any] | None = None
    counterparty: str | None = None
    message: MessageStatus | None = None


def propose(
    session: Session,
    entry: Mapping[str, Any],
    *,
    counterparty: str,
    proposer: Proposer,
    now: datetime,
    policy: Policy | None,
) -> ProposalResult:
    """The one way to propose a ledger entry of any kind: check it (``policy``, the first
    time only), sign it, keep it as a :class:`PendingProposal` and queue it for the
    counterparty in the outbox, all in the caller's transaction. Nothing here calls the
    peer: the outbox delivers it, and :func:`proposal_answered` appends the countersigned
    entry when it comes back. Idempotent: proposing the same entry again queues nothing
    while a message is on its way, and nothing once it is countersigned."""
    entry_id = str(entry["entry_id"])
    if session.get(PendingProposal, entry_id) is None and policy is not None:
        policy(session, ledger.body_of(entry))
    signed = sign_as(entry, proposer.node, proposer.me)
    row = store_proposal(session, signed, counterparty=counterparty, now=now)
    if row.status != "countersigned" and not outbox.pending_for(
        session, reference=entry_id, kind=PROPOSAL
    ):
        row.status, row.updated_at = "pending", now
        session.add(row)
        outbox.enqueue(
            session,
            peer=row.counterparty,
            kind=PROPOSAL,
            path=PROPOSALS_PATH,
            body=row.signed,
            reference=entry_id,
            now=now,
            horizon=proposer.horizon,
        )
    return result_of(session, row)


def resend(session: Session, *, entry_id: str, proposer: Proposer, now: datetime) -> ProposalResult:
    """Queue a proposal whose message failed (refused, or past the outbox's horizon)
    again, the same signed bytes with a fresh horizon; the proposal is pending again.
    A countersigned proposal, or one whose message is still on its way, has nothing to
    resend (ConflictError)."""
    row = session.get(PendingProposal, entry_id)
    if row is None:
        raise NotFoundError(f"no proposal {entry_id}", field="entry_id")
    if row.status == "countersigned":
        raise ConflictError(f"proposal {entry_id} is countersigned: nothing to resend")
    outbox.resend(session, reference=entry_id, now=now, horizon=proposer.horizon)
    row.status, row.updated_at = "pending", now
    session.add(row)
    return result_of(session, row)


def result_of(session: Session, row: PendingProposal) -> ProposalResult:
    """A proposal with its entry (once countersigned) and its newest message."""
    entry = None
    if row.status == "countersigned":
        logged = session.exec(
            select(LedgerEntry).where(LedgerEntry.entry_id == row.entry_id)
        ).first()
        entry = json.loads(logged.canonical) if logged is not None else None
    message = outbox.for_references(session, [row.entry_id]).get(row.entry_id)
    return ProposalResult(
        entry_id=row.entry_id,
        status=row.status,
        error=row.last_error,
        entry=entry,
        counterparty=row.counterparty,
        message=None
        if message is None
        else MessageStatus(
            state=message.state,
            attempts=message.attempts,
            next_attempt_at=message.next_attempt_at,
            last_error=message.last_error,
        ),
    )


def answer_hooks(*, me: str, book: Callable[[], KeyBook]) -> dict[str, Any]:
    """The ledger's share of the outbox's ``on_answer`` table (the composition root joins
    the domains' tables; federation imports no ledger). ``book``: the keys that may sign
    an entry we append, read when the answer arrives (peers come and go)."""

    def answered(session: Session, message: OutboxMessage, answer: outbox.Answer) -> str | None:
        return proposal_answered(session, message, answer, me=me, book=book())

    return {PROPOSAL: answered}


def _entry_of(body: bytes) -> dict[str, Any]:
    signed = json.loads(body)
    if not isinstance(signed, dict):
        raise ValueError("the answer is not a JSON object")  # noqa: TRY004 - bad data
    return signed


def proposal_answered(
    session: Session, message: OutboxMessage, answer: outbox.Answer, *, me: str, book: KeyBook
) -> str | None:
    """The outbox's hook for :data:`PROPOSAL`: the counterparty answered our proposal.

    2xx carries the entry countersigned: checked and appended exactly once (a second
    answer to a countersigned proposal changes nothing). A refusal (409, 422) marks the
    proposal refused. Returns None when the answer is taken, else why not."""
    row = session.get(PendingProposal, message.reference or "")
    if row is None:
        return f"no proposal {message.reference} to answer"
    if row.status == "countersigned":
        return None  # a second copy of an answer we already took
    if not answer.ok:
        text = answer.body[:300].decode(errors="replace")
        settle_proposal(
            session, row, None, f"HTTP {answer.status}: {text}", me=me, book=book, now=answer.at
        )
        return row.last_error
    try:
        settle_proposal(session, row, _entry_of(answer.body), None, me=me, book=book, now=answer.at)
    except (ValueError, TopmatchError) as e:
        detail = e.diagnostics() if isinstance(e, TopmatchError) else str(e)
        row.status, row.last_error = "refused", f"countersigned entry refused: {detail}"[:500]
        row.updated_at = answer.at
        session.add(row)
    return None if row.status == "countersigned" else row.last_error


def _check_against_records(
    session: Session,
    entry: EntryBody,
    *,
    max_amount_cents: int,
    policy: Policy | None,
) -> None:
    """What a countersigner checks against its own records before it signs money away."""
    # A closing carries the net of a whole period, checked exactly against our own
    # statement by the policy; the per-entry limit is for single fees.
    if entry.type != "settlement.closed" and abs(entry.amount_cents) > max_amount_cents:
        raise InputError(
            f"amount {entry.amount_cents} cents is above the limit of "
            f"{max_amount_cents} we countersign",
            field="amount_cents",
        )
    # the introduction behind a placement, and who pays for it, the policy checks
    if entry.refers_to is not None:
        check_event(session, entry, max_amount_cents=max_amount_cents)
    if policy is None:
        raise InputError("this node has no fee policy to check the entry with", field="type")
    policy(session, entry)


def check_event(session: Session, entry: EntryBody, *, max_amount_cents: int) -> None:
    """An event refers to a placement between the same payer and payee, in that order; a
    placement is retained or voided once (not both), and its adjustments stay in limit."""
    referred = session.exec(
        select(LedgerEntry).where(LedgerEntry.entry_id == entry.refers_to)
    ).first()
    if referred is None or referred.type != "placement.started":
        raise InputError(
            f"entry refers to {entry.refers_to}, which is not a placement in our ledger",
            field="refers_to",
        )
    if (referred.payer, referred.payee) != (entry.payer, entry.payee):
        raise InputError(
            f"the placement has payer {referred.payer} and payee {referred.payee}", field="payer"
        )
    events = session.exec(select(LedgerEntry).where(LedgerEntry.refers_to == entry.refers_to)).all()
    final = {"placement.retained", "placement.voided"}
    if entry.type in final and any(e.type in final for e in events):
        done = next(e for e in events if e.type in final)
        raise ConflictError(
            f"placement {entry.refers_to} is already {done.type.split('.')[1]} ({done.entry_id})",
            field="type",
        )
    voided = next((e for e in events if e.type == "placement.voided"), None)
    if voided is not None:
        raise ConflictError(
            f"placement {entry.refers_to} is voided ({voided.entry_id}); nothing follows a void",
            field="type",
        )
    _check_dispute(entry, events)
    if entry.type == "placement.adjusted":
        total = sum(abs(e.amount_cents) for e in events if e.type == "placement.adjusted")
        if total + abs(entry.amount_cents) > max_amount_cents:
            raise InputError(
                f"adjustments of this placement would total "
                f"{total + abs(entry.amount_cents)} cents, above the limit of "
                f"{max_amount_cents}",
                field="amount_cents",
            )


def _check_dispute(entry: EntryBody, events: Sequence[LedgerEntry]) -> None:
    """A dispute is opened once at a time and only an open one can be resolved."""
    ordered = sorted(events, key=lambda e: (e.at, e.entry_id))
    disputed = False
    for event in ordered:
        if event.type == "placement.disputed":
            disputed = True
        elif event.type == "placement.resolved":
            disputed = False
    if entry.type == "placement.disputed" and disputed:
        raise ConflictError(f"placement {entry.refers_to} is already disputed", field="type")
    if entry.type == "placement.resolved" and not disputed:
        raise ConflictError(f"placement {entry.refers_to} has no open dispute", field="type")


def logged(session: Session, proposed: Mapping[str, Any]) -> dict[str, Any] | None:
    """The entry of our log with the ``entry_id`` of ``proposed``, as both signed it."""
    entry_id = proposed.get("entry_id")
    if not isinstance(entry_id, str):
        return None
    row = session.exec(select(LedgerEntry).where(LedgerEntry.entry_id == entry_id)).first()
    if row is None:
        return None
    stored: dict[str, Any] = json.loads(row.canonical)
    return stored


def countersign(
    session: Session,
    proposed: Mapping[str, Any],
    *,
    proposer: str,
    me: str,
    node: NodeIdentity,
    book: KeyBook,
    now: datetime,
    policy: Policy | None,
    max_amount_cents: int = 1_000_000,
) -> dict[str, Any]:
    """A peer's proposal, checked against our own log and the fee agreements (``policy``),
    countersigned and appended."""
    entry = ledger.body_of(proposed)
    if entry.proposer != proposer:
        raise InputError(
            f"entry says proposer {entry.proposer}, but {proposer} sent it", field="proposer"
        )
    if me not in entry.parties or proposer not in entry.parties:
        raise InputError(
            f"entry names {entry.payer} and {entry.payee}; it must name {proposer} and {me}",
            field="payer",
        )
    canonical.verify_entry(
        proposed, resolve_key=book.resolver(entry.at), required_parties={proposer}
    )
    existing = session.exec(
        select(LedgerEntry).where(LedgerEntry.entry_id == entry.entry_id)
    ).first()
    if existing is not None:
        stored = json.loads(existing.canonical)
        field = next(
            (
                k
                for k in sorted(set(stored) | set(proposed))
                if k != "signatures" and stored.get(k) != proposed.get(k)
            ),
            None,
        )
        if field is not None:
            raise ConflictError(
                f"entry {entry.entry_id} is already in our ledger with another {field}", field=field
            )
        return dict(stored)  # idempotent: the entry as both already signed it
    _check_against_records(session, entry, max_amount_cents=max_amount_cents, policy=policy)
    signed = sign_as(proposed, node, me)
    ledger.append(session, signed, me=me, book=book, now=now)
    if entry.placement is not None:
        referrals.mark_placed(session, entry.placement.introduction_id, now=now)
    return signed


# --- witnessing ------------------------------------------------------------------------


def verifiers_of(peer: PeerDescriptor) -> list[note.NoteVerifier]:
    origin = ledger.log_origin(peer.node_id)
    return [
        note.NoteVerifier(origin, keys.public_from_raw(keys.b64url_decode(k.public_key)))
        for k in peer.keys
    ]


def raise_alarm(
    session: Session, *, node_id: str, kind: str, detail: str, evidence: bytes, now: datetime
) -> WitnessAlarm:
    same = session.exec(
        select(WitnessAlarm).where(
            WitnessAlarm.node_id == node_id,
            WitnessAlarm.kind == kind,
            WitnessAlarm.detail == detail[:1000],
        )
    ).first()
    if same is not None:  # seen again next round: one alarm, not one per round
        return same
    log.error("ledger alarm for %s: %s: %s", node_id, kind, detail)
    alarm = WitnessAlarm(
        node_id=node_id, kind=kind, detail=detail[:1000], evidence=evidence, raised_at=now
    )
    session.add(alarm)
    session.flush()
    return alarm


class WitnessResult(BaseModel):
    node_id: str
    ok: bool
    size: int | None = None
    detail: str | None = None


def check_checkpoint(
    session: Session,
    *,
    peer: PeerDescriptor,
    signed_note: bytes,
    proof: Sequence[bytes] | None,
    now: datetime,
) -> tuple[note.Checkpoint | None, str | None]:
    """Verify a peer's checkpoint against the last one we saw; raise alarms on misbehaviour.

    Returns the checkpoint when it may be cosigned, else None with the reason.
    """
    try:
        opened = note.open_note(signed_note, verifiers_of(peer))
        point = note.parse_checkpoint(opened.text)
    except LedgerError as e:
        return None, f"checkpoint does not verify: {e.diagnostics()}"
    if point.origin != ledger.log_origin(peer.node_id):
        return (
            None,
            f"checkpoint of log {point.origin!r}, expected {ledger.log_origin(peer.node_id)!r}",
        )
    last = session.get(WitnessedCheckpoint, peer.node_id)
    if last is not None:
        reason = _misbehaviour(last, point, proof)
        if reason is not None:
            kind, detail = reason
            raise_alarm(
                session,
                node_id=peer.node_id,
                kind=kind,
                detail=detail,
                evidence=last.note + b"\n" + signed_note,
                now=now,
            )
            return None, f"{kind}: {detail}"
        if last.size == point.size:
            return point, None
    row = last or WitnessedCheckpoint(
        node_id=peer.node_id, size=0, root_hash="", note=b"", seen_at=now
    )
    row.size, row.root_hash, row.note, row.seen_at = (
        point.size,
        point.root_hash.hex(),
        signed_note,
        now,
    )
    session.add(row)
    session.flush()
    return point, None


def _misbehaviour(
    last: WitnessedCheckpoint, point: note.Checkpoint, proof: Sequence[bytes] | None
) -> tuple[str, str] | None:
    old_root = bytes.fromhex(last.root_hash)
    if point.size < last.size:
        return "rollback", f"size went from {last.size} back to {point.size}"
    if point.size == last.size:
        if point.root_hash != old_root:
            return "equivocation", (
                f"two roots for size {point.size}: {last.root_hash} and {point.root_hash.hex()}"
            )
        return None
    try:
        merkle.verify_consistency(
            old_size=last.size,
            new_size=point.size,
            old_root=old_root,
            new_root=point.root_hash,
            proof=list(proof or []),
        )
    except LedgerError as e:
        return "inconsistent", (
            f"size {point.size} is not an extension of size {last.size}: {e.diagnostics()}"
        )
    return None


def store_cosignature(
    session: Session, *, witness: PeerDescriptor, size: int, line: bytes, now: datetime
) -> None:
    """Keep a witness's cosignature of our checkpoint of ``size`` after verifying it."""
    point = session.get(LedgerCheckpoint, size)
    if point is None:
        raise InputError(f"we have no checkpoint of size {size}", field="size")
    text_ = _note_text(point.note)
    verifiers = [
        note.CosignatureVerifier(
            witness.node_id, keys.public_from_raw(keys.b64url_decode(k.public_key))
        )
        for k in witness.keys
    ]
    errors = []
    for verifier in verifiers:
        try:
            note.verify_cosignature(text_, line, verifier)
        except LedgerError as e:
            errors.append(e.diagnostics())
            continue
        if session.get(Cosignature, (witness.node_id, size)) is None:
            session.add(Cosignature(witness=witness.node_id, size=size, line=line, received_at=now))
            session.flush()
        return
    raise InputError(
        f"cosignature does not verify with {witness.node_id}'s keys: {'; '.join(errors)}",
        field="line",
    )


def _note_text(signed_note: bytes) -> bytes:
    text_, _ = note.split_note(signed_note)
    return text_


def cosignature_line(point_note: bytes, *, me: str, node: NodeIdentity, now: datetime) -> bytes:
    return note.cosign(_note_text(point_note), me, node.private_key, int(now.timestamp()))


def b64(proof: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in proof]


def unb64(proof: Sequence[str]) -> list[bytes]:
    return [base64.b64decode(h, validate=True) for h in proof]


async def witness_peer(
    *,
    peer: PeerDescriptor,
    client: PeerClient,
    engine: Any,
    own: PeerDescriptor,
    node: NodeIdentity,
    clock: Any,
) -> WitnessResult:
    """Witness one peer; whatever goes wrong stays that peer's result."""
    try:
        return await _witness_peer(
            peer=peer, client=client, engine=engine, own=own, node=node, clock=clock
        )
    except Exception as e:
        detail = describe_peer_problem(peer, e)
        log.warning("witnessing failed: %s", detail)
        return WitnessResult(node_id=peer.node_id, ok=False, detail=detail)


async def _witness_peer(
    *,
    peer: PeerDescriptor,
    client: PeerClient,
    engine: Any,
    own: PeerDescriptor,
    node: NodeIdentity,
    clock: Any,
) -> WitnessResult:
    """Fetch, check and cosign one peer's checkpoint."""
    try:
        signed_note, proof = await _fetch_checkpoint(peer=peer, client=client, engine=engine)
    except (PeerError, LedgerError, ValueError) as e:
        detail = describe_peer_problem(peer, e if isinstance(e, TopmatchError) else str(e))
        return WitnessResult(node_id=peer.node_id, ok=False, detail=detail)

    def check() -> tuple[note.Checkpoint | None, str | None]:
        with db.transaction(engine) as session:
            return check_checkpoint(
                session, peer=peer, signed_note=signed_note, proof=proof, now=clock()
            )

    point, problem = await run_in_threadpool(check)
    if point is None:
        return WitnessResult(node_id=peer.node_id, ok=False, detail=problem)
    shared = await _compare_entries(peer=peer, client=client, engine=engine, own=own, clock=clock)
    if shared is not None:
        return WitnessResult(node_id=peer.node_id, ok=False, size=point.size, detail=shared)
    line = cosignature_line(signed_note, me=own.node_id, node=node, now=clock())
    body = json.dumps({"size": point.size, "line": line.decode()}).encode()
    try:
        answer = await client.call(peer, "POST", COSIGNATURES_PATH, json_body=body)
        if answer.status != 200:  # noqa: PLR2004
            raise PeerDataError(peer.node_id, f"cosignature refused: HTTP {answer.status}")
    except PeerError as e:
        return WitnessResult(
            node_id=peer.node_id,
            ok=False,
            size=point.size,
            detail=describe_peer_problem(peer, f"cosignature not delivered: {e.detail}"),
        )
    return WitnessResult(node_id=peer.node_id, ok=True, size=point.size)


async def _fetch_checkpoint(
    *, peer: PeerDescriptor, client: PeerClient, engine: Any
) -> tuple[bytes, list[bytes] | None]:
    """The peer's signed checkpoint, and a consistency proof from the last one we saw."""
    response = await client.call(peer, "GET", CHECKPOINT_PATH)
    if response.status != 200:  # noqa: PLR2004
        raise PeerDataError(peer.node_id, f"checkpoint: HTTP {response.status}")
    signed_note = response.body
    size = note.parse_checkpoint(_note_text(signed_note)).size
    last_size = await run_in_threadpool(_last_size, engine, peer.node_id)
    if last_size is None or not 0 < last_size < size:
        return signed_note, None
    proof_response = await client.call(
        peer, "GET", CONSISTENCY_PATH, params={"old": last_size, "new": size}
    )
    if proof_response.status != 200:  # noqa: PLR2004 - no proof is not a bad proof: no alarm
        raise PeerDataError(peer.node_id, f"consistency proof: HTTP {proof_response.status}")
    return signed_note, unb64(json.loads(proof_response.body).get("proof", []))


async def _compare_entries(
    *, peer: PeerDescriptor, client: PeerClient, engine: Any, own: PeerDescriptor, clock: Any
) -> str | None:
    """Both logs must hold every entry the two of us signed.

    An entry the peer logged and we did not (we crashed after it countersigned) is
    appended here, after the usual checks; one we logged and the peer did not raises an
    alarm. Returns a problem, or None when the logs agree.
    """
    theirs: dict[str, Any] = {}
    after = -1
    try:
        while True:  # every page: a log has as many shared entries as it has
            response = await client.call(
                peer, "GET", ENTRIES_PATH, params={"after": after, "limit": 500}
            )
            page = json.loads(response.body)
            theirs.update({item["entry"]["entry_id"]: item["entry"] for item in page})
            if len(page) < 500:  # noqa: PLR2004 - the page size asked for
                break
            if page[-1]["seq"] <= after or len(theirs) > MAX_SHARED_ENTRIES:
                return "the peer's shared entries do not advance or never end"
            after = page[-1]["seq"]
    except (PeerError, ValueError, KeyError, TypeError) as e:
        return f"cannot read shared entries: {e}"

    def compare() -> str | None:
        with db.transaction(engine) as session:
            me = own.node_id
            ours = {
                r.entry_id for r in ledger.entries(session, party=peer.node_id, limit=1_000_000)
            }
            book = KeyBook([peer, own])
            for entry_id in sorted(set(theirs) - ours):
                ledger.append(
                    session, theirs[entry_id], me=me, book=book, now=clock(), check_age=False
                )
                log.warning(
                    "appended entry %s that %s had logged and we had not", entry_id, peer.node_id
                )
            missing = sorted(ours - set(theirs))
            if missing:
                raise_alarm(
                    session,
                    node_id=peer.node_id,
                    kind="missing",
                    detail=f"{peer.node_id}'s log lacks {len(missing)} entries we "
                    f"both signed, e.g. {missing[0]}",
                    evidence="\n".join(missing).encode(),
                    now=clock(),
                )
                return f"missing entries: {len(missing)}"
            return None

    try:
        return await run_in_threadpool(compare)
    except LedgerError as e:
        return f"a shared entry does not verify: {e.diagnostics()}"


def _last_size(engine: Any, node_id: str) -> int | None:
    with db.transaction(engine) as session:
        row = session.get(WitnessedCheckpoint, node_id)
        return row.size if row is not None else None
