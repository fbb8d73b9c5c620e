"""Settlement use cases: fee agreements, pricing ledger entries, statements and closing.

The ledger records what happened; this module says what it costs. A countersigner calls
:func:`check_entry` before it signs money away (the ledger calls it through a policy
hook, so the ledger package does not depend on settlement).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from topmatch.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    TooEarlyError,
    input_error,
)
from topmatch.identity.service import NodeIdentity
from topmatch.ledger import canonical
from topmatch.ledger import service as ledger
from topmatch.ledger.errors import LedgerError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import LedgerEntry
from topmatch.ledger.schemas import ENTRY_FORMAT, EntryBody, closing_entry_id
from topmatch.referrals import service as referrals
from topmatch.settlement import agreement as pricing
from topmatch.settlement import netting as netting_core
from topmatch.settlement import statement as statements
from topmatch.settlement.models import FeeAgreementRecord
from topmatch.settlement.periods import Period, add_months, local_date, parse_period, period_of
from topmatch.settlement.schemas import (
    BilateralStatement,
    FeeAgreement,
    NettingProposal,
    SignedAgreement,
    Statement,
)

# --- fee agreements --------------------------------------------------------------------


def parse_agreement(data: bytes | str | dict[str, Any]) -> SignedAgreement:
    """A fee agreement document (with or without signatures), or InputError naming the
    field."""
    try:
        if isinstance(data, dict):
            return SignedAgreement.model_validate_json(json.dumps(data))
        return SignedAgreement.model_validate_json(data)
    except ValidationError as e:
        raise input_error(e, "not a valid fee agreement") from e


def document(record: FeeAgreementRecord) -> SignedAgreement:
    body = json.loads(record.document)
    signatures = json.loads(record.signatures)
    return SignedAgreement.model_validate_json(json.dumps({**body, "signatures": signatures}))


def terms(record: FeeAgreementRecord) -> FeeAgreement:
    return FeeAgreement.model_validate_json(record.document)


def signers(record: FeeAgreementRecord) -> list[str]:
    return sorted(s["party"] for s in json.loads(record.signatures))


def agreements(session: Session) -> Sequence[FeeAgreementRecord]:
    return session.exec(
        select(FeeAgreementRecord).order_by(col(FeeAgreementRecord.valid_from))
    ).all()


def get_agreement(session: Session, version: str) -> FeeAgreementRecord:
    record = session.get(FeeAgreementRecord, version)
    if record is None:
        raise NotFoundError(f"no fee agreement with version {version!r}", field="version")
    return record


def _valid_signatures(
    signed: SignedAgreement, book: KeyBook
) -> tuple[list[dict[str, str]], list[str]]:
    """The signatures that verify (members only), and why the others do not."""
    data = signed.model_dump(mode="json")
    good: list[dict[str, str]] = []
    problems: list[str] = []
    for item in data["signatures"]:
        if item["party"] not in signed.members:
            problems.append(f"{item['party']} is not a member")
            continue
        try:
            canonical.verify_entry(
                {**data, "signatures": [item]},
                resolve_key=book.resolver(None),
                required_parties={item["party"]},
            )
        except LedgerError as e:
            problems.append(e.diagnostics())
            continue
        if all(g["party"] != item["party"] for g in good):
            good.append(item)
    return good, problems


def _signature_bytes(signatures: list[dict[str, str]]) -> bytes:
    ordered = sorted(signatures, key=lambda item: item["party"])
    return json.dumps(ordered, sort_keys=True, separators=(",", ":")).encode()


def _check_clashes(session: Session, candidate: FeeAgreement, *, me: str) -> None:
    """Refuse a version that would give a placement two prices. Only versions in force or
    signed by us count: a draft another bureau alone signed cannot block ours."""
    others = [terms(r) for r in agreements(session) if r.in_force or me in signers(r)]
    clashing = pricing.clashes(candidate, others)
    if clashing:
        raise ConflictError(
            f"agreement {candidate.version} overlaps in time and members with "
            f"{', '.join(clashing)}: a placement would have two prices",
            field="valid_from",
        )


def _store(
    session: Session,
    candidate: FeeAgreement,
    signatures: list[dict[str, str]],
    *,
    proposed_by: str,
    now: datetime,
) -> FeeAgreementRecord:
    record = FeeAgreementRecord(
        version=candidate.version,
        sha256=pricing.sha256(candidate),
        document=canonical.canonical(pricing.body(candidate)),
        signatures=_signature_bytes(signatures),
        valid_from=candidate.valid_from,
        valid_to=candidate.valid_to,
        in_force={s["party"] for s in signatures} >= set(candidate.members),
        proposed_by=proposed_by,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    return record


def propose_agreement(
    session: Session,
    data: bytes | str | dict[str, Any],
    *,
    me: str,
    node: NodeIdentity,
    now: datetime,
) -> FeeAgreementRecord:
    """Store a new agreement version signed by us; peers pick it up and sign it."""
    candidate = pricing.strip(parse_agreement(data))
    if me not in candidate.members:
        raise InputError(f"this node ({me}) is not among the members", field="members")
    existing = session.get(FeeAgreementRecord, candidate.version)
    if existing is not None:
        if existing.sha256 == pricing.sha256(candidate):
            return existing
        raise ConflictError(
            f"version {candidate.version} already exists with other terms; "
            "propose a new version instead",
            field="version",
        )
    _check_clashes(session, candidate, me=me)
    signed = canonical.sign_entry(
        pricing.body(candidate), key=node.private_key, key_id=node.key_id, party=me
    )
    return _store(session, candidate, signed["signatures"], proposed_by=me, now=now)


def sign_agreement(
    session: Session, version: str, *, me: str, node: NodeIdentity, now: datetime
) -> FeeAgreementRecord:
    """Add our signature to an agreement we hold (idempotent)."""
    record = get_agreement(session, version)
    candidate = terms(record)
    if me not in candidate.members:
        raise InputError(f"this node ({me}) is not among the members of {version}", field="version")
    present = json.loads(record.signatures)
    if any(s["party"] == me for s in present):
        return record
    _check_clashes(session, candidate, me=me)  # signing one of two clashing drafts is fine
    ours = canonical.sign_entry(
        pricing.body(candidate), key=node.private_key, key_id=node.key_id, party=me
    )["signatures"][0]
    return _update_signatures(session, record, [*present, ours], now=now)


def _update_signatures(
    session: Session, record: FeeAgreementRecord, signatures: list[dict[str, str]], *, now: datetime
) -> FeeAgreementRecord:
    record.signatures = _signature_bytes(signatures)
    record.in_force = {s["party"] for s in signatures} >= set(terms(record).members)
    record.updated_at = now
    session.add(record)
    session.flush()
    return record


def merge_agreement(
    session: Session, incoming: SignedAgreement, *, me: str, book: KeyBook, now: datetime
) -> str:
    """Take in a peer's copy of an agreement: keep the signatures that verify.

    Returns what happened, for the sync report. A document that changes the terms of a
    version we hold, or clashes with another version, is refused and changes nothing.
    """
    candidate = pricing.strip(incoming)
    if me not in candidate.members:
        return f"{candidate.version}: not a member, ignored"
    good, problems = _valid_signatures(incoming, book)
    existing = session.get(FeeAgreementRecord, candidate.version)
    if existing is None:
        return _merge_new(session, candidate, good, problems, me=me, now=now)
    if existing.sha256 != pricing.sha256(candidate):
        return f"{candidate.version}: refused, other terms than the version we hold"
    present = json.loads(existing.signatures)
    known = {s["party"] for s in present}
    added = [s for s in good if s["party"] not in known]
    if not added:
        return f"{candidate.version}: unchanged"
    _update_signatures(session, existing, [*present, *added], now=now)
    return f"{candidate.version}: signed by {', '.join(s['party'] for s in added)}"


def _merge_new(
    session: Session,
    candidate: FeeAgreement,
    good: list[dict[str, str]],
    problems: list[str],
    *,
    me: str,
    now: datetime,
) -> str:
    if not good:
        return f"{candidate.version}: refused, no valid member signature ({'; '.join(problems)})"
    try:
        _check_clashes(session, candidate, me=me)
    except ConflictError as e:
        return f"{candidate.version}: refused, {e}"
    _store(session, candidate, good, proposed_by=good[0]["party"], now=now)
    return f"{candidate.version}: new, signed by {', '.join(s['party'] for s in good)}"


def in_force(session: Session) -> dict[statements.AgreementKey, FeeAgreement]:
    rows = session.exec(select(FeeAgreementRecord).where(FeeAgreementRecord.in_force == True)).all()  # noqa: E712
    return {(r.version, r.sha256): terms(r) for r in rows}


def agreement_for(session: Session, *, parties: Iterable[str], day: date) -> FeeAgreementRecord:
    """The agreement in force between these bureaus on ``day``."""
    wanted = set(parties)
    for record in agreements(session):
        candidate = terms(record)
        if (
            record.in_force
            and wanted <= set(candidate.members)
            and pricing.valid_on(candidate, day)
        ):
            return record
    raise InputError(
        f"no fee agreement signed by {' and '.join(sorted(wanted))} is valid on {day.isoformat()}",
        field="agreement",
    )


# --- pricing ledger entries ------------------------------------------------------------


def _referred(session: Session, entry: EntryBody) -> EntryBody:
    row = session.exec(select(LedgerEntry).where(LedgerEntry.entry_id == entry.refers_to)).first()
    if row is None or row.type != "placement.started":
        raise InputError(
            f"entry refers to {entry.refers_to}, which is not a placement in our ledger",
            field="refers_to",
        )
    return ledger.body_of(json.loads(row.canonical))


def _terms_of(session: Session, entry: EntryBody) -> FeeAgreement:
    """The agreement an entry names: known, signed by all members, covering both parties."""
    ref = entry.agreement
    if ref is None:
        raise InputError(f"a {entry.type} entry names its fee agreement", field="agreement")
    record = session.get(FeeAgreementRecord, ref.version)
    if record is not None and record.sha256 != ref.sha256:
        raise InputError(
            f"fee agreement {ref.version} has hash {record.sha256[:12]} here, not "
            f"{ref.sha256[:12]}",
            field="agreement",
        )
    if record is None:  # not fetched yet, or never signed: the proposer retries later
        raise TooEarlyError(
            f"unknown fee agreement {ref.version} ({ref.sha256[:12]}): not (yet) held here"
        )
    if not record.in_force:  # a signature still on its way
        raise TooEarlyError(
            f"fee agreement {ref.version} is not signed by every member yet "
            f"(signed: {', '.join(signers(record))})"
        )
    candidate = terms(record)
    outsiders = sorted(entry.parties - set(candidate.members))
    if outsiders:
        raise InputError(
            f"{', '.join(outsiders)} is not a member of fee agreement {ref.version}",
            field="agreement",
        )
    return candidate


def expected_amount(session: Session, entry: EntryBody) -> int | None:
    """What a money entry must cost under its agreement (None: any amount in limits)."""
    candidate = _terms_of(session, entry)
    day = local_date(entry.at)
    if entry.type in {
        "placement.started",
        "handover.completed",
        "licence.charged",
    } and not pricing.valid_on(candidate, day):
        raise InputError(
            f"fee agreement {candidate.version} is not valid on {day.isoformat()} "
            f"(valid {candidate.valid_from.isoformat()} to "
            f"{candidate.valid_to.isoformat() if candidate.valid_to else 'open end'})",
            field="agreement",
        )
    if entry.placement is not None:
        fee = pricing.placement_fee(
            candidate, entry.placement.contract_type, entry.placement.hours_per_week
        )
        return pricing.start_part(candidate, fee)
    if entry.handover is not None:
        return candidate.handover_fee_cents
    if entry.licence is not None:
        amount, _ = pricing.licence_fee(candidate, entry.licence.method, entry.licence.participants)
        return amount
    return None


def _placement_fee(session: Session, placement: EntryBody) -> tuple[FeeAgreement, int]:
    candidate = _terms_of(session, placement)
    assert placement.placement is not None  # noqa: S101
    facts = placement.placement
    return candidate, pricing.placement_fee(candidate, facts.contract_type, facts.hours_per_week)


def policy(session: Session, entry: EntryBody, *, me: str, now: datetime) -> None:
    """What the fee agreements say of an entry, before anyone signs it (ledger.flows.Policy):
    priced as agreed, in a period still open, and a closing only of the same statement."""
    if entry.type == "settlement.closed":
        check_closing(session, entry, me=me, now=now)
        return
    check_entry(session, entry, me=me)


def check_entry(session: Session, entry: EntryBody, *, me: str) -> None:
    """Is this entry priced by the agreement it names, and is its period still open?"""
    _check_period_open(session, entry)
    try:
        if entry.placement is not None:
            _check_placement_payer(session, entry, me=me)
        if entry.refers_to is not None:
            _check_event_price(session, entry)
            return
        expected = expected_amount(session, entry)
        if expected is not None and entry.amount_cents != expected:
            raise InputError(
                f"amount {entry.amount_cents} cents is not what agreement "
                f"{entry.agreement.version if entry.agreement else '?'} prices: {expected} cents",
                field="amount_cents",
            )
        _check_payer(session, entry)
    except pricing.PricingError as e:
        raise InputError(str(e), field="agreement") from e


def _check_placement_payer(session: Session, entry: EntryBody, *, me: str) -> None:
    assert entry.placement is not None  # noqa: S101
    rule = _terms_of(session, entry).payer
    problem = referrals.placement_problem(
        session,
        entry.placement.introduction_id,
        payer=entry.payer,
        payee=entry.payee,
        me=me,
        payer_rule=rule,
    )
    if problem is not None:
        raise InputError(problem, field="payer")


def retention_cents(session: Session, placement: LedgerEntry) -> int:
    """The retention part of a placement's fee, under the agreement it was priced by."""
    candidate, fee = _placement_fee(session, ledger.body_of(json.loads(placement.canonical)))
    return pricing.retention_part(candidate, fee)


