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


#: One ordered scale for comparing a seeker's education with what an opening asks: the NLQF
#: level, and 0 for the levels below NLQF 1 (geen diploma, basisonderwijs,
#: praktijkonderwijs), so that the lowest-educated are compared too, not left "unknown".
EDUCATION_SCALE: dict[EducationLevel, int] = {
    level: 0 if nlqf is None else nlqf for level, nlqf in NLQF.items()
}


class LanguageLevel(StrEnum):
    """A language level on the Common European Framework of Reference (CEFR), lowest first."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


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


# The section names of the Standaard Bedrijfsindeling 2008 (SBI 2008) of the Centraal Bureau
# voor de Statistiek (CBS), as CBS publishes them in Dutch ("SBI 2008 - Standaard
# Bedrijfsindeling 2008", section level). Shown wherever a sector letter is asked for.
SBI_SECTION_NAMES: dict[SbiSection, str] = {
    SbiSection.A: "Landbouw, bosbouw en visserij",
    SbiSection.B: "Delfstoffenwinning",
    SbiSection.C: "Industrie",
    SbiSection.D: "Productie en distributie van en handel in elektriciteit, aardgas, stoom "
    "en gekoelde lucht",
    SbiSection.E: "Winning en distributie van water; afval- en afvalwaterbeheer en sanering",
    SbiSection.F: "Bouwnijverheid",
    SbiSection.G: "Groot- en detailhandel; reparatie van auto's",
    SbiSection.H: "Vervoer en opslag",
    SbiSection.I: "Logies-, maaltijd- en drankverstrekking",
    SbiSection.J: "Informatie en communicatie",
    SbiSection.K: "Financiële instellingen",
    SbiSection.L: "Verhuur van en handel in onroerend goed",
    SbiSection.M: "Advisering, onderzoek en overige specialistische zakelijke dienstverlening",
    SbiSection.N: "Verhuur van roerende goederen en overige zakelijke dienstverlening",
    SbiSection.O: "Openbaar bestuur, overheidsdiensten en verplichte sociale verzekeringen",
    SbiSection.P: "Onderwijs",
    SbiSection.Q: "Gezondheids- en welzijnszorg",
    SbiSection.R: "Cultuur, sport en recreatie",
    SbiSection.S: "Overige dienstverlening",
    SbiSection.T: "Huishoudens als werkgever; niet-gedifferentieerde productie van goederen en "
    "diensten door huishoudens voor eigen gebruik",
    SbiSection.U: "Extraterritoriale organisaties en lichamen",
}
