"""The ledger entry as signed: its fields, before the signatures are added.

An entry is a JSON object in RFC 8785 canonical form with a ``signatures`` member holding
one Ed25519 signature per party over the canonical bytes of the entry without that member
(topmatch.ledger.canonical). The fields below are all there is: unknown fields are
refused, so what was signed is exactly what is stored, exported and verified.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from topmatch.vocabulary import ContractType

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
EntryId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

EntryType = Literal[
    "placement.started",
    "placement.retained",
    "placement.voided",
    "placement.disputed",
    "placement.adjusted",
    "settlement.closed",
]
ENTRY_FORMAT: Final = "topmatch.ledger-entry/1"


class Strict(BaseModel):
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
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    statement_sha256: Sha256 | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EntryBody:
        if self.payer == self.payee:
            raise ValueError(f"payer and payee are both {self.payer!r}")
        if self.proposer not in {self.payer, self.payee}:
            raise ValueError(f"proposer {self.proposer!r} is neither payer nor payee")
        if self.type == "placement.started":
            if self.placement is None:
                raise ValueError("a placement.started entry needs its placement facts")
            expected = entry_id_for("placement.started", self.placement.introduction_id)
            if self.entry_id != expected:
                raise ValueError(
                    f"entry_id of a placement is derived from its introduction: "
                    f"expected {expected}, got {self.entry_id}"
                )
            if self.amount_cents < 0:
                raise ValueError("a placement fee cannot be negative")
        if self.type in {"placement.voided", "placement.disputed"} and self.amount_cents:
            raise ValueError(f"a {self.type} entry carries no amount; use an adjustment")
        if (
            self.type != "placement.started"
            and self.refers_to is None
            and self.type != "settlement.closed"
        ):
            raise ValueError(f"a {self.type} entry must refer to the entry it changes")
        return self

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.payer, self.payee})


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
