"""A deterministic synthetic federation: N bureaus and M replicated openings, for benchmarks.

Everything is fiction (faker ``nl_NL`` and ``random.Random(seed)``), but shaped like the
real thing: 52 common entry-level occupations with their ISCO-08 unit groups and skills,
hours and contract types in realistic proportions, municipalities drawn by population
(the 47 largest by their own figures, every other one at the average of the rest, so
Amsterdam gets 28 times as many openings as a small municipality), each bureau mostly
active in its own labour-market region, and titles and descriptions built from templates.

The openings reach the database exactly as a peer's would: as :class:`FeedPage` pages of
500, serialised, checked by :func:`replication.check_page` and stored by
:func:`replication.apply_page`, one transaction per page. So the ranking columns and the
FTS5 index are filled by production code, not by the benchmark.

Building 100,000 openings takes about two minutes, so built databases are cached in
``bench/.cache/`` (gitignored), keyed by (bureaus, openings, seed), the generator version
and the schema's migration head; see :func:`cached` for what happens when the head moves.
"""

from __future__ import annotations

import functools
import random
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from alembic.config import Config
from alembic.script import ScriptDirectory
from faker import Faker
from sqlalchemy import Engine, text

from topmatch import db
from topmatch.cardbox import synthetic as cardbox_synthetic
from topmatch.federation import replication
from topmatch.geography import places
from topmatch.publishing.schemas import (
    MAX_PAGE_ITEMS,
    BaanopeningSummary,
    FeedPage,
    OccupationRef,
    Place,
    Upsert,
    VacancySummary,
)
from topmatch.vocabulary import NLQF, ContractType, EducationLevel, SbiSection

#: Bump when the generated data changes, so that cached databases are rebuilt.
GENERATOR_VERSION = 1
#: The reference time of every synthetic federation (data must not depend on the clock).
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CACHE = Path(__file__).resolve().parent / ".cache"
PAGE_SIZE = MAX_PAGE_ITEMS  # 500: the largest page a feed may serve

Summary = VacancySummary | BaanopeningSummary
Occupation = tuple[str, str, SbiSection, list[str]]  # label, ISCO-08 unit group, sector, skills