def _check_payer(session: Session, entry: EntryBody) -> None:
    candidate = _terms_of(session, entry)
    if entry.handover is not None:
        handing = entry.handover.from_bureau
        payer = (
            handing
            if candidate.handover_payer == "handing_bureau"
            else next(iter(entry.parties - {handing}))
        )
        if entry.payer != payer:
            raise InputError(
                f"under agreement {candidate.version} the "
                f"{candidate.handover_payer.replace('_', ' ')} pays a handover: "
                f"expected payer {payer}, got {entry.payer}",
                field="payer",
            )
    if entry.licence is not None:
        _, owner = pricing.licence_fee(candidate, entry.licence.method, entry.licence.participants)
        if entry.payee != owner:
            raise InputError(
                f"method {entry.licence.method} belongs to {owner}, not {entry.payee}",
                field="payee",
            )
    if entry.type in {"handover.completed", "licence.charged"} and entry.proposer != entry.payer:
        raise InputError(
            f"a {entry.type} entry is proposed by the bureau that pays ({entry.payer})",
            field="proposer",
        )


def _check_event_price(session: Session, entry: EntryBody) -> None:
    placement = _referred(session, entry)
    if entry.type not in {"placement.retained", "placement.adjusted"}:
        return
    if entry.agreement != placement.agreement:
        raise InputError(
            "an event is priced under its placement's agreement "
            f"({placement.agreement.version if placement.agreement else '?'})",
            field="agreement",
        )
    candidate, fee = _placement_fee(session, placement)
    assert placement.placement is not None  # noqa: S101
    if entry.type == "placement.retained":
        due = add_months(placement.placement.start_date, candidate.retention_months)
        if local_date(entry.at) < due:
            raise InputError(
                f"retention is confirmed after {candidate.retention_months} months: "
                f"not before {due.isoformat()}",
                field="type",
            )
        expected = pricing.retention_part(candidate, fee)
        if entry.amount_cents != expected:
            raise InputError(
                f"amount {entry.amount_cents} cents is not the retention part of the fee: "
                f"{expected} cents",
                field="amount_cents",
            )
        return
    adjusted = session.exec(
        select(LedgerEntry).where(
            LedgerEntry.refers_to == entry.refers_to, LedgerEntry.type == "placement.adjusted"
        )
    ).all()
    total = sum(r.amount_cents for r in adjusted) + entry.amount_cents
    if abs(total) > fee:
        raise InputError(
            f"adjustments of this placement would total {total} cents, more than its fee "
            f"of {fee} cents",
            field="amount_cents",
        )


