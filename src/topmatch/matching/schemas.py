"""Wire models of candidate queries: "do you have a candidate for my vacancy?"

The question carries the vacancy's profile only (what a published summary would say, no
employer). The answer carries anonymised profiles only: an opaque per-query handle, the
score and why, skills, education, hours, availability to the month, a region and an age
band. No name, BSN, birth date, address, contact or notes: the fields below are all
there is, and unknown fields are refused.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from topmatch.bounds import Positive
from topmatch.publishing.schemas import Label, LabelText, NodeId, OccupationRef, Place, Wire
from topmatch.vocabulary import ContractType, EducationLevel
from topmatch.wiretext import FreeText

QueryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
Handle = Annotated[str, StringConstraints(pattern=r"^c-[A-Za-z0-9_-]{16,64}$")]
MAX_RESULTS = 20


class VacancyProfile(Wire):
    """What the asking bureau looks for: the vacancy as a published summary describes it."""

    occupation: OccupationRef
    skills_required: Annotated[list[LabelText], Field(max_length=100)] = Field(default_factory=list)
    skills_nice: Annotated[list[LabelText], Field(max_length=100)] = Field(default_factory=list)
    nlqf: Annotated[int, Field(ge=1, le=8)] | None = None
    hours_min: Annotated[int, Field(ge=0, le=60)]
    hours_max: Annotated[int, Field(ge=0, le=60)]
    contract_type: ContractType
    place: Place
    start_date: date | None = None

    @model_validator(mode="after")
    def _hours_in_order(self) -> VacancyProfile:
        if self.hours_min > self.hours_max:
            raise ValueError(
                f"hours_min ({self.hours_min}) is more than hours_max ({self.hours_max})"
            )
        return self


class CandidateQuery(Wire):
    format: Literal["topmatch.candidate-query/1"] = "topmatch.candidate-query/1"
    query_id: QueryId
    origin: NodeId
    vacancy: VacancyProfile
    max_results: Annotated[int, Field(ge=1, le=MAX_RESULTS)] = 10


class AnonymousCandidate(Wire):
    handle: Handle = Field(description="Valid for this query only; refers to no one elsewhere.")
    score: Annotated[float, Field(ge=0, le=100)]
    explanation: Annotated[str, FreeText(max_length=500)]
    skills: Annotated[list[LabelText], Field(max_length=50)] = Field(default_factory=list)
    desired_occupations: Annotated[list[OccupationRef], Field(max_length=10)] = Field(
        default_factory=list
    )
    education_level: EducationLevel | None = None
    nlqf: Annotated[int, Field(ge=1, le=8)] | None = None
    hours_per_week: Annotated[int, Field(ge=0, le=60)] | None = None
    available_from: date | None = Field(default=None, description="First day of the month.")
    region: Label = Field(description="Arbeidsmarktregio; 'onbekend' when it is unknown.")
    age_band: Literal["<18", "18-26", "27-35", "36-45", "46-55", "56+"]


class CandidateAnswer(Wire):
    format: Literal["topmatch.candidate-answer/1"] = "topmatch.candidate-answer/1"
    query_id: QueryId
    origin: NodeId
    status: Literal["answered", "too_few"] = Field(
        description="too_few: fewer fitting candidates than the minimum group size; none sent"
    )
    min_group_size: Positive
    candidates: Annotated[list[AnonymousCandidate], Field(max_length=MAX_RESULTS)] = Field(
        default_factory=list
    )
