"""Every fee in an audit bundle, proved from the signed fee agreements it carries.

A pure core: no database, no network, no clock. :func:`check_agreement` opens one
``agreements/<sha256>.json`` file (its hash, every member's signature with keys the auditor
trusts); :func:`check_fees` walks the entries in log order and checks each against the
agreement it names, with the node's own pricing (``topmatch.settlement.agreement``):

- the agreement is in the bundle, by version and hash, and both parties are members;
- ``placement.started``, ``handover.completed`` and ``licence.charged``: the agreement is
  valid on the entry's date (Europe/Amsterdam) and the amount is what it prices (the start
  part of a placement fee, the handover fee, the licence fee per participant);
- a handover is paid by the bureau the agreement's ``handover_payer`` names, a licence to
  the method's owner, and both are proposed by the payer;
- every event (``refers_to``) refers to an earlier ``placement.started`` entry between the
  same payer and payee; a retention or adjustment is priced under the placement's
  agreement; a retention comes ``retention_months`` after the start and costs the
  retention part of the fee; adjustments never total more than the fee.

What the bundle cannot show is left out: who owned the client of a placement (so the
agreement's ``payer`` rule for placements), and the statement a ``settlement.closed``
entry names (``topmatch ledger audit`` recomputes statements).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from topmatch.errors import TopmatchError
from topmatch.ledger import canonical
from topmatch.ledger.errors import BundleError, LedgerError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import EntryBody
from topmatch.settlement import agreement as pricing
from topmatch.settlement.periods import add_months, local_date
from topmatch.settlement.schemas import FeeAgreement, SignedAgreement

ENTRIES = "entries.jsonl"
PRICED_ON_THEIR_DATE = frozenset({"placement.started", "handover.completed", "licence.charged"})


def agreement_file(sha256: str) -> str:
    return f"agreements/{sha256}.json"


def agreement_bytes(signed: SignedAgreement) -> bytes:
    """How a bundle stores an agreement: its RFC 8785 bytes, signatures included, and LF."""
    return canonical.canonical(signed.model_dump(mode="json")) + b"\n"


def check_agreement(file: str, raw: bytes, book: KeyBook) -> FeeAgreement:
    """The agreement in ``raw`` (the bytes of ``agreements/<sha256>.json``), once its hash
    matches the file name and every member signed it with a trusted key (in force)."""
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        raise BundleError(file, "framing", "an agreement is one line of canonical JSON and LF")
    try:
        data = canonical.parse_canonical(raw[:-1])
        signed = SignedAgreement.model_validate_json(raw[:-1])
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BundleError(file, "agreement", f"{where}: {first['msg']}") from e
    except TopmatchError as e:
        raise BundleError(file, "agreement", e.diagnostics()) from e
    terms = pricing.strip(signed)
    digest = pricing.sha256(terms)
    if file != agreement_file(digest):
        raise BundleError(file, "agreement hash", f"the agreement's SHA-256 is {digest}")
    try:
        canonical.verify_entry(
            data, resolve_key=book.resolver(None), required_parties=terms.members
        )
    except LedgerError as e:
        raise BundleError(file, "agreement signatures", f"not in force: {e.diagnostics()}") from e
    return terms


class _Walk:
    """The entries seen so far, for the checks of the ones that refer back."""

    def __init__(self, agreements: Mapping[str, FeeAgreement]) -> None:
        self.agreements = agreements
        self.placements: dict[str, EntryBody] = {}
        self.adjusted: dict[str, int] = {}

    def check(self, entry: EntryBody) -> None:
        terms = self.terms(entry)
        if entry.refers_to is not None:
            self.event(entry)
        elif terms is not None:
            self.priced(entry, terms)
        if entry.type == "placement.started":
            self.placements[entry.entry_id] = entry

    def terms(self, entry: EntryBody) -> FeeAgreement | None:
        ref = entry.agreement
        if ref is None:
            return None
        terms = self.agreements.get(ref.sha256)
        if terms is None:
            raise _RuleError(
                "agreement",
                f"names agreement {ref.version} ({ref.sha256}), "
                f"but {agreement_file(ref.sha256)} is not in the bundle",
            )
        if terms.version != ref.version:
            raise _RuleError(
                "agreement", f"names version {ref.version}, the agreement is {terms.version}"
            )
        outsiders = sorted(entry.parties - set(terms.members))
        if outsiders:
            raise _RuleError(
                "agreement", f"{', '.join(outsiders)} is no member of agreement {terms.version}"
            )
        return terms

    def priced(self, entry: EntryBody, terms: FeeAgreement) -> None:
        day = local_date(entry.at)
        if entry.type in PRICED_ON_THEIR_DATE and not pricing.valid_on(terms, day):
            raise _RuleError(
                "agreement", f"agreement {terms.version} is not valid on {day.isoformat()}"
            )
        try:
            expected = _price(entry, terms)
        except pricing.PricingError as e:
            raise _RuleError("fees", str(e)) from e
        if expected is not None and entry.amount_cents != expected:
            raise _RuleError(
                "fees",
                f"amount {entry.amount_cents} cents, agreement {terms.version} prices "
                f"{expected} cents",
            )
        _check_payer(entry, terms)

    def event(self, entry: EntryBody) -> None:
        placement = self.placements.get(entry.refers_to or "")
        if placement is None:
            raise _RuleError(
                "references",
                f"refers to {entry.refers_to}, which is no earlier placement.started entry",
            )
        if (entry.payer, entry.payee) != (placement.payer, placement.payee):
            raise _RuleError(
                "payer/payee",
                f"{entry.payer} pays {entry.payee}, but in its placement {placement.payer} "
                f"pays {placement.payee}",
            )
        if entry.type not in {"placement.retained", "placement.adjusted"}:
            return
        if entry.agreement != placement.agreement:
            raise _RuleError("agreement", "an event is priced under its placement's agreement")
        terms = self.agreements[placement.agreement.sha256 if placement.agreement else ""]
        facts = placement.placement
        assert facts is not None  # noqa: S101 - a placement.started entry has its facts
        fee = pricing.placement_fee(terms, facts.contract_type, facts.hours_per_week)
        if entry.type == "placement.retained":
            _check_retention(entry, terms, fee, facts.start_date)
            return
        total = self.adjusted.get(placement.entry_id, 0) + entry.amount_cents
        if abs(total) > fee:
            raise _RuleError(
                "fees", f"adjustments of the placement total {total} cents, beyond its fee {fee}"
            )
        self.adjusted[placement.entry_id] = total


class _RuleError(Exception):
    def __init__(self, check: str, detail: str) -> None:
        super().__init__(detail)
        self.check = check
        self.detail = detail


def _price(entry: EntryBody, terms: FeeAgreement) -> int | None:
    if entry.placement is not None:
        facts = entry.placement
        fee = pricing.placement_fee(terms, facts.contract_type, facts.hours_per_week)
        return pricing.start_part(terms, fee)
    if entry.handover is not None:
        return terms.handover_fee_cents
    if entry.licence is not None:
        amount, _ = pricing.licence_fee(terms, entry.licence.method, entry.licence.participants)
        return amount
    return None


def _check_payer(entry: EntryBody, terms: FeeAgreement) -> None:
    if entry.handover is not None:
        handing = entry.handover.from_bureau
        payer = handing
        if terms.handover_payer == "receiving_bureau":
            payer = next(iter(entry.parties - {handing}))
        if entry.payer != payer:
            raise _RuleError(
                "payer/payee",
                f"under agreement {terms.version} the {terms.handover_payer.replace('_', ' ')} "
                f"pays a handover: expected payer {payer}, got {entry.payer}",
            )
    if entry.licence is not None:
        _, owner = pricing.licence_fee(terms, entry.licence.method, entry.licence.participants)
        if entry.payee != owner:
            raise _RuleError(
                "payer/payee",
                f"method {entry.licence.method} belongs to {owner}, not {entry.payee}",
            )
    if entry.type in {"handover.completed", "licence.charged"} and entry.proposer != entry.payer:
        raise _RuleError(
            "payer/payee", f"a {entry.type} entry is proposed by the payer ({entry.payer})"
        )


def _check_retention(entry: EntryBody, terms: FeeAgreement, fee: int, start: Any) -> None:
    due = add_months(start, terms.retention_months)
    if local_date(entry.at) < due:
        raise _RuleError(
            "fees",
            f"a retention is confirmed after {terms.retention_months} months: "
            f"not before {due.isoformat()}",
        )
    expected = pricing.retention_part(terms, fee)
    if entry.amount_cents != expected:
        raise _RuleError(
            "fees",
            f"amount {entry.amount_cents} cents is not the retention part of the fee: "
            f"{expected} cents",
        )


def check_fees(entries: Sequence[EntryBody], agreements: Mapping[str, FeeAgreement]) -> None:
    """Check every entry, in log order, against the agreements (by SHA-256); raise
    :class:`BundleError` naming ``entries.jsonl``, the entry and the check."""
    walk = _Walk(agreements)
    for number, entry in enumerate(entries):
        try:
            walk.check(entry)
        except _RuleError as e:
            raise BundleError(
                ENTRIES, e.check, f"entry {number} (line {number + 1}): {e.detail}"
            ) from e
        except pricing.PricingError as e:
            raise BundleError(ENTRIES, "fees", f"entry {number} (line {number + 1}): {e}") from e
