"""Dutch identifiers and code lists. Pure functions; no I/O.

BSN and postcode use python-stdnum. KvK numbers have no check digit since 2016 (the KvK
hands out plain 8-digit numbers), so a KvK number is valid when it is exactly 8 digits.
"""

from __future__ import annotations

import re
from enum import StrEnum

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.nl import bsn as stdnum_bsn
from stdnum.nl import postcode as stdnum_postcode

_KVK = re.compile(r"^\d{8}$")


def normalise_bsn(value: str) -> str:
    """Nine digits passing the 11-proof (elfproef), or ``ValueError`` saying why not."""
    try:
        return str(stdnum_bsn.validate(value))
    except StdnumError as e:
        raise ValueError(f"not a valid BSN: {str(e).lower()}") from e


def normalise_postcode(value: str) -> str:
    """``1234 AB`` form; ``ValueError`` for anything that is not a Dutch postcode."""
    try:
        return str(stdnum_postcode.validate(value))
    except StdnumError as e:
        raise ValueError(f"not a valid Dutch postcode (1234 AB): {str(e).lower()}") from e


def normalise_kvk(value: str) -> str:
    compact = re.sub(r"[\s.]", "", value)
    if not _KVK.match(compact):
        raise ValueError("a KvK number is 8 digits")
    return compact


def mask_bsn(bsn: str) -> str:
    """The last three digits only, as on official letters: ``******123``."""
    return "*" * (len(bsn) - 3) + bsn[-3:]


class BenefitType(StrEnum):
    """Uitkering the client receives; decides who pays for the re-integration route."""

    ww = "ww"
    participatiewet = "participatiewet"
    wajong = "wajong"
    wia_wga = "wia_wga"
    geen = "geen"
    anders = "anders"


class EducationLevel(StrEnum):
    """Named Dutch levels; :data:`NLQF` gives the NLQF level (1-8) of each."""

    geen = "geen"
    basisonderwijs = "basisonderwijs"
    praktijkonderwijs = "praktijkonderwijs"
    vmbo_bb = "vmbo-bb"
    vmbo_kb = "vmbo-kb"
    vmbo_gt = "vmbo-gt"
    entree = "entree"
    mbo_2 = "mbo-2"
    mbo_3 = "mbo-3"
    mbo_4 = "mbo-4"
    havo = "havo"
    vwo = "vwo"
    associate_degree = "associate-degree"
    hbo_bachelor = "hbo-bachelor"
    wo_bachelor = "wo-bachelor"
    master = "master"
    doctor = "doctor"
    nlqf_1 = "nlqf-1"
    nlqf_2 = "nlqf-2"
    nlqf_3 = "nlqf-3"
    nlqf_4 = "nlqf-4"
    nlqf_5 = "nlqf-5"
    nlqf_6 = "nlqf-6"
    nlqf_7 = "nlqf-7"
    nlqf_8 = "nlqf-8"


# NLQF levels per https://www.nlqf.nl (levels of the Dutch qualifications framework).
# Levels below entree have no NLQF level: None.
NLQF: dict[EducationLevel, int | None] = {
    EducationLevel.geen: None,
    EducationLevel.basisonderwijs: None,
    EducationLevel.praktijkonderwijs: None,
    EducationLevel.vmbo_bb: 1,
    EducationLevel.vmbo_kb: 1,
    EducationLevel.vmbo_gt: 2,
    EducationLevel.entree: 1,
    EducationLevel.mbo_2: 2,
    EducationLevel.mbo_3: 3,
    EducationLevel.mbo_4: 4,
    EducationLevel.havo: 4,
    EducationLevel.vwo: 4,
    EducationLevel.associate_degree: 5,
    EducationLevel.hbo_bachelor: 6,
    EducationLevel.wo_bachelor: 6,
    EducationLevel.master: 7,
    EducationLevel.doctor: 8,
    **{EducationLevel(f"nlqf-{n}"): n for n in range(1, 9)},
}


class ContractType(StrEnum):
    vast = "vast"
    tijdelijk = "tijdelijk"
    uitzend = "uitzend"
    oproep = "oproep"  # oproep- of nul-urencontract
    proefplaatsing = "proefplaatsing"
    vrijwilligerswerk = "vrijwilligerswerk"


class SbiSection(StrEnum):
    """SBI 2008 sections (CBS), A-U."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the SBI section is called I
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"
    O = "O"  # noqa: E741 - the SBI section is called O
    P = "P"
    Q = "Q"
    R = "R"
    S = "S"
    T = "T"
    U = "U"


class SizeClass(StrEnum):
    """CBS/EU size classes by employees: micro <10, klein 10-49, middel 50-249, groot 250+."""

    micro = "micro"
    klein = "klein"
    middel = "middel"
    groot = "groot"


class DrivingLicence(StrEnum):
    """EU driving licence categories (rijbewijscategorieën)."""

    AM = "AM"
    A1 = "A1"
    A2 = "A2"
    A = "A"
    B = "B"
    BE = "BE"
    C1 = "C1"
    C1E = "C1E"
    C = "C"
    CE = "CE"
    D1 = "D1"
    D1E = "D1E"
    D = "D"
    DE = "DE"
    T = "T"


class ClientStatus(StrEnum):
    active = "active"
    placed = "placed"
    left = "left"


class VacancyStatus(StrEnum):
    open = "open"
    filled = "filled"
    withdrawn = "withdrawn"
    expired = "expired"


class BaanopeningStatus(StrEnum):
    open = "open"
    filled = "filled"
    withdrawn = "withdrawn"