# (label, ISCO-08 unit group, SBI section, typical skills): common Dutch entry-level
# occupations, added to the 12 of the card-box demo data. Unit groups from ISCO-08 (ILO).
EXTRA_OCCUPATIONS: list[Occupation] = [
    ("Heftruckchauffeur", "8344", SbiSection.H, ["heftruck", "reachtruck", "VCA"]),
    ("Orderpicker", "9333", SbiSection.H, ["orderpicken", "scanner", "EPT"]),
    ("Inpakker", "9321", SbiSection.C, ["inpakken", "kwaliteitscontrole", "etiketteren"]),
    ("Vakkenvuller", "9334", SbiSection.G, ["vakkenvullen", "voorraadbeheer", "klantcontact"]),
    ("Kassamedewerker", "5230", SbiSection.G, ["kassa", "klantcontact", "rekenvaardigheid"]),
    ("Postbezorger", "9621", SbiSection.H, ["post sorteren", "fietsen", "zelfstandig werken"]),
    ("Maaltijdbezorger", "9331", SbiSection.I, ["fietsen", "klantcontact", "routeplanning"]),
    ("Vrachtwagenchauffeur", "8332", SbiSection.H, ["rijbewijs C", "code 95", "routeplanning"]),
    ("Buschauffeur", "8331", SbiSection.H, ["rijbewijs D", "klantcontact", "code 95"]),
    ("Glazenwasser", "9123", SbiSection.N, ["glasbewassing", "hoogwerker", "VCA"]),
    ("Keukenhulp", "9412", SbiSection.I, ["afwassen", "HACCP", "snijden"]),
    ("Fastfoodmedewerker", "9411", SbiSection.I, ["frituren", "HACCP", "kassa"]),
    ("Barmedewerker", "5132", SbiSection.I, ["tappen", "gastvrijheid", "kassa"]),
    ("Receptionist", "4226", SbiSection.N, ["klantcontact", "telefoon", "agendabeheer"]),
    ("Telefonist", "4223", SbiSection.N, ["telefoon", "klantcontact", "doorverbinden"]),
    ("Data-invoerder", "4132", SbiSection.N, ["typevaardigheid", "Excel", "nauwkeurigheid"]),
    ("Postkamermedewerker", "4412", SbiSection.N, ["post sorteren", "archiveren", "scannen"]),
    ("Boekhoudkundig medewerker", "4311", SbiSection.M, ["Excel", "boekhouden", "facturen"]),
    ("Beveiliger", "5414", SbiSection.N, ["Beveiliger 2", "toezicht", "BHV"]),
    ("Conciërge", "5153", SbiSection.P, ["klein onderhoud", "toezicht", "klantcontact"]),
    ("Huishoudelijke hulp", "9111", SbiSection.Q, ["schoonmaken", "wassen", "empathie"]),
    ("Pedagogisch medewerker", "5311", SbiSection.Q, ["kinderopvang", "VVE", "EHBO"]),
    ("Onderwijsassistent", "5312", SbiSection.P, ["begeleiden", "geduld", "plannen"]),
    ("Verzorgende IG", "5321", SbiSection.Q, ["persoonlijke verzorging", "medicatie", "ADL"]),
    ("Kapper", "5141", SbiSection.S, ["knippen", "kleuren", "klantcontact"]),
    ("Schilder", "7131", SbiSection.F, ["schilderen", "behangen", "VCA"]),
    ("Timmerman", "7115", SbiSection.F, ["timmeren", "tekening lezen", "VCA"]),
    ("Bouwplaatsmedewerker", "9313", SbiSection.F, ["sjouwen", "VCA", "opruimen"]),
    ("Elektricien", "7411", SbiSection.F, ["NEN 3140", "bekabeling", "tekening lezen"]),
    ("Lasser", "7212", SbiSection.C, ["MIG/MAG-lassen", "TIG-lassen", "tekening lezen"]),
    ("Automonteur", "7231", SbiSection.G, ["APK", "diagnose", "banden wisselen"]),
    ("Fietsenmaker", "7234", SbiSection.G, ["fietsreparatie", "klantcontact", "onderhoud"]),
    ("Bakker", "7512", SbiSection.C, ["deeg bereiden", "HACCP", "vroege diensten"]),
    ("Slager", "7511", SbiSection.G, ["uitbenen", "HACCP", "klantcontact"]),
    ("Operator voedingsmiddelen", "8160", SbiSection.C, ["machinebediening", "HACCP", "GMP"]),
    ("Machineoperator kunststof", "8142", SbiSection.C, ["spuitgieten", "machinebediening"]),
    ("Tuinbouwmedewerker", "9214", SbiSection.A, ["oogsten", "stekken", "kasteelt"]),
    ("Oogstmedewerker", "9211", SbiSection.A, ["oogsten", "sorteren", "fysiek werk"]),
    ("Afvalinzamelaar", "9611", SbiSection.E, ["afval scheiden", "fysiek werk", "VCA"]),
    ("Straatveger", "9613", SbiSection.O, ["vegen", "veegwagen", "zelfstandig werken"]),
]

#: Every occupation the generator uses (the demo card-box's 12 and the 40 above).
# The card-box demo's professions (cardbox/data/vacatureteksten.toml), each in its first sector.
OCCUPATIONS: list[Occupation] = [
    *((p.label, p.isco08, p.sectors[0], list(p.skills)) for p in cardbox_synthetic.professions()),
    *EXTRA_OCCUPATIONS,
]

