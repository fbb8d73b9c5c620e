"""Card-box API models: what consultants send and receive. Unknown fields are refused.

``XCreate`` validates a new record, ``XUpdate`` a partial change (every field optional,
``version`` optionally stating which version the edit was made on), ``XPublic`` is what
the API returns. Client lists return :class:`ClientListItem`, which holds no BSN and no
contact details.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from topmatch.bounds import CleanInput, SingleLine, WholeNumber
from topmatch.cardbox.validation import (
    NLQF,
    BaanopeningStatus,
    BenefitType,
    ClientStatus,
    ContractType,
    DrivingLicence,
    EducationLevel,
    SbiSection,
    SizeClass,
    VacancyStatus,
    normalise_bsn,
    normalise_kvk,
    normalise_municipality,
    normalise_postcode,
)
from topmatch.explain import SECTOR_RULE
from topmatch.vocabulary import LanguageLevel

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SingleLine]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), SingleLine
]
LongText = Annotated[str, StringConstraints(max_length=10_000)]  # CleanInput: no control chars
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), SingleLine
]
EmployerName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
#: The version an edit was made on (optimistic locking); the database stores a BIGINT.
Version = Annotated[int, WholeNumber(1)]
Bsn = Annotated[str, AfterValidator(normalise_bsn)]
Kvk = Annotated[str, AfterValidator(normalise_kvk)]
Postcode = Annotated[str, AfterValidator(normalise_postcode)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^(\+?[0-9() \-]{8,20})?$")
]
Municipality = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(normalise_municipality),
]
Hours = Annotated[int, Field(ge=0, le=60)]
Isco08 = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
EscoUri = Annotated[
    str, StringConstraints(pattern=r"^http://data\.europa\.eu/esco/occupation/[\w-]+$")
]
LanguageCode = Annotated[str, StringConstraints(to_lower=True, pattern=r"^[a-z]{2}$")]
Skills = Annotated[list[Label], Field(max_length=100)]
Sector = Annotated[SbiSection, Field(description=SECTOR_RULE)]


class Strict(CleanInput, BaseModel):  # BaseModel named so ruff sees a model (RUF012)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Occupation(Strict):
    """A desired or offered occupation: a free label, optionally an ISCO-08 or ESCO code."""

    label: Label = Field(description='the occupation in words, e.g. "Magazijnmedewerker"')
    isco08: Isco08 | None = Field(default=None, description='4-digit ISCO-08 code, e.g. "9321"')
    esco_uri: EscoUri | None = Field(default=None, description="ESCO occupation URI")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total count for the filters given."""

    items: list[T]
    total: int
    limit: int
    offset: int


# --- Employers -------------------------------------------------------------------------


class EmployerFields(Strict):
    name: EmployerName
    kvk_number: Kvk
    contact_name: Text = ""
    contact_phone: Phone = ""
    contact_email: EmailStr | None = None
    sector: Sector
    municipality: Municipality
    size_class: SizeClass
    notes: LongText = ""


class EmployerCreate(EmployerFields):
    pass


class EmployerUpdate(Strict):
    version: Version | None = None
    name: EmployerName | None = None
    kvk_number: Kvk | None = None
    contact_name: Text | None = None
    contact_phone: Phone | None = None
    contact_email: EmailStr | None = None
    sector: Sector | None = None
    municipality: Municipality | None = None
    size_class: SizeClass | None = None
    notes: LongText | None = None


class EmployerPublic(EmployerFields):
    model_config = ConfigDict(from_attributes=True)

    id: str
    version: int
    created_at: datetime
    updated_at: datetime
    contact_email: str | None = None  # stored, not re-validated


# --- Clients ---------------------------------------------------------------------------


class ClientFields(Strict):
    first_name: Name
    name_prefix: Annotated[str, StringConstraints(max_length=20)] = ""
    last_name: Name
    date_of_birth: date
    phone: Phone = ""
    email: EmailStr | None = None
    street: Text = ""
    house_number: Annotated[str, StringConstraints(max_length=20)] = ""
    postcode: Postcode
    city: Text = ""
    municipality: Municipality
    benefit_type: BenefitType
    doelgroepregister: bool = False
    education_level: EducationLevel | None = None
    skills: Skills = []
    desired_occupations: Annotated[list[Occupation], Field(max_length=20)] = []
    hours_min: Hours | None = Field(default=None, description="the fewest hours a week wanted")
    hours_max: Hours | None = Field(default=None, description="the most hours a week possible")
    hours_per_week: Hours | None = Field(
        default=None,
        description="the old single figure; without a range it stands for hours_min = hours_max",
    )
    max_travel_km: Annotated[int, Field(ge=0, le=300)] | None = Field(
        default=None, description='empty: not asked yet ("ask"), never a default distance'
    )
    languages: Annotated[list[LanguageCode], Field(max_length=20)] = []
    dutch_level: LanguageLevel | None = Field(
        default=None, description="the client's level of Dutch (CEFR)"
    )
    driving_licences: Annotated[list[DrivingLicence], Field(max_length=15)] = []
    available_from: date | None = None
    consent_share_profile: bool = False
    consent_date: date | None = None
    notes: LongText = ""
    status: ClientStatus = ClientStatus.active

    @model_validator(mode="after")
    def _hours_range(self) -> Self:
        """The old single figure fills an empty range; the range must be in order."""
        if self.hours_min is None and self.hours_max is None and self.hours_per_week is not None:
            self.hours_min = self.hours_max = self.hours_per_week
        low, high = self.hours_min, self.hours_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"hours_min ({low}) is more than hours_max ({high})")
        return self


class ClientCreate(ClientFields):
    bsn: Bsn


