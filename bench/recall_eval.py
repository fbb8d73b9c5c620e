"""Recall@10 of openings for a client, on a labelled set built by construction.

    .venv/bin/python -m bench.recall_eval [--clients 200 --background 5000 --seed 1]

Each synthetic client has a profile: a desired occupation (ISCO-08 unit group), two of
its skills, a home municipality (drawn by population), a maximum travel distance, the
hours a week wanted, an education level and the contract types they accept. An opening
is *relevant* to a client when all of these hold (:func:`relevant`, written here from the
profile, independent of :mod:`topmatch.matching.scoring`):

- occupation: the same ISCO-08 unit group; or, for a vacancy without a code, every one of
  the client's skills among its skills;
- distance: its municipality within the client's maximum travel distance (seat to seat);
- hours: the client's hours within its range;
- contract: a type the client accepts;
- education: no level asked, or at most one above the client's;
- it is a vacancy (baanopeningen are for people in the doelgroepregister; these clients
  are not).

For every client the set plants 5 relevant vacancies (one of them without an ISCO-08
code) and 8 near misses, 2 of each: too far; hours outside the range; a contract the
client does not accept; a related occupation (same ISCO-08 minor or sub-major group).
They sit among ``--background`` ordinary openings of 5 bureaus. Labels are computed with
:func:`relevant` over *every* opening, so a background opening that happens to fit
counts as relevant too.

All openings are replicated into SQLite through :func:`replication.apply_page` (see
:mod:`bench.synthetic`), and each client, as a :class:`ClientPublic`, is ranked with
:func:`service.openings_for_client` (limit 10). Baselines on the same data, each a list
newest first: (a) the plain list of openings as it opens; (b) that list filtered on the
client's municipality and hours; (c) every opening that passes the ranking's own hard
filters (distance, hours, education): the score replaced by recency. The headline ratio
is ours / (c). Results: ``bench/results/recall.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session

from bench import common, synthetic
from topmatch import db
from topmatch.cardbox.schemas import ClientPublic, Occupation
from topmatch.cardbox.validation import BenefitType
from topmatch.federation import service as federation_service
from topmatch.geography import places
from topmatch.matching import scoring, service
from topmatch.publishing.schemas import VacancySummary
from topmatch.vocabulary import NLQF, ContractType, EducationLevel

K = 10
BUREAUS = 5
RELEVANT_CODED = 4
RELEVANT_UNCODED = 1
NEAR_MISSES = ("far", "hours", "contract", "related")
PER_NEAR_MISS = 2
#: Bump when the planted set changes, so that the cached database is rebuilt.
EVAL_VERSION = 1

CLIENT_HOURS = [16, 20, 24, 32, 36]
CLIENT_TRAVEL_KM = [10, 15, 25, 40]
CLIENT_LEVELS = [EducationLevel.entree, EducationLevel.mbo_2, EducationLevel.mbo_3]
PAID = frozenset(ContractType) - {ContractType.vrijwilligerswerk}


@dataclass(frozen=True)
class Profile:
    number: int
    occupation: synthetic.Occupation
    skills: tuple[str, ...]
    home: places.Municipality
    max_km: int
    hours: int
    level: EducationLevel
    contracts: frozenset[ContractType]

    @property
    def isco08(self) -> str:
        return self.occupation[1]

    @property
    def nlqf(self) -> int:
        return NLQF[self.level] or 0


@dataclass
class LabelledSet:
    bureaus: tuple[synthetic.Bureau, ...]
    profiles: list[Profile] = field(default_factory=list)
    openings: list[synthetic.Summary] = field(default_factory=list)
    planted: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> client, kind


# --- building the set ------------------------------------------------------------------


class Planter:
    """Draws profiles and the openings planted for them, from one seeded generator."""

    def __init__(self, generator: synthetic.Generator, bureaus: Sequence[synthetic.Bureau]):
        self.gen = generator
        self.rnd = generator.rnd
        self.bureaus = bureaus
        self._count = 0

    def profile(self, number: int) -> Profile:
        occupation = self.rnd.choice(synthetic.OCCUPATIONS)
        skills = occupation[3]
        accepted = PAID if self.rnd.random() < 0.8 else PAID - {ContractType.oproep}  # noqa: PLR2004
        return Profile(
            number=number,
            occupation=occupation,
            skills=tuple(self.rnd.sample(skills, k=min(2, len(skills)))),
            home=self.gen.municipality(),
            max_km=self.rnd.choice(CLIENT_TRAVEL_KM),
            hours=self.rnd.choice(CLIENT_HOURS),
            level=self.rnd.choice(CLIENT_LEVELS),
            contracts=accepted,
        )

    def plant(self, p: Profile) -> list[tuple[str, VacancySummary]]:
        """The openings planted for ``p``, each with its kind."""
        planted = [("relevant", self._vacancy(p)) for _ in range(RELEVANT_CODED)]
        planted += [("relevant", self._vacancy(p, coded=False)) for _ in range(RELEVANT_UNCODED)]
        for _ in range(PER_NEAR_MISS):
            planted += [
                ("far", self._vacancy(p, where=self._far(p))),
                ("hours", self._vacancy(p, hours=self._other_hours(p.hours))),
                ("contract", self._vacancy(p, contract=self._refused(p))),
                ("related", self._vacancy(p, occupation=self._related(p.occupation))),
            ]
        return planted

    def _vacancy(
        self,
        p: Profile,
        *,
        where: places.Municipality | None = None,
        hours: tuple[int, int] | None = None,
        contract: ContractType | None = None,
        occupation: synthetic.Occupation | None = None,
        coded: bool = True,
    ) -> VacancySummary:
        self._count += 1
        levels = [lv for lv, _ in synthetic.LEVELS if lv is None or (NLQF[lv] or 0) <= p.nlqf]
        return self.gen.vacancy(
            self.bureaus[self._count % len(self.bureaus)].node_id,
            where=where or self._near(p),
            occupation=occupation or p.occupation,
            hours=hours or self._around(p.hours),
            contract=contract or self.rnd.choice(sorted(p.contracts)),
            coded=coded,
            level=self.rnd.choice(levels),
        )

    def _pick(self, keep: Callable[[places.Municipality], bool]) -> places.Municipality:
        indices = [i for i, m in enumerate(self.gen.municipalities) if keep(m)]
        weights = [self.gen.weights[i] for i in indices]
        return self.gen.municipalities[self.rnd.choices(indices, weights=weights)[0]]

    def _near(self, p: Profile) -> places.Municipality:
        return self._pick(lambda m: places.distance_km(p.home, m) <= p.max_km)

    def _far(self, p: Profile) -> places.Municipality:
        low, high = p.max_km * 1.5, p.max_km + 60
        return self._pick(lambda m: low < places.distance_km(p.home, m) <= high)

    def _around(self, hours: int) -> tuple[int, int]:
        return max(8, hours - self.rnd.choice([0, 4, 8])), min(40, hours + self.rnd.choice([0, 4]))

    def _other_hours(self, hours: int) -> tuple[int, int]:
        ranges = [
            (low, min(40, low + span))
            for low in synthetic.HOURS_MIN
            for span in (0, 4)
            if not low <= hours <= min(40, low + span)
        ]
        return self.rnd.choice(ranges)

    def _refused(self, p: Profile) -> ContractType:
        return self.rnd.choice(sorted(frozenset(ContractType) - p.contracts))

    def _related(self, occupation: synthetic.Occupation) -> synthetic.Occupation:
        """Another occupation in the same ISCO-08 minor group, else sub-major, else any."""
        code = occupation[1]
        for digits in (3, 2, 1):
            same = [o for o in synthetic.OCCUPATIONS if o[1][:digits] == code[:digits]]
            others = [o for o in same if o[1] != code]
            if others:
                return self.rnd.choice(others)
        return self.rnd.choice([o for o in synthetic.OCCUPATIONS if o[1] != code])


def labelled_set(*, clients: int, background: int, seed: int) -> LabelledSet:
    generator = synthetic.Generator(seed)
    bureaus = generator.bureaus(BUREAUS)
    planter = Planter(generator, bureaus)
    made = LabelledSet(bureaus=bureaus)
    for i in range(background):
        bureau = bureaus[i % BUREAUS]
        made.openings.append(generator.opening(bureau.node_id, bureau.region))
    for number in range(clients):
        profile = planter.profile(number)
        made.profiles.append(profile)
        for kind, opening in planter.plant(profile):
            made.openings.append(opening)
            made.planted[opening.id] = (number, kind)
    return made


# --- the ground truth ------------------------------------------------------------------


def _where(summary: synthetic.Summary) -> places.Municipality:
    return places.municipality(summary.place.municipality)


def relevant(p: Profile, s: synthetic.Summary, *, contract: bool = True) -> bool:
    """Whether ``s`` fits ``p`` by the rules in the module docstring (``contract=False``:
    leaving out the one fact a client record cannot state, see the report)."""
    if not isinstance(s, VacancySummary):
        return False
    if s.occupation.isco08 is not None:
        occupation = s.occupation.isco08 == p.isco08
    else:
        occupation = set(p.skills) <= {*s.skills_required, *s.skills_nice}
    return (
        occupation
        and s.hours_min <= p.hours <= s.hours_max
        and (not contract or s.contract_type in p.contracts)
        and (s.nlqf is None or s.nlqf <= p.nlqf + 1)
        and places.distance_km(p.home, _where(s)) <= p.max_km
    )


def passes_hard_filters(p: Profile, s: synthetic.Summary) -> bool:
    """The filters the ranking applies for a client: distance, hours, education."""
    nlqf = s.nlqf if isinstance(s, VacancySummary) else None
    return (
        s.hours_min <= p.hours <= s.hours_max
        and (nlqf is None or nlqf <= p.nlqf + 1)
        and places.distance_km(p.home, _where(s)) <= p.max_km
    )


# --- the client record the ranking reads -----------------------------------------------


def client_record(p: Profile, fake: Faker) -> ClientPublic:
    label, isco08, _, _ = p.occupation
    return ClientPublic(
        id=f"bench-client-{p.number:04d}",
        version=1,
        bsn=fake.ssn(),
        nlqf=NLQF[p.level],
        created_at=synthetic.NOW,
        updated_at=synthetic.NOW,
        first_name=fake.first_name(),
        last_name=fake.last_name(),
        date_of_birth=fake.date_of_birth(minimum_age=18, maximum_age=64),
        postcode=fake.postcode(),
        municipality=p.home.name,
        benefit_type=BenefitType.participatiewet,
        education_level=p.level,
        skills=list(p.skills),
        desired_occupations=[Occupation(label=label, isco08=isco08)],
        hours_per_week=p.hours,
        max_travel_km=p.max_km,
        available_from=synthetic.NOW.date() + timedelta(days=fake.random_int(0, 21)),
    )


# --- measuring -------------------------------------------------------------------------


@dataclass
class Scores:
    recall: list[float] = field(default_factory=list)

    def mean(self) -> float:
        return round(statistics.fmean(self.recall), 4)


def database(
    labelled: LabelledSet,
    *,
    clients: int,
    background: int,
    seed: int,
    cache: Path = synthetic.CACHE,
) -> Path:
    name = (
        f"recall-e{EVAL_VERSION}-g{synthetic.GENERATOR_VERSION}-{{head}}"
        f"-c{clients}-b{background}-s{seed}"
    )
    return synthetic.cached(name, lambda: labelled.openings, cache)


def newest_first(openings: Sequence[synthetic.Summary]) -> list[str]:
    return [s.id for s in sorted(openings, key=lambda s: (-s.updated_at.timestamp(), s.id))]


def evaluate(labelled: LabelledSet, engine: Engine, seed: int) -> dict[str, Any]:
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    names = {b.node_id: b.name for b in labelled.bureaus}
    visible = frozenset(names)
    scores = {n: Scores() for n in ("ours", "ours_no_contract", "plain", "plain_place", "recency")}
    ceiling, sizes, slots, found = [], [], Counter[str](), Counter[tuple[str, bool]]()
    by_id = {s.id: s for s in labelled.openings}
    with Session(engine) as session:
        plain = [
            s.id
            for s in federation_service.list_openings(
                session=session, limit=K, offset=0, origins=visible
            ).items
        ]
        for p in labelled.profiles:
            wanted = {s.id for s in labelled.openings if relevant(p, s)}
            loose = {s.id for s in labelled.openings if relevant(p, s, contract=False)}
            result = service.openings_for_client(
                session=session,
                client=client_record(p, fake),
                bureau_names=names,
                limit=K,
                origins=visible,
            )
            ours = [hit.opening.id for hit in result.hits]
            place = federation_service.list_openings(
                session=session,
                limit=K,
                offset=0,
                municipality=p.home.name,
                min_hours=p.hours,
                origins=visible,
            )
            filtered = [s for s in labelled.openings if passes_hard_filters(p, s)]
            scores["ours"].recall.append(scoring.recall_at_k(ours, wanted, K))
            scores["ours_no_contract"].recall.append(scoring.recall_at_k(ours, loose, K))
            scores["plain"].recall.append(scoring.recall_at_k(plain, wanted, K))
            scores["plain_place"].recall.append(
                scoring.recall_at_k([s.id for s in place.items], wanted, K)
            )
            scores["recency"].recall.append(scoring.recall_at_k(newest_first(filtered), wanted, K))
            ceiling.append(min(K, len(wanted)) / len(wanted))
            sizes.append(len(wanted))
            slots.update(_slot(labelled, p, opening_id, wanted) for opening_id in ours)
            found.update((_coded(by_id[w]), w in ours) for w in wanted)
    figures = _summary(scores, ceiling, sizes, slots, len(labelled.profiles))
    figures["relevant_found_in_top10"] = {
        kind: round(found[kind, True] / (found[kind, True] + found[kind, False]), 4)
        for kind in ("with ISCO-08 code", "without code")
    }
    return figures


def _coded(opening: synthetic.Summary) -> str:
    coded = isinstance(opening, VacancySummary) and opening.occupation.isco08 is not None
    return "with ISCO-08 code" if coded else "without code"


def _slot(labelled: LabelledSet, p: Profile, opening_id: str, wanted: set[str]) -> str:
    """What one of our top-10 places holds: relevant, one of this client's near misses, a
    baanopening (never relevant to these clients) or another vacancy."""
    if opening_id in wanted:
        return "relevant"
    client, kind = labelled.planted.get(opening_id, (-1, "background"))
    if client == p.number:
        return f"near miss: {kind}"
    return "baanopening" if opening_id.startswith("b-") else "other vacancy"


def _summary(
    scores: dict[str, Scores],
    ceiling: list[float],
    sizes: list[int],
    slots: Counter[str],
    clients: int,
) -> dict[str, Any]:
    means = {name: s.mean() for name, s in scores.items()}
    return {
        "recall_at_10": means,
        "ratio_ours_over_recency": round(means["ours"] / means["recency"], 2)
        if means["recency"]
        else None,
        "ratio_ours_over_plain_place": round(means["ours"] / means["plain_place"], 2)
        if means["plain_place"]
        else None,
        "ceiling_recall_at_10": round(statistics.fmean(ceiling), 4),
        "relevant_per_client": {
            "mean": round(statistics.fmean(sizes), 2),
            "min": min(sizes),
            "max": max(sizes),
        },
        "top10_slots_per_client": {
            kind: round(count / clients, 2) for kind, count in sorted(slots.items())
        },
    }


# --- reporting -------------------------------------------------------------------------

LABELS = {
    "ours": "ours: openings_for_client",
    "ours_no_contract": "ours, labels without the contract rule",
    "recency": "(c) hard filters, newest first",
    "plain_place": "(b) plain list, municipality + hours",
    "plain": "(a) plain list as it opens",
}


def report(payload: dict[str, Any], console: Console) -> None:
    table = Table(title=payload["title"])
    table.add_column("ranking")
    table.add_column("mean recall@10", justify="right")
    for key, label in LABELS.items():
        table.add_row(label, f"{payload['recall_at_10'][key]:.3f}")
    console.print(table)
    console.print(
        f"ratio ours / (c): [bold]{payload['ratio_ours_over_recency']}×[/]; ceiling "
        f"{payload['ceiling_recall_at_10']:.3f} (relevant per client: "
        f"{payload['relevant_per_client']})"
    )
    console.print(f"our top 10, per client: {payload['top10_slots_per_client']}")
    console.print(f"relevant openings found in our top 10: {payload['relevant_found_in_top10']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recall_eval", description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--background", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=synthetic.CACHE,
        help="where the database is built and kept (default: bench/.cache/)",
    )
    common.add_results_option(parser)
    args = parser.parse_args(argv)
    labelled = labelled_set(clients=args.clients, background=args.background, seed=args.seed)
    path = database(
        labelled,
        clients=args.clients,
        background=args.background,
        seed=args.seed,
        cache=args.cache_dir,
    )
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        figures = evaluate(labelled, engine, args.seed)
    finally:
        engine.dispose()
    options = {"clients": args.clients, "background": args.background, "seed": args.seed}
    payload = {
        "title": (
            f"recall@10: {args.clients} clients, {len(labelled.openings):,} openings "
            f"({args.background:,} background)"
        ),
        "command": common.command("bench.recall_eval", options),
        "params": {**options, "openings": len(labelled.openings), "k": K},
        **figures,
    }
    written = common.write_results("recall", payload, args.results_dir)
    console = Console()
    report(payload, console)
    console.print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