# Inhabitants in thousands of the largest municipalities (CBS, 1 January 2024, rounded):
# sampling weights only. Every other municipality gets an equal share of the rest.
LARGEST: dict[str, int] = {
    "Amsterdam": 931, "Rotterdam": 670, "'s-Gravenhage": 567, "Utrecht": 374,
    "Eindhoven": 246, "Groningen": 243, "Tilburg": 227, "Almere": 226, "Breda": 188,
    "Nijmegen": 184, "Apeldoorn": 167, "Arnhem": 167, "Haarlem": 165, "Haarlemmermeer": 163,
    "Enschede": 161, "Amersfoort": 161, "Zaanstad": 160, "'s-Hertogenbosch": 160,
    "Zwolle": 133, "Leiden": 128, "Zoetermeer": 127, "Leeuwarden": 126, "Maastricht": 122,
    "Ede": 122, "Dordrecht": 121, "Alphen aan den Rijn": 115, "Westland": 114,
    "Alkmaar": 111, "Emmen": 108, "Delft": 106, "Venlo": 103, "Deventer": 102, "Helmond": 95,
    "Oss": 95, "Purmerend": 93, "Amstelveen": 93, "Hilversum": 92, "Súdwest-Fryslân": 92,
    "Sittard-Geleen": 92, "Dijk en Waard": 91, "Heerlen": 87, "Nissewaard": 86,
    "Meierijstad": 83, "Lelystad": 83, "Hengelo": 82, "Schiedam": 80, "Roosendaal": 78,
}  # fmt: skip
NETHERLANDS_THOUSANDS = 17_940

# Contract types of entry-level openings at re-integration bureaus (weights).
CONTRACTS: dict[ContractType, int] = {
    ContractType.tijdelijk: 35,
    ContractType.uitzend: 25,
    ContractType.vast: 15,
    ContractType.oproep: 10,
    ContractType.proefplaatsing: 10,
    ContractType.vrijwilligerswerk: 5,
}
LEVELS: list[tuple[EducationLevel | None, int]] = [
    (None, 45),
    (EducationLevel.entree, 15),
    (EducationLevel.mbo_2, 30),
    (EducationLevel.mbo_3, 10),
]
HOURS_MIN = [8, 12, 16, 20, 24, 28, 32, 36, 38]
HOURS_SPAN = [0, 4, 8, 12, 16]
GENERIC_SKILLS = ["rijbewijs B", "Nederlands", "teamwerk", "flexibel", "VCA", "Engels"]

SECTOR_TEXT: dict[SbiSection, str] = {
    SbiSection.A: "een tuinbouwbedrijf",
    SbiSection.C: "een productiebedrijf",
    SbiSection.E: "een afvalverwerker",
    SbiSection.F: "een bouwbedrijf",
    SbiSection.G: "een winkel",
    SbiSection.H: "een logistiek bedrijf",
    SbiSection.I: "een horecabedrijf",
    SbiSection.M: "een administratiekantoor",
    SbiSection.N: "een dienstverlener",
    SbiSection.O: "de gemeente",
    SbiSection.P: "een school",
    SbiSection.Q: "een zorgorganisatie",
    SbiSection.S: "een salon",
}
TITLES = [
    "{label}",
    "{label}",
    "{label} {place}",
    "{label} ({hours} uur)",
    "Allround {lower}",
    "Junior {lower}",
    "{label} parttime",
    "Medewerker {lower}",
]
SHIFTS = ["", "", " in dagdienst", " in twee ploegen", " in de avonden", " ook in het weekend"]
OFFERS = [
    "een marktconform salaris",
    "reiskostenvergoeding",
    "een contract met uitzicht op vast",
    "begeleiding door een jobcoach",
    "opleiding op de werkvloer",
    "een vast aanspreekpunt",
    "goede secundaire arbeidsvoorwaarden",
]
PROFILES = [
    "Iemand die graag praktisch bezig is, met begeleiding op de werkvloer.",
    "Geschikt voor iemand uit het doelgroepregister die een rustige werkplek zoekt.",
    "Je werkt in een vast team met een vaste begeleider; structuur is er volop.",
    "Wie graag met de handen werkt en een vaste dagindeling prettig vindt.",
]


@dataclass(frozen=True)
class Bureau:
    node_id: str
    name: str
    region: str  # its home arbeidsmarktregio


@dataclass(frozen=True)
class Federation:
    bureaus: tuple[Bureau, ...]
    summaries: tuple[Summary, ...]


@functools.cache
def _weighted_municipalities() -> tuple[tuple[places.Municipality, ...], tuple[float, ...]]:
    everything = places.municipalities()
    largest = {places.municipality(name).name: size for name, size in LARGEST.items()}
    rest = (NETHERLANDS_THOUSANDS - sum(largest.values())) / (len(everything) - len(largest))
    weights = tuple(float(largest.get(m.name, rest)) for m in everything)
    return tuple(everything), weights


