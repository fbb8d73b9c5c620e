"""The ledger entry as signed: its fields, before the signatures are added.

An entry is a JSON object in RFC 8785 canonical form with a ``signatures`` member holding
one Ed25519 signature per party over the canonical bytes of the entry without that member
(topmatch.ledger.canonical). The fields below are all there is: unknown fields are
refused, so what was signed is exactly what is stored, exported and verified.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)
from stdnum.nl import bsn as stdnum_bsn

from topmatch.bounds import CleanInput
from topmatch.vocabulary import ContractType
from topmatch.wiretext import FreeText

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
EntryId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

EntryType = Literal[
    "placement.started",
    "placement.retained",
    "placement.voided",
    "placement.disputed",
    "placement.adjusted",
    "placement.resolved",
    "handover.completed",
    "licence.charged",
    "settlement.closed",
]
MONEY_TYPES: Final = frozenset(
    {
        "placement.started",
        "placement.retained",
        "placement.adjusted",
        "handover.completed",
        "licence.charged",
    }
)
EVENT_TYPES: Final = frozenset(
    {
        "placement.retained",
        "placement.voided",
        "placement.disputed",
        "placement.adjusted",
        "placement.resolved",
    }
)
PeriodName = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(Q[1-4]|0[1-9]|1[0-2])$")]


def _no_bsn(value: str) -> str:
    """A reference goes into a ledger both bureaus keep for good: never a BSN."""
    if any(stdnum_bsn.is_valid(part) for part in re.split(r"[._:-]", value)):
        raise ValueError("a reference must not be a BSN: use your own file or course number")
    return value


Reference = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    AfterValidator(_no_bsn),
]
ENTRY_FORMAT: Final = "topmatch.ledger-entry/1"


class Strict(CleanInput):
    # strict: an entry is validated from its JSON text, where "24" is not a number and a
    # number is not a date; what an independent verifier with the JSON Schema refuses, we
    # refuse too.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AgreementRef(Strict):
    version: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    sha256: Sha256


class PlacementFacts(Strict):
    """What both bureaus agree happened; the client appears only as a pseudonym that the
    owning bureau alone can link back (HMAC under its own secret)."""

    introduction_id: Annotated[str, StringConstraints(min_length=8, max_length=64)]
    summary_id: Annotated[str, StringConstraints(max_length=26)]
    client_ref: Sha256
    start_date: date
    contract_type: ContractType
    hours_per_week: Annotated[int, Field(ge=0, le=60)]


class HandoverFacts(Strict):
    """A client handed over horizontally: ``from_bureau`` hands its client to the other
    party, who takes over the work (``reference`` is the handing bureau's own)."""

    reference: Reference
    from_bureau: NodeId
    client_ref: Sha256
    handed_over_on: date


class LicenceFacts(Strict):
    """Participants trained with a method the payee owns (``reference``: the payer's)."""

    reference: Reference
    method: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    participants: Annotated[StrictInt, Field(ge=1, le=10_000)]


class EntryBody(Strict):
    """An entry without its signatures."""

    format: Literal["topmatch.ledger-entry/1"]
    entry_id: EntryId
    type: EntryType
    refers_to: EntryId | None = None
    at: AwareDatetime
    proposer: NodeId
    payer: NodeId
    payee: NodeId
    amount_cents: Annotated[StrictInt, Field(ge=-100_000_000, le=100_000_000)]
    currency: Literal["EUR"] = "EUR"
    agreement: AgreementRef | None = None
    placement: PlacementFacts | None = None
    reason: Annotated[str, FreeText(max_length=500)] | None = None
    statement_sha256: Sha256 | None = None
    period: PeriodName | None = None
    handover: HandoverFacts | None = None
    licence: LicenceFacts | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EntryBody:
        if self.payer == self.payee:
            raise ValueError(f"payer and payee are both {self.payer!r}")
        if self.proposer not in {self.payer, self.payee}:
            raise ValueError(f"proposer {self.proposer!r} is neither payer nor payee")
        facts = {
            "placement": self.placement is not None,
            "handover": self.handover is not None,
            "licence": self.licence is not None,
            "period": self.period is not None,
        }
        wanted = _FACTS.get(self.type)
        for name, present in facts.items():
            if present != (name == wanted):
                verb = "needs" if name == wanted else "cannot carry"
                raise ValueError(f"a {self.type} entry {verb} {name}")
        expected = self.derived_id()
        if expected is not None and self.entry_id != expected:
            raise ValueError(
                f"entry_id of a {self.type} entry is derived from its facts: "
                f"expected {expected}, got {self.entry_id}"
            )
        if self.type in EVENT_TYPES and self.refers_to is None:
            raise ValueError(f"a {self.type} entry must refer to the entry it changes")
        if self.type not in EVENT_TYPES and self.refers_to is not None:
            raise ValueError(f"a {self.type} entry refers to no other entry")
        self._check_amount()
        return self

    def _check_amount(self) -> None:
        if self.type in _NO_AMOUNT and self.amount_cents:
            raise ValueError(f"a {self.type} entry carries no amount; use an adjustment")
        if self.type in _NON_NEGATIVE and self.amount_cents < 0:
            raise ValueError(f"the amount of a {self.type} entry cannot be negative")
        if self.type in MONEY_TYPES and self.agreement is None:
            raise ValueError(f"a {self.type} entry names the fee agreement it is priced under")
        if self.type == "settlement.closed" and self.statement_sha256 is None:
            raise ValueError("a settlement.closed entry names the statement it closes")
        if self.handover is not None and self.handover.from_bureau not in self.parties:
            raise ValueError(f"the handing bureau {self.handover.from_bureau} is not a party")

    def derived_id(self) -> str | None:
        """The entry id this entry's facts fix (None for events, whose id the proposer
        derives from the entry they refer to and a key)."""
        if self.placement is not None:
            return entry_id_for("placement.started", self.placement.introduction_id)
        if self.handover is not None:
            return handover_entry_id(self.handover.from_bureau, self.handover.reference)
        if self.licence is not None:
            return licence_entry_id(self.payer, self.licence.reference)
        if self.period is not None:
            return closing_entry_id(self.period, self.parties)
        return None

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.payer, self.payee})


