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

from topmatch.errors import InputError
from topmatch.geography import places
from topmatch.vocabulary import NLQF, ContractType, EducationLevel, SbiSection

__all__ = [
    "NLQF",
    "BaanopeningStatus",
    "BenefitType",
    "ClientStatus",
    "ContractType",
    "DrivingLicence",
    "EducationLevel",
    "SbiSection",
    "SizeClass",
    "VacancyStatus",
    "mask_bsn",
    "normalise_bsn",
    "normalise_kvk",
    "normalise_municipality",
    "normalise_postcode",
]

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


def normalise_municipality(value: str) -> str:
    """The official (CBS) name of a Dutch municipality; ``ValueError`` with suggestions."""
    try:
        return places.municipality(value).name
    except InputError as e:
        raise ValueError(e.message) from e


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