def _check_period_open(session: Session, entry: EntryBody) -> None:
    """Nothing is booked into a period the two bureaus already closed."""
    day = local_date(entry.at)
    # a closing's id follows from its period and parties: look up the two that could hold
    # this day (its quarter and its month) instead of reading every closing
    candidates = {
        closing_entry_id(period_of(day, quarterly=q).name, entry.parties): q for q in (True, False)
    }
    candidates.pop(entry.entry_id, None)
    closed = session.exec(
        select(LedgerEntry.entry_id).where(col(LedgerEntry.entry_id).in_(list(candidates)))
    ).first()
    if closed is not None:
        period = period_of(day, quarterly=candidates[closed]).name
        a, b = sorted(entry.parties)
        raise ConflictError(
            f"{period} between {a} and {b} is closed ({closed}); "
            "a correction is an adjustment in a later period",
            field="at",
        )


def closed_entries(session: Session, *, parties: tuple[str, str] | None = None) -> list[EntryBody]:
    query = select(LedgerEntry).where(LedgerEntry.type == "settlement.closed")
    if parties is not None:
        a, b = sorted(parties)
        query = query.where(
            ((LedgerEntry.payer == a) & (LedgerEntry.payee == b))
            | ((LedgerEntry.payer == b) & (LedgerEntry.payee == a))
        )
    return [ledger.body_of(json.loads(r.canonical)) for r in session.exec(query).all()]


