"""A small, realistic, entirely fictional Dutch card-box (faker nl_NL) for demos and tests.

Records go through the same service functions as the API, so they are validated and
audited like any other. Deterministic for a given seed.

What a consultant would check first is kept consistent: a client lives in the municipality
that pays for them (town and postcode from ``data/postcodes.toml``); an employer's vacancies
are for occupations found in its sector (SBI section), at its own municipality; vacancy texts
are written per occupation in ``data/vacatureteksten.toml``, not generated filler.
"""

from __future__ import annotations

import functools
import random
import string
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

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

SEAT_SHARE = 0.75  # most addresses are in the municipality's own town
UNPAID = {ContractType.proefplaatsing, ContractType.vrijwilligerswerk}
PAY_WORDS = ("cao", "toeslag", "salaris")  # offers that do not fit unpaid work
CONTRACT_OFFER = {
    ContractType.vast: "een vast contract",
    ContractType.tijdelijk: "een contract voor een jaar, met uitzicht op een vast contract",
    ContractType.uitzend: "werk via het uitzendbureau, met kans op een contract bij ons",
    ContractType.oproep: "een oproepcontract: je werkt op de dagen dat het jou en ons past",
    ContractType.proefplaatsing: "een proefplaatsing van twee maanden met behoud van uitkering, "
    "met uitzicht op een contract",
    ContractType.vrijwilligerswerk: "vrijwilligerswerk met een onkostenvergoeding",
}


@dataclass(frozen=True)
class Profession:
    """One occupation of ``data/vacatureteksten.toml``: its codes, sectors and text parts."""

    label: str
    isco08: str
    sectors: tuple[SbiSection, ...]
    skills: tuple[str, ...]
    titles: tuple[str, ...]
    intro: tuple[str, ...]
    tasks: tuple[str, ...]
    asks: tuple[str, ...]
    offer: tuple[str, ...]

    @property
    def occupation(self) -> Occupation:
        return Occupation(label=self.label, isco08=self.isco08)


@dataclass(frozen=True)
class Town:
    name: str
    first: int  # postcode numbers, inclusive
    last: int


def _data(name: str) -> dict[str, Any]:
    text = resources.files("topmatch.cardbox").joinpath("data", name).read_text("utf-8")
    return tomllib.loads(text)


@functools.cache
def professions() -> tuple[Profession, ...]:
    return tuple(
        Profession(
            label=row["label"],
            isco08=row["isco08"],
            sectors=tuple(SbiSection(s) for s in row["sectors"]),
            skills=tuple(row["skills"]),
            titles=tuple(row["titles"]),
            intro=tuple(row["intro"]),
            tasks=tuple(row["tasks"]),
            asks=tuple(row["asks"]),
            offer=tuple(row["offer"]),
        )
        for row in _data("vacatureteksten.toml")["occupation"]
    )


@functools.cache
def towns() -> dict[str, tuple[Town, ...]]:
    """Per municipality of the demo, its postal towns (the seat first)."""
    return {
        row["name"]: tuple(Town(name, first, last) for name, first, last in row["towns"])
        for row in _data("postcodes.toml")["municipality"]
    }


def municipalities() -> list[str]:
    return list(towns())


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
        data = _vacancy(
            rnd,
            employer_id=employer.id,
            sector=SbiSection(employer.sector),
            municipality=employer.municipality,
            now=now,
        )
        service.create_vacancy(session=session, data=data, actor=actor, now=now)
    for _ in range(counts.baanopeningen):
        employer = rnd.choice(employers)
        opening = _baanopening(
            rnd,
            employer_id=employer.id,
            sector=SbiSection(employer.sector),
            municipality=employer.municipality,
        )
        service.create_baanopening(session=session, data=opening, actor=actor, now=now)
    return counts


def in_sector(sector: SbiSection) -> list[Profession]:
    """The occupations an employer of this SBI section has vacancies for."""
    return [p for p in professions() if sector in p.sectors]


def _employer(fake: Faker, rnd: random.Random) -> EmployerCreate:
    return EmployerCreate(
        name=fake.company(),
        kvk_number=f"{rnd.randrange(10**7, 10**8)}",
        contact_name=fake.name(),
        contact_phone=fake.phone_number(),
        contact_email=fake.company_email(),
        sector=rnd.choice(professions()).sectors[0],
        municipality=rnd.choice(municipalities()),
        size_class=rnd.choice(list(SizeClass)),
    )


def _hours_wish(hours: int) -> dict[str, int]:
    """A client's hours as a range from one drawn figure (no extra draw: the same seed gives
    the same records as before the range): up to 4 hours more, at most 40."""
    return {"hours_min": hours, "hours_max": min(40, hours + 4)}


