"""Wire models of introductions between two bureaus."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from topmatch.bounds import CleanInput, Count
from topmatch.federation.models import OutboxMessage
from topmatch.matching.schemas import AnonymousCandidate, Handle, VacancyProfile
from topmatch.publishing.schemas import SummaryId, Wire
from topmatch.referrals.models import Introduction
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


class IntroductionWithdrawal(Wire):
    """The bureau that asked withdraws its request after it may have arrived (a cancel
    after an attempt whose answer never came): the other side marks it cancelled."""

    id: IntroductionId


class Handover(Wire):
    """One side's part, sealed to the other node's X25519 key (topmatch.referrals.sealed)."""

    id: IntroductionId
    part: Literal["client", "employer"]
    sealed: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/=]{40,20000}$")]
    size: Count = 0


# --- for our consultants (API and web app) ---------------------------------------------


class NewIntroduction(CleanInput):
    """A consultant's request for an introduction (API body and web form)."""

    peer: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    kind: Kind
    summary_id: str | None = None
    client_id: str | None = None
    handle: str | None = None
    vacancy_id: str | None = None
    note: str = Field(default="", max_length=500)


class DecisionIn(CleanInput):
    accept: bool
    client_consents: bool = False
    reason: str = Field(default="", max_length=500)


class MessageStatus(BaseModel):
    """Where our newest message about an introduction stands (the outbox's view)."""

    kind: str  # introduction.request, introduction.decision, introduction.handover
    state: str  # queued, sent, delivered, answered, failed, cancelled
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


class IntroductionPublic(BaseModel):
    id: str
    peer: str
    role: str
    kind: str
    state: str
    summary_id: str | None
    handle: str | None
    client_id: str | None
    vacancy_id: str | None
    profile: dict[str, Any]
    handover_received: bool
    handover_sent: bool
    message: MessageStatus | None = None


def public(row: Introduction, message: OutboxMessage | None = None) -> IntroductionPublic:
    """The API's view of one introduction (the web app shows the same)."""
    return IntroductionPublic(
        id=row.id,
        peer=row.peer,
        role=row.role,
        kind=row.kind,
        state=row.state,
        summary_id=row.summary_id,
        handle=row.handle,
        client_id=row.client_id,
        vacancy_id=row.vacancy_id,
        profile=row.profile,
        handover_received=row.handover_in is not None,
        handover_sent=row.handover_sent,
        message=None
        if message is None
        else MessageStatus(
            kind=message.kind,
            state=message.state,
            attempts=message.attempts,
            next_attempt_at=message.next_attempt_at,
            last_error=message.last_error,
        ),
    )
