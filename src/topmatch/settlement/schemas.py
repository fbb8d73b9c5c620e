"""Wire and report formats of settlement: the fee agreement, statements and netting.

Every format here is a JSON document in RFC 8785 canonical form when it is hashed or
signed, with a ``format`` member naming it (so a signature over one can never be taken
for a signature over another). Amounts are integer euro cents; rates are basis points
(1 bp = 0.01 %), so no floating point ever touches money.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from topmatch.bounds import CleanInput
from topmatch.vocabulary import ContractType
from topmatch.wiretext import FreeText

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]
PeriodName = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(Q[1-4]|0[1-9]|1[0-2])$")]
Cents = Annotated[StrictInt, Field(ge=0, le=100_000_000)]
SignedCents = Annotated[StrictInt, Field(ge=-(10**15), le=10**15)]
BasisPoints = Annotated[StrictInt, Field(ge=0, le=10_000)]

AGREEMENT_FORMAT: Final = "topmatch.fee-agreement/1"
BILATERAL_FORMAT: Final = "topmatch.bilateral-statement/1"
STATEMENT_FORMAT: Final = "topmatch.statement/1"
NETTING_FORMAT: Final = "topmatch.netting/1"

LineType = Literal[
    "placement.started",
    "placement.retained",
    "placement.adjusted",
    "placement.voided",
    "handover.completed",
    "licence.charged",
]


class Strict(CleanInput, BaseModel):  # BaseModel named so ruff sees a model (RUF012)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- the fee agreement -----------------------------------------------------------------


class PlacementFee(Strict):
    """The fee for a placement with this contract type and hours per week (inclusive)."""

    contract_type: ContractType
    min_hours: Annotated[StrictInt, Field(ge=0, le=60)] = 0
    max_hours: Annotated[StrictInt, Field(ge=0, le=60)] = 60
    fee_cents: Cents

    @model_validator(mode="after")
    def _band(self) -> PlacementFee:
        if self.min_hours > self.max_hours:
            raise ValueError(f"min_hours {self.min_hours} is above max_hours {self.max_hours}")
        return self


class Licence(Strict):
    """A training method one bureau sells to the others, priced per participant."""

    method: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    title: Annotated[str, FreeText(max_length=200, min_length=1)]
    owner: NodeId
    fee_cents_per_participant: Cents


class FeeAgreement(Strict):
    """What the member bureaus agreed a cross-bureau placement, handover and licence cost.

    Valid from ``valid_from`` up to and including ``valid_to`` (open-ended when absent), in
    the Europe/Amsterdam calendar. In force once every member has signed it.
    """

    format: Literal["topmatch.fee-agreement/1"]
    version: Version
    title: Annotated[str, FreeText(max_length=200, min_length=1)]
    valid_from: date
    valid_to: date | None = None
    currency: Literal["EUR"] = "EUR"
    vat_rate_bp: BasisPoints = Field(description="VAT rate in basis points: 2100 is 21 %")
    members: Annotated[list[NodeId], Field(min_length=2, max_length=100)]
    placement_fees: Annotated[list[PlacementFee], Field(min_length=1, max_length=200)]
    start_share_bp: BasisPoints = Field(
        default=5000,
        description="part of the placement fee due at the start; the rest on retention",
    )
    retention_months: Annotated[StrictInt, Field(ge=0, le=36)] = 6
    payer: Literal["client_bureau", "opening_bureau"] = Field(
        default="client_bureau",
        description="client_bureau: the bureau whose client was placed pays the bureau that "
        "brought the opening; opening_bureau: the other way round",
    )
    handover_fee_cents: Cents = 0
    handover_payer: Literal["handing_bureau", "receiving_bureau"] = "handing_bureau"
    licences: Annotated[list[Licence], Field(max_length=200)] = []

    @model_validator(mode="after")
    def _consistent(self) -> FeeAgreement:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if len(set(self.members)) != len(self.members):
            raise ValueError("members are listed twice")
        for i, a in enumerate(self.placement_fees):
            for b in self.placement_fees[i + 1 :]:
                if (
                    a.contract_type == b.contract_type
                    and a.min_hours <= b.max_hours
                    and b.min_hours <= a.max_hours
                ):
                    raise ValueError(
                        f"placement fees for {a.contract_type.value} overlap: hours "
                        f"{a.min_hours}-{a.max_hours} and {b.min_hours}-{b.max_hours}"
                    )
        methods = [licence.method for licence in self.licences]
        if len(set(methods)) != len(methods):
            raise ValueError("a licence method is listed twice")
        for licence in self.licences:
            if licence.owner not in self.members:
                raise ValueError(f"licence {licence.method} is owned by non-member {licence.owner}")
        return self


class AgreementSignature(Strict):
    party: NodeId
    key_id: Annotated[str, StringConstraints(min_length=10, max_length=64)]
    sig: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]


class SignedAgreement(FeeAgreement):
    """The agreement with the members' signatures, each over its RFC 8785 bytes without
    ``signatures`` (the same scheme as a ledger entry)."""

    signatures: Annotated[list[AgreementSignature], Field(max_length=100)] = []


# --- statements ------------------------------------------------------------------------


class Line(Strict):
    """One amount in a statement: a co-signed ledger entry, priced, with its VAT."""

    entry_id: Sha256
    date: date
    type: LineType
    payer: NodeId
    payee: NodeId
    placement: Sha256 | None = Field(
        default=None, description="entry id of the placement this line belongs to"
    )
    agreement_version: Version | None = None
    reverses: Sha256 | None = Field(
        default=None, description="for a reversal: the entry whose amount it takes back"
    )
    amount_cents: SignedCents = Field(description="excluding VAT; negative for a reversal")
    vat_cents: SignedCents
    total_cents: SignedCents
    note: Annotated[str, FreeText(max_length=200)] | None = Field(
        default=None, description="why the line is here, e.g. a reversal or a released dispute"
    )


class Excluded(Strict):
    """An amount left out of the period, with the state that keeps it out."""

    entry_id: Sha256
    date: date
    type: LineType
    payer: NodeId
    payee: NodeId
    placement: Sha256 | None = None
    amount_cents: SignedCents
    state: Literal["voided", "disputed"]


class Totals(Strict):
    amount_cents: SignedCents = 0
    vat_cents: SignedCents = 0
    total_cents: SignedCents = 0


class Net(Strict):
    """Who pays whom, once the two directions are set off against each other."""

    payer: NodeId
    payee: NodeId
    amount_cents: SignedCents
    vat_cents: SignedCents
    total_cents: SignedCents


class BilateralStatement(Strict):
    """Everything between two bureaus in a period, the same bytes on both nodes.

    Its SHA-256 (of the RFC 8785 bytes) is what a ``settlement.closed`` entry names.
    """

    format: Literal["topmatch.bilateral-statement/1"]
    period: PeriodName
    parties: Annotated[list[NodeId], Field(min_length=2, max_length=2)]
    lines: list[Line]
    excluded: list[Excluded]
    net: Net


class CounterpartySection(Strict):
    """One counterparty, seen from our side."""

    counterparty: NodeId
    statement_sha256: Sha256 = Field(description="SHA-256 of the bilateral statement")
    receivables: list[Line]
    payables: list[Line]
    excluded: list[Excluded]
    receivable: Totals
    payable: Totals
    net: Totals = Field(description="receivable minus payable: positive, they owe us")


class Statement(Strict):
    """Our bureau's statement of a period: receivables and payables per counterparty."""

    format: Literal["topmatch.statement/1"]
    node: NodeId
    period: PeriodName
    period_start: date
    period_end: date = Field(description="the last day of the period")
    currency: Literal["EUR"] = "EUR"
    counterparties: list[CounterpartySection]
    receivable: Totals
    payable: Totals
    net: Totals


# --- netting ---------------------------------------------------------------------------


class Position(Strict):
    node: NodeId
    net_cents: SignedCents = Field(description="positive: receives; negative: pays")


class Payment(Strict):
    payer: NodeId
    payee: NodeId
    amount_cents: Annotated[StrictInt, Field(gt=0, le=10**15)]


class NettingProposal(Strict):
    """Payments that settle a period across the federation, from closed bilateral nets."""

    format: Literal["topmatch.netting/1"]
    period: PeriodName
    based_on: list[Sha256] = Field(description="the settlement.closed entries netted")
    positions: list[Position]
    payments: list[Payment]
    method: Literal["exact", "greedy"]
    gross_cents: Annotated[StrictInt, Field(ge=0, le=10**15)] = Field(
        description="what the bilateral nets would move without netting"
    )
    moved_cents: Annotated[StrictInt, Field(ge=0, le=10**15)]
