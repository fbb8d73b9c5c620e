"""The one mapping from private card-box records to publishable summaries.

Only the fields named here leave the node; docs/privacy.md lists each with its reason.
Free text goes through the :class:`~topmatch.publishing.anonymise.Scrubber`; the employer
contributes its sector and nothing else (its name is used only to scrub it from text).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from topmatch.cardbox.models import Baanopening, Employer, Vacancy
from topmatch.errors import InputError
from topmatch.geography import places
from topmatch.publishing.anonymise import Scrubber
from topmatch.publishing.schemas import (
    MAX_DESCRIPTION,
    BaanopeningSummary,
    OccupationRef,
    Place,
    VacancySummary,
)
from topmatch.vocabulary import NLQF, EducationLevel, SbiSection


def summary_id(secret: bytes, kind: str, record_id: str) -> str:
    """Stable for a record, and unlinkable to its internal id without the node's secret."""
    mac = hmac.new(secret, f"topmatch summary {kind} {record_id}".encode(), hashlib.sha256)
    return f"{kind[0]}-{mac.hexdigest()[:24]}"


def place_of(municipality: str) -> Place:
    """Municipality with its province and arbeidsmarktregio (both unknown for an unknown name)."""
    try:
        found = places.municipality(municipality)
    except InputError:
        # The card-box accepts only known municipalities; a name that no longer resolves
        # (e.g. after a merger) is not sent as free text, which could hold anything.
        return Place(municipality="onbekend")
    return Place(
        municipality=found.name, province=found.province, arbeidsmarktregio=found.arbeidsmarktregio
    )


def _employer_scrubber(scrubber: Scrubber, employer: Employer) -> Scrubber:
    return scrubber.with_names([employer.name, employer.contact_name])


def _licence_labels(vacancy: Vacancy) -> list[str]:
    """A required licence or Dutch level travels as a required skill ("Rijbewijs C",
    "Nederlands B1"), the way bureaus write it, unless a skill label already names it: no new
    wire field (matching reads them there)."""
    named = {" ".join(s.lower().split()) for s in vacancy.skills_required}
    labels = [f"Rijbewijs {category}" for category in vacancy.driving_licences]
    if vacancy.dutch_level:
        labels.append(f"Nederlands {vacancy.dutch_level}")
    return [label for label in labels if label.lower() not in named]


def vacancy_summary(
    *,
    vacancy: Vacancy,
    employer: Employer,
    scrubber: Scrubber,
    secret: bytes,
    origin: str,
    version: int,
    updated_at: datetime,
) -> VacancySummary:
    scrub = _employer_scrubber(scrubber, employer)
    level = EducationLevel(vacancy.education_level) if vacancy.education_level else None
    return VacancySummary(
        id=summary_id(secret, "vacancy", vacancy.id),
        origin=origin,
        version=version,
        updated_at=updated_at,
        title=scrub.scrub(vacancy.title, max_length=200),
        occupation=OccupationRef(
            label=scrub.scrub(vacancy.occupation_label, max_length=100) or "-",
            isco08=vacancy.occupation_isco08,
            esco_uri=vacancy.occupation_esco_uri,
        ),
        skills_required=[
            *(scrub.scrub(s, max_length=100) for s in vacancy.skills_required),
            *_licence_labels(vacancy),
        ][:100],
        skills_nice=[scrub.scrub(s, max_length=100) for s in vacancy.skills_nice],
        education_level=level,
        nlqf=NLQF[level] if level else None,
        hours_min=vacancy.hours_min,
        hours_max=vacancy.hours_max,
        contract_type=vacancy.contract_type,
        sector=SbiSection(employer.sector),
        place=place_of(vacancy.municipality),
        start_date=vacancy.start_date,
        closing_date=vacancy.closing_date,
        description=scrub.scrub(vacancy.description, max_length=MAX_DESCRIPTION),
    )


def baanopening_summary(
    *,
    opening: Baanopening,
    employer: Employer,
    scrubber: Scrubber,
    secret: bytes,
    origin: str,
    version: int,
    updated_at: datetime,
) -> BaanopeningSummary:
    scrub = _employer_scrubber(scrubber, employer)
    return BaanopeningSummary(
        id=summary_id(secret, "baanopening", opening.id),
        origin=origin,
        version=version,
        updated_at=updated_at,
        title=scrub.scrub(opening.title, max_length=200),
        tasks=[scrub.scrub(t, max_length=200) for t in opening.tasks],
        hours_min=opening.hours_min,
        hours_max=opening.hours_max,
        sector=SbiSection(opening.sector),
        place=place_of(opening.municipality),
        suitable_profile=scrub.scrub(opening.suitable_profile, max_length=MAX_DESCRIPTION),
    )