class Generator:
    """Makes openings one at a time; every choice comes from one seeded ``Random``."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)  # noqa: S311 - reproducible fiction, not security
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(seed)
        self.municipalities, self.weights = _weighted_municipalities()
        self._by_region: dict[str, list[int]] = defaultdict(list)
        for i, muni in enumerate(self.municipalities):
            self._by_region[muni.arbeidsmarktregio].append(i)

    # --- bureaus and places ---------------------------------------------------------

    def bureaus(self, count: int) -> tuple[Bureau, ...]:
        """Bureaus ``bureau-00`` ...; each at home where a population-weighted draw lands."""
        return tuple(
            Bureau(
                node_id=f"bureau-{i:02d}",
                name=f"{self.fake.last_name()} Re-integratie",
                region=self.municipality().arbeidsmarktregio,
            )
            for i in range(count)
        )

    def municipality(self, region: str | None = None) -> places.Municipality:
        """A municipality by population, within ``region`` when given."""
        if region is None:
            return self.rnd.choices(self.municipalities, weights=self.weights)[0]
        indices = self._by_region[region]
        chosen = self.rnd.choices(indices, weights=[self.weights[i] for i in indices])[0]
        return self.municipalities[chosen]

    def summary_id(self, kind: str) -> str:
        return f"{kind}-{self.rnd.getrandbits(96):024x}"

    def updated_at(self) -> datetime:
        """Within the last 60 days: what a replica of live openings holds."""
        return NOW - timedelta(minutes=self.rnd.randrange(0, 60 * 24 * 60))

    def hours(self) -> tuple[int, int]:
        low = self.rnd.choice(HOURS_MIN)
        return low, min(40, low + self.rnd.choice(HOURS_SPAN))

    # --- openings -------------------------------------------------------------------

    def opening(self, origin: str, region: str | None) -> Summary:
        """A vacancy (85 %) or baanopening (15 %) of ``origin``; 70 % in its region."""
        where = self.municipality(region if self.rnd.random() < 0.7 else None)  # noqa: PLR2004
        if self.rnd.random() < 0.85:  # noqa: PLR2004
            return self.vacancy(origin, where=where)
        return self.baanopening(origin, where=where)

    def vacancy(
        self,
        origin: str,
        *,
        where: places.Municipality,
        occupation: Occupation | None = None,
        hours: tuple[int, int] | None = None,
        contract: ContractType | None = None,
        coded: bool | None = None,
        level: EducationLevel | Literal["draw"] | None = "draw",
    ) -> VacancySummary:
        """One vacancy; each keyword fixes that aspect instead of drawing it. ``coded``:
        whether the ISCO-08 code is given (drawn: 90 %); ``level``: the education level
        asked (drawn from :data:`LEVELS`)."""
        label, isco, sector, skills = occupation or self.rnd.choice(OCCUPATIONS)
        hours_min, hours_max = hours or self.hours()
        contract = contract or self.rnd.choices(list(CONTRACTS), list(CONTRACTS.values()))[0]
        if level == "draw":
            level = self.rnd.choices([lv for lv, _ in LEVELS], [w for _, w in LEVELS])[0]
        required = self.rnd.sample(skills, k=self.rnd.randint(1, min(3, len(skills))))
        nice = [s for s in skills if s not in required]
        nice += self.rnd.sample(GENERIC_SKILLS, k=self.rnd.randint(0, 2))
        coded = self.rnd.random() < 0.9 if coded is None else coded  # noqa: PLR2004
        title = self._title(label, where.name, hours_min, hours_max)
        description = self._description(label, sector, where.name, (hours_min, hours_max), skills)
        return VacancySummary(
            id=self.summary_id("v"),
            origin=origin,
            version=self.rnd.choice([1, 1, 1, 2, 3]),
            updated_at=self.updated_at(),
            title=title,
            hours_min=hours_min,
            hours_max=hours_max,
            sector=sector,
            place=_place(where),
            occupation=OccupationRef(label=label, isco08=isco if coded else None),
            skills_required=required,
            skills_nice=nice,
            education_level=level,
            nlqf=NLQF[level] if level else None,
            contract_type=contract,
            start_date=(NOW + timedelta(days=self.rnd.randrange(0, 90))).date(),
            closing_date=self._closing(),
            description=description,
        )

    def baanopening(self, origin: str, *, where: places.Municipality) -> BaanopeningSummary:
        label, _, sector, skills = self.rnd.choice(OCCUPATIONS)
        low = self.rnd.choice([8, 12, 16, 20])
        return BaanopeningSummary(
            id=self.summary_id("b"),
            origin=origin,
            version=1,
            updated_at=self.updated_at(),
            title=f"Ondersteunende taken {label.lower()}",
            hours_min=low,
            hours_max=low + self.rnd.choice([0, 4, 8]),
            sector=sector,
            place=_place(where),
            tasks=[f"helpen bij {s}" for s in skills],
            suitable_profile=self.rnd.choice(PROFILES),
        )

    def _title(self, label: str, place: str, low: int, high: int) -> str:
        hours = str(low) if low == high else f"{low}-{high}"
        template = self.rnd.choice(TITLES)
        if template.startswith("Medewerker") and "medewerker" in label.lower():
            template = "{label}"  # not "Medewerker medewerker bediening"
        return template.format(label=label, lower=label.lower(), place=place, hours=hours)

    def _closing(self) -> date | None:
        if self.rnd.random() < 0.5:  # noqa: PLR2004 - half the openings state a closing date
            return None
        return (NOW + timedelta(days=self.rnd.randrange(14, 60))).date()

    def _description(
        self, label: str, sector: SbiSection, place: str, hours: tuple[int, int], skills: list[str]
    ) -> str:
        low, high = hours
        span = f"{low} uur" if low == high else f"{low} tot {high} uur"
        offers = ", ".join(self.rnd.sample(OFFERS, k=2))
        text = (
            f"Voor {SECTOR_TEXT.get(sector, 'een werkgever')} in {place} zoeken wij een "
            f"{label.lower()}. Je werkt {span} per week{self.rnd.choice(SHIFTS)}. "
            f"Wij vragen: {', '.join(skills)}. Wij bieden: {offers}. "
            "Begeleiding vanuit ons re-integratiebureau is mogelijk."
        )
        return text[:500]


def _place(muni: places.Municipality) -> Place:
    return Place(
        municipality=muni.name, province=muni.province, arbeidsmarktregio=muni.arbeidsmarktregio
    )


def bureaus_of(*, bureaus: int, seed: int) -> tuple[Bureau, ...]:
    """The bureaus of :func:`federation` with these arguments, without its openings."""
    return Generator(seed).bureaus(bureaus)


def federation(*, bureaus: int, summaries: int, seed: int) -> Federation:
    """``bureaus`` bureaus sharing ``summaries`` openings, an equal share each.

    Not cached on purpose: 100,000 summaries held in memory make every full garbage
    collection slower, which would be charged to whatever is being timed.
    """
    generator = Generator(seed)
    members = generator.bureaus(bureaus)
    items = tuple(
        generator.opening(members[i % bureaus].node_id, members[i % bureaus].region)
        for i in range(summaries)
    )
    return Federation(bureaus=members, summaries=items)


# --- loading through the replication path ----------------------------------------------


def load(engine: Engine, summaries: Sequence[Summary], *, now: datetime = NOW) -> int:
    """Replicate ``summaries`` into ``engine``'s database as each origin's feed would: pages
    of 500 after the origin's current cursor, checked and applied one page per transaction.
    Returns how many items changed the replica."""
    by_origin: dict[str, list[Summary]] = defaultdict(list)
    for summary in summaries:
        by_origin[summary.origin].append(summary)
    changed = 0
    for origin, items in by_origin.items():
        with db.transaction(engine) as session:
            cursor = replication.sync_state(session, origin).cursor
        latest = cursor + len(items)
        for start in range(0, len(items), PAGE_SIZE):
            chunk = items[start : start + PAGE_SIZE]
            page = FeedPage(
                origin=origin,
                after=cursor,
                items=[Upsert(seq=cursor + i + 1, summary=s) for i, s in enumerate(chunk)],
                latest_seq=latest,
            )
            checked = replication.check_page(
                page.model_dump_json().encode(), origin=origin, after=cursor
            )
            with db.transaction(engine) as session:
                changed += replication.apply_page(session, checked, now)
            cursor += len(chunk)
    return changed


def schema_head() -> str:
    config = Config()
    config.set_main_option("script_location", db.MIGRATIONS)
    return ScriptDirectory.from_config(config).get_current_head() or "base"


def build(path: Path, summaries: Sequence[Summary]) -> Path:
    """A fresh, migrated SQLite database at ``path`` holding ``summaries``.

    Built under a temporary name and renamed at the end, so that an interrupted build
    never leaves a half-filled file under the cache name.
    """
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, *_sidecars(partial)):
        leftover.unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{partial}")
    try:
        db.upgrade(engine)
        load(engine, summaries)
        with engine.connect() as connection:  # fold the WAL back in: one self-contained file
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        engine.dispose()
    for sidecar in _sidecars(partial):
        sidecar.unlink(missing_ok=True)
    partial.replace(path)
    return path


def _revision(path: Path) -> str | None:
    """The schema revision stored in ``path``: a cached file migrated in place by someone
    else (its name then lies about its contents) is rebuilt, not reused."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def cached(name: str, make: Callable[[], Sequence[Summary]]) -> Path:
    """``bench/.cache/<prefix>-<head>-<rest>.sqlite`` for ``name`` = ``"<prefix>-{head}-<rest>"``.

    At the current schema head: used as it is. At an older head: migrated forward with
    :func:`db.upgrade`, as every node's replica is, and kept if it still holds all its
    rows (a migration may empty the replica for a resync). Otherwise built afresh from
    ``make()``. Callers that only read may open the file directly.
    """
    head = schema_head()
    path = CACHE / (name.format(head=head) + ".sqlite")
    if path.exists() and _revision(path) == head:
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    pattern = name.format(head="*") + ".sqlite"
    older = [p for p in sorted(CACHE.glob(pattern), reverse=True) if p != path]
    if not any(_migrate(candidate, path, head) for candidate in older):
        build(path, make())
    for superseded in CACHE.glob(pattern):  # one file per name: they are 250 MB each
        if superseded != path:
            for stale in (superseded, *_sidecars(superseded)):
                stale.unlink(missing_ok=True)
    return path


