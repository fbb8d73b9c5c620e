"""Code lists shared by private records and published summaries. Pure data."""

from __future__ import annotations

from enum import StrEnum


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