class ClientUpdate(Strict):
    version: Version | None = None
    bsn: Bsn | None = None
    first_name: Name | None = None
    name_prefix: Annotated[str, StringConstraints(max_length=20)] | None = None
    last_name: Name | None = None
    date_of_birth: date | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    street: Text | None = None
    house_number: Annotated[str, StringConstraints(max_length=20)] | None = None
    postcode: Postcode | None = None
    city: Text | None = None
    municipality: Municipality | None = None
    benefit_type: BenefitType | None = None
    doelgroepregister: bool | None = None
    education_level: EducationLevel | None = None
    skills: Skills | None = None
    desired_occupations: Annotated[list[Occupation], Field(max_length=20)] | None = None
    hours_min: Hours | None = None
    hours_max: Hours | None = None
    hours_per_week: Hours | None = None
    max_travel_km: Annotated[int, Field(ge=0, le=300)] | None = None
    languages: Annotated[list[LanguageCode], Field(max_length=20)] | None = None
    dutch_level: LanguageLevel | None = None
    driving_licences: Annotated[list[DrivingLicence], Field(max_length=15)] | None = None
    available_from: date | None = None
    consent_share_profile: bool | None = None
    consent_date: date | None = None
    notes: LongText | None = None
    status: ClientStatus | None = None


class ClientPublic(ClientFields):
    """One client in full, BSN included: only on the client's own page, and audited."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    version: int
    bsn: str
    nlqf: int | None
    created_at: datetime
    updated_at: datetime
    email: str | None = None  # stored, not re-validated


class ClientListItem(BaseModel):
    """A client in a list: enough to recognise them, no BSN, no contact details."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    version: int
    first_name: str
    name_prefix: str
    last_name: str
    municipality: str
    benefit_type: BenefitType
    status: ClientStatus
    consent_share_profile: bool
    updated_at: datetime


class BsnLookup(Strict):
    """Body of ``POST /clients/lookup``: a BSN travels in a body, never in a URL or log."""

    bsn: Bsn


def nlqf_of(level: str | None) -> int | None:
    return NLQF[EducationLevel(level)] if level else None


# --- Vacancies -------------------------------------------------------------------------


class HoursRange(Strict):
    hours_min: Hours
    hours_max: Hours

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.hours_min > self.hours_max:
            raise ValueError(
                f"hours_min ({self.hours_min}) is more than hours_max ({self.hours_max})"
            )
        return self


class VacancyFields(HoursRange):
    employer_id: str
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    occupation: Occupation
    skills_required: Skills = []
    skills_nice: Skills = []
    driving_licences: Annotated[list[DrivingLicence], Field(max_length=15)] = Field(
        default=[], description='licence categories the work requires, e.g. ["C"]'
    )
    dutch_level: LanguageLevel | None = Field(
        default=None, description="the level of Dutch the work asks (CEFR)"
    )
    education_level: EducationLevel | None = None
    contract_type: ContractType
    wage_min: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    wage_max: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    postcode: Postcode | None = None
    municipality: Municipality
    start_date: date | None = None
    closing_date: date | None = None
    description: LongText = ""
    status: VacancyStatus = VacancyStatus.open
    published: bool | None = Field(
        default=None, description="offer an anonymised summary to peers; default: node setting"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (
            self.wage_min is not None
            and self.wage_max is not None
            and self.wage_min > self.wage_max
        ):
            raise ValueError(f"wage_min ({self.wage_min}) is more than wage_max ({self.wage_max})")
        return self


class VacancyCreate(VacancyFields):
    pass


class VacancyUpdate(Strict):
    version: Version | None = None
    employer_id: str | None = None
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    occupation: Occupation | None = None
    skills_required: Skills | None = None
    skills_nice: Skills | None = None
    driving_licences: Annotated[list[DrivingLicence], Field(max_length=15)] | None = None
    dutch_level: LanguageLevel | None = None
    education_level: EducationLevel | None = None
    hours_min: Hours | None = None
    hours_max: Hours | None = None
    contract_type: ContractType | None = None
    wage_min: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    wage_max: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    postcode: Postcode | None = None
    municipality: Municipality | None = None
    start_date: date | None = None
    closing_date: date | None = None
    description: LongText | None = None
    status: VacancyStatus | None = None
    published: bool | None = None


class VacancyPublic(VacancyFields):
    published: bool
    id: str
    version: int
    created_at: datetime
    updated_at: datetime


# --- Baanopeningen ---------------------------------------------------------------------


class BaanopeningFields(HoursRange):
    employer_id: str
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    tasks: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=300)]],
        Field(min_length=1, max_length=50),
    ]
    sector: Sector
    postcode: Postcode | None = None
    municipality: Municipality
    suitable_profile: LongText = ""
    status: BaanopeningStatus = BaanopeningStatus.open
    published: bool | None = Field(
        default=None, description="offer an anonymised summary to peers; default: node setting"
    )


class BaanopeningCreate(BaanopeningFields):
    pass


class BaanopeningUpdate(Strict):
    version: Version | None = None
    employer_id: str | None = None
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    tasks: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=300)]],
            Field(min_length=1, max_length=50),
        ]
        | None
    ) = None
    hours_min: Hours | None = None
    hours_max: Hours | None = None
    sector: Sector | None = None
    postcode: Postcode | None = None
    municipality: Municipality | None = None
    suitable_profile: LongText | None = None
    status: BaanopeningStatus | None = None
    published: bool | None = None


class BaanopeningPublic(BaanopeningFields):
    model_config = ConfigDict(from_attributes=True)

    published: bool
    id: str
    version: int
    created_at: datetime
    updated_at: datetime
