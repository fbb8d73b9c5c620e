"""Card-box tables. Never serialised directly: API output goes through ``schemas``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from topmatch.cardbox.validation import (
    BaanopeningStatus,
    BenefitType,
    ClientStatus,
    ContractType,
    SbiSection,
    SizeClass,
    VacancyStatus,
)
from topmatch.dbtypes import UtcDateTime


def new_id() -> str:
    """Random, unguessable record ids: no counting of a bureau's clients through its ids."""
    return uuid.uuid4().hex


def _json() -> Any:
    return Field(default_factory=list, sa_type=JSON, nullable=False)


def _text() -> Any:
    return Field(default="", sa_type=Text, nullable=False)


def _timestamp() -> Any:
    return Field(sa_type=UtcDateTime(), nullable=False)


class Record(SQLModel):
    """Columns every card-box record has. ``version`` counts edits (optimistic locking)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    version: int = Field(default=1)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

    # SQLAlchemy adds "AND version = :old" to every UPDATE and raises StaleDataError when
    # no row matched: a lost update cannot slip between our read and our write.
    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared_attr takes the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Employer(Record, table=True):
    __tablename__ = "cardbox_employer"

    name: str = Field(max_length=200)
    kvk_number: str = Field(max_length=8, unique=True)
    contact_name: str = Field(default="", max_length=200)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str = Field(default="", max_length=254)
    sector: SbiSection = Field(sa_column=Column(String(1), nullable=False))
    municipality: str = Field(max_length=100)
    size_class: SizeClass = Field(sa_column=Column(String(10), nullable=False))
    notes: str = _text()


class Client(Record, table=True):
    """A werkzoekende. The BSN is stored only encrypted and as a keyed blind index."""

    __tablename__ = "cardbox_client"

    first_name: str = Field(max_length=100)
    name_prefix: str = Field(default="", max_length=20)
    last_name: str = Field(max_length=100)
    bsn_index: str = Field(max_length=64, unique=True)
    bsn_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    date_of_birth: date
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)
    street: str = Field(default="", max_length=200)
    house_number: str = Field(default="", max_length=20)
    postcode: str = Field(max_length=7)
    city: str = Field(default="", max_length=100)
    municipality: str = Field(max_length=100, index=True)
    benefit_type: BenefitType = Field(sa_column=Column(String(20), nullable=False))
    doelgroepregister: bool = False
    education_level: str | None = Field(default=None, max_length=30)
    skills: list[str] = _json()
    desired_occupations: list[dict[str, Any]] = _json()
    hours_min: int | None = None
    hours_max: int | None = None
    hours_per_week: int | None = None  # the old single figure, kept readable (migration 0011)
    max_travel_km: int | None = None
    languages: list[str] = _json()
    dutch_level: str | None = Field(default=None, max_length=2)  # CEFR (migration 0012)
    driving_licences: list[str] = _json()
    available_from: date | None = None
    consent_share_profile: bool = False
    consent_date: date | None = None
    notes: str = _text()
    status: ClientStatus = Field(
        default=ClientStatus.active, sa_column=Column(String(10), nullable=False, index=True)
    )


class Vacancy(Record, table=True):
    __tablename__ = "cardbox_vacancy"

    employer_id: str = Field(
        sa_column=Column(String(32), ForeignKey("cardbox_employer.id"), nullable=False, index=True)
    )
    title: str = Field(max_length=200)
    occupation_label: str = Field(max_length=200)
    occupation_isco08: str | None = Field(default=None, max_length=4)
    occupation_esco_uri: str | None = Field(default=None, max_length=200)
    skills_required: list[str] = _json()
    skills_nice: list[str] = _json()
    driving_licences: list[str] = _json()  # categories the work requires (migration 0012)
    dutch_level: str | None = Field(default=None, max_length=2)  # CEFR level the work asks
    education_level: str | None = Field(default=None, max_length=30)
    hours_min: int
    hours_max: int
    contract_type: ContractType = Field(sa_column=Column(String(20), nullable=False))
    wage_min: int | None = None
    wage_max: int | None = None
    postcode: str | None = Field(default=None, max_length=7)
    municipality: str = Field(max_length=100)
    start_date: date | None = None
    closing_date: date | None = None
    description: str = _text()
    published: bool = Field(default=False, description="offered to peers (anonymised)")
    status: VacancyStatus = Field(
        default=VacancyStatus.open, sa_column=Column(String(10), nullable=False, index=True)
    )


class Baanopening(Record, table=True):
    """An opening carved out with an employer before any formal vacancy exists."""

    __tablename__ = "cardbox_baanopening"

    employer_id: str = Field(
        sa_column=Column(String(32), ForeignKey("cardbox_employer.id"), nullable=False, index=True)
    )
    title: str = Field(max_length=200)
    tasks: list[str] = _json()
    hours_min: int
    hours_max: int
    sector: SbiSection = Field(sa_column=Column(String(1), nullable=False))
    postcode: str | None = Field(default=None, max_length=7)
    municipality: str = Field(max_length=100)
    suitable_profile: str = _text()
    published: bool = Field(default=False, description="offered to peers (anonymised)")
    status: BaanopeningStatus = Field(
        default=BaanopeningStatus.open, sa_column=Column(String(10), nullable=False, index=True)
    )