def _migrate(older: Path, path: Path, head: str) -> bool:
    partial = path.with_name(path.name + ".partial")
    _checkpoint(older)  # a WAL left by whoever opened it last holds committed pages
    for leftover in (partial, *_sidecars(partial)):
        leftover.unlink(missing_ok=True)
    before = _live_rows(older)
    older.replace(partial)
    for sidecar in _sidecars(older):
        sidecar.unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{partial}")
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    _checkpoint(partial)
    complete = _revision(partial) == head and _live_rows(partial) == before
    for sidecar in _sidecars(partial):  # empty: checkpointed, and only read since
        sidecar.unlink(missing_ok=True)
    if not complete:
        partial.unlink()
        return False
    partial.replace(path)
    return True


def _checkpoint(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:  # closed before the unlinks
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for sidecar in _sidecars(path):
        sidecar.unlink(missing_ok=True)


def _live_rows(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        row = connection.execute("SELECT count(*) FROM federation_summary").fetchone()
    return int(row[0])


def cached_database(*, bureaus: int, summaries: int, seed: int, origin: str | None = None) -> Path:
    """The cached database of this federation (only ``origin``'s openings when given)."""
    name = f"federation-g{GENERATOR_VERSION}-{{head}}-n{bureaus}-m{summaries}-s{seed}"
    if origin:
        name += f"-{origin}"

    def make() -> list[Summary]:
        fed = federation(bureaus=bureaus, summaries=summaries, seed=seed)
        return [s for s in fed.summaries if origin is None or s.origin == origin]

    return cached(name, make)