# --- statements and closing ------------------------------------------------------------


def period(name: str, *, now: datetime) -> Period:
    try:
        chosen = parse_period(name)
    except ValueError as e:
        raise InputError(str(e), field="period") from e
    if not chosen.has_started(now):
        raise InputError(
            f"period {name} has not started yet (it begins {chosen.start.isoformat()})",
            field="period",
        )
    return chosen


def bodies(session: Session, *, before: date | None = None) -> list[EntryBody]:
    """Every entry of our log, validated (optionally only those dated before a day)."""
    rows = session.exec(select(LedgerEntry.canonical).order_by(col(LedgerEntry.seq))).all()
    found = [ledger.body_of(json.loads(data)) for data in rows]
    if before is None:
        return found
    return [e for e in found if local_date(e.at) < before]


def statement(
    session: Session, *, me: str, period_name: str, now: datetime
) -> tuple[Statement, dict[str, BilateralStatement]]:
    """Our statement of a period, from our own log only."""
    chosen = period(period_name, now=now)
    try:
        return statements.for_node(
            bodies(session, before=chosen.end),
            node=me,
            period=chosen,
            agreements=in_force(session),
        )
    except statements.StatementError as e:
        raise InputError(str(e), field="period") from e


def closing_entry(
    session: Session, *, me: str, counterparty: str, period_name: str, now: datetime
) -> dict[str, Any]:
    """The settlement.closed entry for one counterparty: the bilateral net of a period
    that is over, naming the hash of the bilateral statement both sides compute."""
    chosen = _over(period_name, now)
    made = _bilateral(session, me=me, counterparty=counterparty, chosen=chosen)
    return _closing(made, me=me, now=now)


