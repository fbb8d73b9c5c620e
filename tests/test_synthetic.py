"""The fictional card-box of `topmatch seed` and `topmatch demo` holds up to a consultant's eye:
addresses in the client's own municipality, vacancy texts from the occupation's templates
(no faker filler), and an employer's vacancies in occupations of its sector."""

from __future__ import annotations

import random

import pytest
from sqlmodel import Session, select

from tests.factories import FrozenClock
from topmatch.cardbox import synthetic
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.models import Baanopening, Client, Employer, Vacancy
from topmatch.geography import places
from topmatch.vocabulary import ContractType, SbiSection

COUNTS = synthetic.Counts(employers=8, clients=60, vacancies=40, baanopeningen=8)


@pytest.fixture
def seeded(session: Session, vault: BsnVault, clock: FrozenClock) -> Session:
    synthetic.seed(session=session, vault=vault, now=clock(), counts=COUNTS, seed_value=2014)
    return session


def _profession(label: str) -> synthetic.Profession:
    return next(p for p in synthetic.professions() if p.label == label)


def test_every_town_of_the_address_data_lies_in_its_municipality() -> None:
    for municipality, towns in synthetic.towns().items():
        assert places.municipality(municipality).name == municipality
        assert towns[0].name == places.municipality(municipality).name  # the seat first
        for town in towns:
            assert places.place(town.name).municipality == municipality, town


def test_a_client_lives_in_the_municipality_that_pays_for_them(seeded: Session) -> None:
    clients = seeded.exec(select(Client)).all()
    assert len(clients) == COUNTS.clients
    for client in clients:
        assert places.place(client.city).municipality == client.municipality, client.city
        town = next(t for t in synthetic.towns()[client.municipality] if t.name == client.city)
        assert town.first <= int(client.postcode[:4]) <= town.last, client.postcode


def test_vacancies_are_in_occupations_of_their_employers_sector(seeded: Session) -> None:
    employers = {e.id: e for e in seeded.exec(select(Employer)).all()}
    vacancies = seeded.exec(select(Vacancy)).all()
    assert len(vacancies) == COUNTS.vacancies
    for vacancy in vacancies:
        employer = employers[vacancy.employer_id]
        profession = _profession(vacancy.occupation_label)
        assert SbiSection(employer.sector) in profession.sectors, vacancy.title
        assert vacancy.municipality == employer.municipality
    for opening in seeded.exec(select(Baanopening)).all():
        assert opening.sector == employers[opening.employer_id].sector


def test_no_sales_job_in_care_and_no_care_job_in_a_shop() -> None:
    assert synthetic.in_sector(SbiSection.Q)
    assert "Verkoopmedewerker" not in {p.label for p in synthetic.in_sector(SbiSection.Q)}
    assert "Helpende zorg en welzijn" not in {p.label for p in synthetic.in_sector(SbiSection.G)}
    for profession in synthetic.professions():  # every employer sector has vacancies to offer
        assert synthetic.in_sector(profession.sectors[0])


def test_vacancy_texts_come_only_from_the_templates(seeded: Session) -> None:
    for vacancy in seeded.exec(select(Vacancy)).all():
        profession = _profession(vacancy.occupation_label)
        low, high = vacancy.hours_min, vacancy.hours_max
        hours = f"{low} uur" if low == high else f"{low} tot {high} uur"
        intros = {t.format(plaats=vacancy.municipality, uren=hours) for t in profession.intro}
        items = {
            synthetic.CONTRACT_OFFER[ContractType(vacancy.contract_type)],
            *profession.tasks,
            *profession.asks,
            *profession.offer,
        }
        allowed = {item[:1].upper() + item[1:] for item in items}
        intro, *sections = vacancy.description.split("\n\n")
        assert intro in intros
        assert [s.splitlines()[0] for s in sections] == [
            "Wat ga je doen?",
            "Wat vragen we?",
            "Wat bieden we?",
        ]
        for section in sections:
            for line in section.splitlines()[1:]:
                assert line.removeprefix("- ") in allowed, line
        assert "{" not in vacancy.description


def test_unpaid_work_promises_no_wage() -> None:
    profession = _profession("Kok")
    for seed_value in range(20):
        text = synthetic.vacancy_text(
            random.Random(seed_value),
            profession,
            place="Tilburg",
            hours=(16, 16),
            contract=ContractType.vrijwilligerswerk,
        )
        assert "cao" not in text.lower()
        assert "salaris" not in text.lower()
        assert "Vrijwilligerswerk met een onkostenvergoeding" in text


def test_the_same_seed_gives_the_same_text() -> None:
    profession = _profession("Chauffeur")

    def text(seed_value: int) -> str:
        return synthetic.vacancy_text(
            random.Random(seed_value),
            profession,
            place="Zwolle",
            hours=(24, 32),
            contract=ContractType.vast,
        )

    assert text(7) == text(7)
    assert any(text(7) != text(other) for other in range(8, 12))  # and the seed matters
