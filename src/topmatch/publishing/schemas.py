"""Wire models of what a node publishes: summaries, tombstones and feed pages.

These are the only shapes in which vacancies and baanopeningen leave a node. Every field
is listed in docs/privacy.md with the reason it may travel. Unknown fields are refused, so
a peer cannot smuggle extra data into our replica; JSON Schemas are in schemas/.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from topmatch.bounds import CleanInput, Count, Positive
from topmatch.vocabulary import ContractType, EducationLevel, SbiSection
from topmatch.wiretext import FreeText

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
SUMMARY_ID_PATTERN = r"^[vb]-[0-9a-f]{24}$"
SummaryId = Annotated[str, StringConstraints(pattern=SUMMARY_ID_PATTERN)]
#: A place or region name from the geography data: a code list, not free text.
Label = Annotated[str, StringConstraints(min_length=1, max_length=100)]
#: An occupation label or a skill: free text, scrubbed (topmatch.wiretext).
LabelText = Annotated[str, FreeText(max_length=100, min_length=1)]
ShortText = Annotated[str, FreeText(max_length=200)]
Hours = Annotated[int, Field(ge=0, le=60)]

MAX_DESCRIPTION = 500
MAX_PAGE_ITEMS = 500


class Wire(CleanInput, BaseModel):  # BaseModel named so ruff sees a model (RUF012)
    """Base of every wire model: unknown fields refused, whole numbers within what a database
    stores (a peer's sequence 2^70 is bad data, not an OverflowError), no control characters
    in text."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OccupationRef(Wire):
    label: LabelText
    isco08: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] | None = None
    esco_uri: Annotated[str, StringConstraints(max_length=200)] | None = None


class Place(Wire):
    """Where the work is, to municipality level: never a street or a full postcode."""

    municipality: Label
    province: Label | None = None
    arbeidsmarktregio: Label | None = None


class SummaryBase(Wire):
    id: SummaryId = Field(description="Stable per record; unlinkable to our internal ids.")
    origin: NodeId = Field(description="The node that holds the opening.")
    version: Positive
    updated_at: datetime
    title: ShortText
    hours_min: Hours
    hours_max: Hours
    sector: SbiSection | None = None
    place: Place


class VacancySummary(SummaryBase):
    type: Literal["vacancy"] = "vacancy"
    occupation: OccupationRef
    skills_required: Annotated[list[LabelText], Field(max_length=100)] = []
    skills_nice: Annotated[list[LabelText], Field(max_length=100)] = []
    education_level: EducationLevel | None = None
    nlqf: Annotated[int, Field(ge=1, le=8)] | None = None
    contract_type: ContractType
    start_date: date | None = None
    closing_date: date | None = None
    description: Annotated[str, FreeText(max_length=MAX_DESCRIPTION)] = ""


class BaanopeningSummary(SummaryBase):
    type: Literal["baanopening"] = "baanopening"
    tasks: Annotated[list[ShortText], Field(min_length=1, max_length=50)]
    suitable_profile: Annotated[str, FreeText(max_length=MAX_DESCRIPTION)] = ""


Summary = Annotated[VacancySummary | BaanopeningSummary, Field(discriminator="type")]


class TombstoneReason(StrEnum):
    filled = "filled"
    withdrawn = "withdrawn"
    expired = "expired"
    unpublished = "unpublished"


class Upsert(Wire):
    seq: Positive
    op: Literal["upsert"] = "upsert"
    summary: Summary


class Tombstone(Wire):
    seq: Positive
    op: Literal["tombstone"] = "tombstone"
    id: SummaryId
    type: Literal["vacancy", "baanopening"]
    origin: NodeId
    version: Positive
    reason: TombstoneReason
    at: datetime


FeedItem = Annotated[Upsert | Tombstone, Field(discriminator="op")]


class FeedPage(Wire):
    """One page of a node's feed: its own changes after ``after``, in sequence order."""

    format: Literal["topmatch.feed/1"] = "topmatch.feed/1"
    origin: NodeId
    after: Count
    items: Annotated[list[FeedItem], Field(max_length=MAX_PAGE_ITEMS)]
    latest_seq: Count = Field(description="The feed's newest sequence number.")