def closings(
    session: Session,
    *,
    me: str,
    period_name: str,
    now: datetime,
    only: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """A closing entry (unsigned) for every counterparty of a period that is over (or
    one), from one reading of the ledger; pairs already closed are left alone. Proposed
    with :func:`topmatch.ledger.flows.propose`."""
    _over(period_name, now)
    made, bilaterals = statement(session, me=me, period_name=period_name, now=now)
    targets = [s.counterparty for s in made.counterparties]
    if only is not None:
        if only not in targets:
            raise InputError(
                f"nothing between us and {only} in {period_name}", field="counterparty"
            )
        targets = [only]
    done = {
        next(iter(e.parties - {me})) for e in closed_entries(session) if e.period == period_name
    }
    return [
        (other, _closing(bilaterals[other], me=me, now=now))
        for other in targets
        if other not in done
    ]


def _over(period_name: str, now: datetime) -> Period:
    chosen = period(period_name, now=now)
    if not chosen.is_over(now):
        raise InputError(
            f"period {period_name} runs until {chosen.last_day.isoformat()}: "
            "it can be closed once it is over",
            field="period",
        )
    return chosen


def _closing(made: BilateralStatement, *, me: str, now: datetime) -> dict[str, Any]:
    body = EntryBody(
        format=ENTRY_FORMAT,
        entry_id=closing_entry_id(made.period, made.parties),
        type="settlement.closed",
        at=now,
        proposer=me,
        payer=made.net.payer,
        payee=made.net.payee,
        amount_cents=made.net.total_cents,
        period=made.period,
        statement_sha256=statements.report_sha256(made),
        reason=f"afrekening {made.period}: {len(made.lines)} regels",
    )
    built: dict[str, Any] = json.loads(body.model_dump_json(exclude_none=True))
    return built


def _bilateral(
    session: Session, *, me: str, counterparty: str, chosen: Period
) -> BilateralStatement:
    try:
        return statements.bilateral(
            bodies(session, before=chosen.end),
            parties=(me, counterparty),
            period=chosen,
            agreements=in_force(session),
        )
    except statements.StatementError as e:
        raise InputError(str(e), field="period") from e


def check_closing(session: Session, entry: EntryBody, *, me: str, now: datetime) -> None:
    """A countersigner recomputes the bilateral statement and signs only the same one."""
    assert entry.period is not None  # noqa: S101 - the entry schema requires it
    chosen = period(entry.period, now=now)
    if not chosen.is_over(now):
        raise InputError(f"period {entry.period} is not over yet", field="period")
    counterparty = next(iter(entry.parties - {me}))
    made = _bilateral(session, me=me, counterparty=counterparty, chosen=chosen)
    ours = statements.report_sha256(made)
    if entry.statement_sha256 != ours:
        raise InputError(
            f"our statement of {entry.period} with {counterparty} has hash {ours}, "
            f"not {entry.statement_sha256}: the two ledgers differ",
            field="statement_sha256",
        )
    if (entry.payer, entry.payee, entry.amount_cents) != (
        made.net.payer,
        made.net.payee,
        made.net.total_cents,
    ):
        raise InputError(
            f"the net of {entry.period} is {made.net.payer} pays {made.net.payee} "
            f"{made.net.total_cents} cents",
            field="amount_cents",
        )


# --- netting ---------------------------------------------------------------------------


def nets_of(entries: Iterable[EntryBody], *, period_name: str) -> list[netting_core.BilateralNet]:
    seen: dict[str, netting_core.BilateralNet] = {}
    for entry in entries:
        if entry.type == "settlement.closed" and entry.period == period_name:
            seen[entry.entry_id] = netting_core.BilateralNet(
                entry.entry_id, entry.payer, entry.payee, entry.amount_cents
            )
    return [seen[k] for k in sorted(seen)]


def netting(entries: Iterable[EntryBody], *, period_name: str) -> NettingProposal:
    return netting_core.propose(period_name, nets_of(entries, period_name=period_name))