def _client(fake: Faker, rnd: random.Random, now: datetime) -> ClientCreate:
    profession = rnd.choice(professions())
    municipality = rnd.choice(municipalities())
    town, postcode = _address(rnd, municipality)
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
        postcode=postcode,
        city=town,
        municipality=municipality,
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
        skills=rnd.sample(profession.skills, k=min(2, len(profession.skills))),
        desired_occupations=[profession.occupation],
        # a wish as a range, the way consultants record it: "24-28", "36-40", "40"
        **_hours_wish(rnd.choice([16, 20, 24, 32, 36, 40])),
        max_travel_km=rnd.choice([5, 10, 15, 25, 40]),
        languages=["nl"] + (["en"] if rnd.random() < 0.4 else []),  # noqa: PLR2004
        driving_licences=["B"] if rnd.random() < 0.5 else [],  # noqa: PLR2004
        available_from=(now + timedelta(days=rnd.randrange(0, 60))).date(),
        consent_share_profile=consent,
        consent_date=now.date() if consent else None,
        notes=f"Intakegesprek gevoerd met {fake.first_name()} {fake.last_name()}.",
    )


def _address(rnd: random.Random, municipality: str) -> tuple[str, str]:
    """A town of the municipality and a postcode of that town."""
    seat, *others = towns()[municipality]
    town = seat if not others or rnd.random() < SEAT_SHARE else rnd.choice(others)
    return town.name, _postcode(rnd, town)


def _postcode(rnd: random.Random, town: Town) -> str:
    """A postcode of the town's number range, in a form PostNL hands out (never SA, SD or
    SS, which our validation refuses)."""
    while True:
        letters = "".join(rnd.choices(string.ascii_uppercase, k=2))
        try:
            return validation.normalise_postcode(f"{rnd.randint(town.first, town.last)}{letters}")
        except ValueError:
            continue


def _vacancy(
    rnd: random.Random, *, employer_id: str, sector: SbiSection, municipality: str, now: datetime
) -> VacancyCreate:
    profession = rnd.choice(in_sector(sector))
    hours_min = rnd.choice([8, 16, 24, 32])
    hours_max = min(40, hours_min + rnd.choice([0, 8, 16]))
    contract = rnd.choice(list(ContractType))
    _, postcode = _address(rnd, municipality)
    return VacancyCreate(
        employer_id=employer_id,
        title=f"{rnd.choice(profession.titles)} ({municipality})",
        occupation=profession.occupation,
        skills_required=list(profession.skills[:2]),
        skills_nice=list(profession.skills[2:]),
        education_level=rnd.choice([None, EducationLevel.mbo_2]),
        hours_min=hours_min,
        hours_max=hours_max,
        contract_type=contract,
        municipality=municipality,
        postcode=postcode,
        start_date=(now + timedelta(days=rnd.randrange(7, 90))).date(),
        description=vacancy_text(
            rnd, profession, place=municipality, hours=(hours_min, hours_max), contract=contract
        ),
        published=rnd.random() < 0.8,  # noqa: PLR2004 - most openings are shared
    )


def vacancy_text(
    rnd: random.Random,
    profession: Profession,
    *,
    place: str,
    hours: tuple[int, int],
    contract: ContractType,
) -> str:
    """A vacancy as Dutch vacancies read: an opening line, what you do, what we ask, what
    we offer; every sentence from the occupation's templates."""
    low, high = hours
    hours_text = f"{low} uur" if low == high else f"{low} tot {high} uur"
    offers = [o for o in profession.offer if contract not in UNPAID or not _about_pay(o)]
    sections = [
        ("Wat ga je doen?", rnd.sample(profession.tasks, k=min(3, len(profession.tasks)))),
        (
            "Wat vragen we?",
            rnd.sample(profession.asks, k=min(rnd.choice([2, 3]), len(profession.asks))),
        ),
        ("Wat bieden we?", [CONTRACT_OFFER[contract], *rnd.sample(offers, k=min(2, len(offers)))]),
    ]
    parts = [rnd.choice(profession.intro).format(plaats=place, uren=hours_text)]
    for heading, items in sections:
        parts.append(heading + "\n" + "\n".join(f"- {_capital(item)}" for item in items))
    return "\n\n".join(parts)


def _about_pay(offer: str) -> bool:
    return any(word in offer.lower() for word in PAY_WORDS)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _baanopening(
    rnd: random.Random, *, employer_id: str, sector: SbiSection, municipality: str
) -> BaanopeningCreate:
    profession = rnd.choice(in_sector(sector))
    return BaanopeningCreate(
        employer_id=employer_id,
        title=f"Ondersteunende taken {profession.label.lower()}",
        tasks=[f"helpen bij {skill}" for skill in profession.skills],
        hours_min=12,
        hours_max=24,
        sector=sector,
        municipality=municipality,
        suitable_profile="Iemand die graag praktisch bezig is, met begeleiding op de werkvloer.",
        published=True,
    )
