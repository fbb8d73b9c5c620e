"""Wire models of introductions between two bureaus."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints, model_validator

from topmatch.bounds import Count
from topmatch.matching.schemas import AnonymousCandidate, Handle, VacancyProfile
from topmatch.publishing.schemas import SummaryId, Wire
from topmatch.wiretext import FreeText

IntroductionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Kind = Literal["client_for_opening", "candidate_for_vacancy"]


class IntroductionRequest(Wire):
    """ "I have a client for your opening" or "I want your candidate for my vacancy"."""

    format: Literal["topmatch.introduction/1"] = "topmatch.introduction/1"
    id: IntroductionId
    kind: Kind
    summary_id: SummaryId | None = None
    handle: Handle | None = None
    client: AnonymousCandidate | None = None
    vacancy: VacancyProfile | None = None
    note: Annotated[str, FreeText(max_length=500)] = ""

    @model_validator(mode="after")
    def _shape(self) -> IntroductionRequest:
        if self.kind == "client_for_opening" and (self.summary_id is None or self.client is None):
            raise ValueError("client_for_opening needs summary_id and client")
        if self.kind == "candidate_for_vacancy" and (self.handle is None or self.vacancy is None):
            raise ValueError("candidate_for_vacancy needs handle and vacancy")
        return self


class IntroductionDecision(Wire):
    id: IntroductionId
    decision: Literal["accepted", "declined"]
    reason: Annotated[str, FreeText(max_length=500)] = ""


class Handover(Wire):
    """One side's part, sealed to the other node's X25519 key (topmatch.referrals.sealed)."""

    id: IntroductionId
    part: Literal["client", "employer"]
    sealed: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/=]{40,20000}$")]
    size: Count = 0
