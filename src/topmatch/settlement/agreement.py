"""Pricing under a fee agreement: deterministic, in integer euro cents.

Rounding (the same on every node, documented in docs/settlement.md):

- the start part of a placement fee is ``fee x start_share_bp / 10000`` rounded half up
  to a whole cent; the retention part is the rest (``fee - start``), so the two parts
  always add up to the fee exactly;
- VAT is computed per line, ``amount x vat_rate_bp / 10000`` rounded half away from
  zero, so a reversal's VAT is exactly minus the original's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from topmatch.ledger import canonical
from topmatch.settlement.schemas import FeeAgreement, SignedAgreement
from topmatch.vocabulary import ContractType

BASIS = 10_000
HALF = BASIS // 2


class PricingError(ValueError):
    """A fee cannot be computed: the agreement has no price for what happened."""


def body(agreement: FeeAgreement) -> dict[str, Any]:
    """The agreement as signed: every field except ``signatures``."""
    data: dict[str, Any] = agreement.model_dump(mode="json", exclude={"signatures"})
    return data


def sha256(agreement: FeeAgreement) -> str:
    """The hash a ledger entry names: SHA-256 of the RFC 8785 bytes of the body."""
    return hashlib.sha256(canonical.canonical(body(agreement))).hexdigest()


def strip(agreement: SignedAgreement) -> FeeAgreement:
    return FeeAgreement.model_validate_json(json.dumps(body(agreement)))


def valid_on(agreement: FeeAgreement, day: date) -> bool:
    return agreement.valid_from <= day and (agreement.valid_to is None or day <= agreement.valid_to)


def overlap(a: FeeAgreement, b: FeeAgreement) -> bool:
    """Two agreements clash when they share two members and their validity overlaps: a
    placement between those two would then have two prices."""
    if len(set(a.members) & set(b.members)) < 2:  # noqa: PLR2004 - a pair of bureaus
        return False
    a_end = a.valid_to or date.max
    b_end = b.valid_to or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def clashes(candidate: FeeAgreement, others: Iterable[FeeAgreement]) -> list[str]:
    return sorted(
        o.version for o in others if o.version != candidate.version and overlap(candidate, o)
    )


def placement_fee(agreement: FeeAgreement, contract_type: ContractType | str, hours: int) -> int:
    """The whole fee for a placement of this contract type and hours per week."""
    kind = ContractType(contract_type)
    for band in agreement.placement_fees:
        if band.contract_type == kind and band.min_hours <= hours <= band.max_hours:
            return band.fee_cents
    raise PricingError(
        f"agreement {agreement.version} has no placement fee for {kind.value} "
        f"at {hours} hours per week"
    )


def start_part(agreement: FeeAgreement, fee_cents: int) -> int:
    """The part of a placement fee due at the start (half up to a cent)."""
    return (fee_cents * agreement.start_share_bp + HALF) // BASIS


def retention_part(agreement: FeeAgreement, fee_cents: int) -> int:
    """The rest, due once the placement is confirmed durable."""
    return fee_cents - start_part(agreement, fee_cents)


def licence_fee(agreement: FeeAgreement, method: str, participants: int) -> tuple[int, str]:
    """(fee, owner) for ``participants`` people trained with ``method``."""
    for licence in agreement.licences:
        if licence.method == method:
            return licence.fee_cents_per_participant * participants, licence.owner
    raise PricingError(f"agreement {agreement.version} has no licence for method {method!r}")


def vat(amount_cents: int, rate_bp: int) -> int:
    """VAT on one line, rounded half away from zero."""
    magnitude = (abs(amount_cents) * rate_bp + HALF) // BASIS
    return magnitude if amount_cents >= 0 else -magnitude