_FACTS: Final = {
    "placement.started": "placement",
    "handover.completed": "handover",
    "licence.charged": "licence",
    "settlement.closed": "period",
}
_NO_AMOUNT: Final = frozenset({"placement.voided", "placement.disputed", "placement.resolved"})
_NON_NEGATIVE: Final = frozenset(
    {
        "placement.started",
        "placement.retained",
        "handover.completed",
        "licence.charged",
        "settlement.closed",
    }
)


class SignatureItem(Strict):
    party: NodeId
    key_id: Annotated[str, StringConstraints(min_length=10, max_length=64)]
    sig: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]


class SignedEntry(EntryBody):
    """An entry as stored and exported: the body plus both parties' signatures."""

    signatures: Annotated[list[SignatureItem], Field(min_length=1, max_length=2)]


def entry_id_for(entry_type: str, subject: str, refers_to: str | None = None) -> str:
    """A deterministic entry id: proposing the same event twice yields the same id."""
    material = f"topmatch ledger entry\n{entry_type}\n{subject}\n{refers_to or ''}"
    return hashlib.sha256(material.encode()).hexdigest()


def handover_entry_id(from_bureau: str, reference: str) -> str:
    return entry_id_for("handover.completed", f"{from_bureau}:{reference}")


def licence_entry_id(payer: str, reference: str) -> str:
    return entry_id_for("licence.charged", f"{payer}:{reference}")


def closing_entry_id(period: str, parties: frozenset[str] | list[str]) -> str:
    a, b = sorted(parties)
    return entry_id_for("settlement.closed", f"{period}:{a}:{b}")
