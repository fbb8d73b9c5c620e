"""A small, realistic, entirely fictional Dutch card-box (faker nl_NL) for demos and tests.

Records go through the same service functions as the API, so they are validated and
audited like any other. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from faker import Faker
from sqlmodel import Session

from topmatch.audit.service import Actor
from topmatch.cardbox import service, validation
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.schemas import (
    BaanopeningCreate,
    ClientCreate,
    EmployerCreate,
    Occupation,
    VacancyCreate,
)
from topmatch.cardbox.validation import (
    BenefitType,
    ContractType,
    EducationLevel,
    SbiSection,
    SizeClass,
)

# (label, ISCO-08 unit group, SBI section, typical skills)
OCCUPATIONS: list[tuple[str, str, SbiSection, list[str]]] = [
    ("Magazijnmedewerker", "9321", SbiSection.H, ["orderpicken", "heftruck", "voorraadbeheer"]),
    ("Productiemedewerker", "9329", SbiSection.C, ["machinebediening", "kwaliteitscontrole"]),
    ("Schoonmaker", "9112", SbiSection.N, ["schoonmaken", "hygiëne", "zelfstandig werken"]),
    ("Kok", "5120", SbiSection.I, ["koken", "HACCP", "voorraadbeheer"]),
    ("Medewerker bediening", "5131", SbiSection.I, ["gastvrijheid", "kassa", "klantcontact"]),
    ("Verkoopmedewerker", "5223", SbiSection.G, ["klantcontact", "kassa", "vakkenvullen"]),
    ("Administratief medewerker", "4110", SbiSection.M, ["Excel", "archiveren", "klantcontact"]),
    ("Helpende zorg en welzijn", "5322", SbiSection.Q, ["persoonlijke verzorging", "empathie"]),
    ("Hovenier", "6113", SbiSection.A, ["snoeien", "bestrating", "groenonderhoud"]),
    ("Chauffeur", "8322", SbiSection.H, ["rijbewijs B", "routeplanning", "klantcontact"]),
    ("Monteur installatietechniek", "7126", SbiSection.F, ["solderen", "VCA", "tekening lezen"]),
    ("Klantenservicemedewerker", "4222", SbiSection.N, ["klantcontact", "telefoon", "Excel"]),
]

MUNICIPALITIES = [
    "Waalwijk",
    "Tilburg",
    "'s-Hertogenbosch",
    "Eindhoven",
    "Breda",
    "Oss",
    "Utrecht",
    "Amersfoort",
    "Zwolle",
    "Arnhem",
    "Nijmegen",
    "Rotterdam",
]


@dataclass(frozen=True)
class Counts:
    employers: int = 6
    clients: int = 20
    vacancies: int = 10
    baanopeningen: int = 4


def seed(
    *,
    session: Session,
    vault: BsnVault,
    now: datetime,
    counts: Counts = Counts(),
    seed_value: int = 2013,
) -> Counts:
    """Add a synthetic card-box; returns how many of each record were made."""
    fake = Faker("nl_NL")
    fake.seed_instance(seed_value)
    rnd = random.Random(seed_value)  # noqa: S311 - reproducible fiction, not security
    actor = Actor(name="synthetic-data")
    employers = [
        service.create_employer(session=session, data=_employer(fake, rnd), actor=actor, now=now)
        for _ in range(counts.employers)
    ]
    for _ in range(counts.clients):
        service.create_client(
            session=session, vault=vault, data=_client(fake, rnd, now), actor=actor, now=now
        )
    for _ in range(counts.vacancies):
        employer = rnd.choice(employers)
        service.create_vacancy(
            session=session, data=_vacancy(fake, rnd, employer.id, now), actor=actor, now=now
        )
    for _ in range(counts.baanopeningen):
        employer = rnd.choice(employers)
        service.create_baanopening(
            session=session, data=_baanopening(rnd, employer.id), actor=actor, now=now
        )
    return counts


def _employer(fake: Faker, rnd: random.Random) -> EmployerCreate:
    return EmployerCreate(
        name=fake.company(),
        kvk_number=f"{rnd.randrange(10**7, 10**8)}",
        contact_name=fake.name(),
        contact_phone=fake.phone_number(),
        contact_email=fake.company_email(),
        sector=rnd.choice(OCCUPATIONS)[2],
        municipality=rnd.choice(MUNICIPALITIES),
        size_class=rnd.choice(list(SizeClass)),
    )


def _client(fake: Faker, rnd: random.Random, now: datetime) -> ClientCreate:
    label, isco, _, skills = rnd.choice(OCCUPATIONS)
    consent = rnd.random() < 0.7  # noqa: PLR2004 - most clients agree to anonymised sharing
    return ClientCreate(
        first_name=fake.first_name(),
        last_name=fake.last_name(),
        bsn=fake.ssn(),
        date_of_birth=fake.date_of_birth(minimum_age=18, maximum_age=64),
        phone=fake.phone_number(),
        email=fake.free_email(),
        street=fake.street_name(),
        house_number=fake.building_number(),
        postcode=_postcode(fake),
        city=fake.city(),
        municipality=rnd.choice(MUNICIPALITIES),
        benefit_type=rnd.choice(list(BenefitType)),
        doelgroepregister=rnd.random() < 0.3,  # noqa: PLR2004
        education_level=rnd.choice(
            [
                EducationLevel.vmbo_bb,
                EducationLevel.entree,
                EducationLevel.mbo_2,
                EducationLevel.mbo_3,
                EducationLevel.havo,
            ]
        ),
        skills=rnd.sample(skills, k=min(2, len(skills))),
        desired_occupations=[Occupation(label=label, isco08=isco)],
        hours_per_week=rnd.choice([16, 20, 24, 32, 36, 40]),
        max_travel_km=rnd.choice([5, 10, 15, 25, 40]),
        languages=["nl"] + (["en"] if rnd.random() < 0.4 else []),  # noqa: PLR2004
        driving_licences=["B"] if rnd.random() < 0.5 else [],  # noqa: PLR2004
        available_from=(now + timedelta(days=rnd.randrange(0, 60))).date(),
        consent_share_profile=consent,
        consent_date=now.date() if consent else None,
        notes=f"Intakegesprek gevoerd met {fake.first_name()} {fake.last_name()}.",
    )


def _postcode(fake: Faker) -> str:
    """A postcode that exists in form: faker also makes SA, SD and SS, which PostNL never
    hands out (and our validation refuses)."""
    while True:
        candidate = fake.postcode()
        try:
            return validation.normalise_postcode(candidate)
        except ValueError:
            continue


def _vacancy(fake: Faker, rnd: random.Random, employer_id: str, now: datetime) -> VacancyCreate:
    label, isco, _, skills = rnd.choice(OCCUPATIONS)
    hours_min = rnd.choice([8, 16, 24, 32])
    municipality = rnd.choice(MUNICIPALITIES)
    return VacancyCreate(
        employer_id=employer_id,
        title=f"{label} ({municipality})",
        occupation=Occupation(label=label, isco08=isco),
        skills_required=skills[:2],
        skills_nice=skills[2:],
        education_level=rnd.choice([None, EducationLevel.mbo_2]),
        hours_min=hours_min,
        hours_max=min(40, hours_min + rnd.choice([0, 8, 16])),
        contract_type=rnd.choice(list(ContractType)),
        municipality=municipality,
        postcode=_postcode(fake),
        start_date=(now + timedelta(days=rnd.randrange(7, 90))).date(),
        description=f"Wij zoeken een {label.lower()} voor ons team. {fake.sentence()}",
        published=rnd.random() < 0.8,  # noqa: PLR2004 - most openings are shared
    )


def _baanopening(rnd: random.Random, employer_id: str) -> BaanopeningCreate:
    label, _, sector, skills = rnd.choice(OCCUPATIONS)
    return BaanopeningCreate(
        employer_id=employer_id,
        title=f"Ondersteunende taken {label.lower()}",
        tasks=[f"helpen bij {s}" for s in skills],
        hours_min=12,
        hours_max=24,
        sector=sector,
        municipality=rnd.choice(MUNICIPALITIES),
        suitable_profile="Iemand die graag praktisch bezig is, met begeleiding op de werkvloer.",
        published=True,
    )
