"""nDCG@10, precision@5 and coverage of matching and search on the hand-judged set.

    .venv/bin/python -m bench.matching_eval [--seekers 30 --queries 26 --seed 1]

The yardstick is ``bench/judged/set.json`` (see ``bench/judged/README.md``): 30 job seekers,
250 openings and 26 free-text searches, graded 0-3 by hand from a re-integration
consultant's point of view, independent of :mod:`bench.synthetic` and of the ranking rules.

The set is loaded into a fresh, migrated node database through the production path: each
opening is created in the card-box (:mod:`topmatch.cardbox.service`), published
(:func:`topmatch.publishing.service.refresh`, at its own posting time) and mirrored into the
replica (:func:`topmatch.federation.replication.mirror_own_feed`); each job seeker becomes a
card-box client. Facts today's records cannot hold (a client's hours range, Dutch level, an
opening's licence or register requirement) stay in the judged set and are left out of the
records; see :func:`client_create` and :func:`vacancy_create`.

Then, for each job seeker, :func:`topmatch.matching.service.openings_for_client` and for each
query :func:`topmatch.matching.service.search` are asked for every opening (``limit`` = the
size of the set), and compared in the same run with simple baselines:

- ``recency``: every opening, newest first;
- ``nearby_recency`` (job seekers only): openings within the seeker's travel limit (seat to
  seat; no limit: all), newest first, as the plain list with a place filter gives them;
- ``bm25``: text only, Okapi BM25 over title, occupation, description, tasks and place, for
  the query text or the seeker's desired occupations, skills and municipality;
- ``random``: every opening in a random order (``--seed``).

Metrics per job seeker or query, then averaged: nDCG@10 with gain 2^grade - 1 and the ideal
order of the judged grades; precision@5, the share of the first five that are good (grade >= 2);
and the share of good openings shown at all, in the first 50 and anywhere in the list.
Results: ``bench/results/matching_eval.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session, select

from bench import common
from topmatch import db
from topmatch.audit.service import Actor
from topmatch.cardbox import service as cardbox
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.schemas import (
    BaanopeningCreate,
    ClientCreate,
    ClientPublic,
    EmployerCreate,
    Occupation,
    VacancyCreate,
)
from topmatch.cardbox.validation import BenefitType, SizeClass
from topmatch.federation import replication
from topmatch.geography import places
from topmatch.matching import service as matching
from topmatch.publishing import service as publishing
from topmatch.publishing.models import PublishedRecord

SET = Path(__file__).resolve().parent / "judged" / "set.json"
K_NDCG = 10
K_PRECISION = 5
K_SHOWN = 50
GOOD = 2
NODE = "judged-node"
BUREAU = "Bureau Beoordeeld"
#: The moment the set is judged at; an opening's ``age_days`` is counted back from it.
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACTOR = Actor(name="bench:matching_eval")

Grades = dict[str, int]


# --- the judged set ----------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """The set as read from JSON: records as dicts, grades as opening id -> grade."""

    seekers: list[dict[str, Any]]
    openings: list[dict[str, Any]]
    queries: list[dict[str, Any]]

    def seeker_grades(self, seeker: Mapping[str, Any]) -> Grades:
        return {o: int(g[0]) for o, g in seeker["grades"].items()}

    def query_grades(self, query: Mapping[str, Any]) -> Grades:
        return {o: int(g[0]) for o, g in query["grades"].items()}


def read_set(path: Path = SET) -> Judged:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Judged(seekers=raw["job_seekers"], openings=raw["openings"], queries=raw["queries"])


def subset(judged: Judged, *, seekers: int, queries: int) -> Judged:
    """The first ``seekers`` and ``queries``, with only the openings they grade (for tests)."""
    kept_seekers, kept_queries = judged.seekers[:seekers], judged.queries[:queries]
    wanted = {o for item in (*kept_seekers, *kept_queries) for o in item["grades"]}
    openings = [o for o in judged.openings if o["id"] in wanted]
    return Judged(seekers=kept_seekers, openings=openings, queries=kept_queries)


# --- metrics (pure) ----------------------------------------------------------------------


def dcg(gains: Iterable[int]) -> float:
    """Discounted cumulative gain with gain 2^grade - 1 and discount log2(rank + 1)."""
    return sum((2.0**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """nDCG@k of ``ranked`` against ``grades`` (unlisted ids grade 0); needs a grade > 0."""
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    if ideal == 0:
        raise ValueError("no opening is graded above 0: nDCG is undefined")
    return dcg(grades.get(opening, 0) for opening in ranked[:k]) / ideal


def precision_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """The share of the first ``k`` places holding a good opening (grade >= 2); an empty
    place counts as not good."""
    return sum(1 for opening in ranked[:k] if grades.get(opening, 0) >= GOOD) / k


def shown_share(ranked: Sequence[str], grades: Mapping[str, int], k: int | None) -> float | None:
    """The share of good openings among the first ``k`` (``None``: the whole list); ``None``
    when nothing is good."""
    good = {opening for opening, grade in grades.items() if grade >= GOOD}
    if not good:
        return None
    shown = set(ranked if k is None else ranked[:k])
    return len(good & shown) / len(good)


@dataclass
class Figures:
    """Per-item metrics of one ranking, averaged by :meth:`summary`."""

    ndcg: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    shown_top: list[float] = field(default_factory=list)
    shown_all: list[float] = field(default_factory=list)

    def add(self, ranked: Sequence[str], grades: Mapping[str, int]) -> float:
        value = ndcg_at_k(ranked, grades, K_NDCG)
        self.ndcg.append(value)
        self.precision.append(precision_at_k(ranked, grades, K_PRECISION))
        for share, k in ((self.shown_top, K_SHOWN), (self.shown_all, None)):
            measured = shown_share(ranked, grades, k)
            if measured is not None:
                share.append(measured)
        return value

    def summary(self) -> dict[str, float | None]:
        def mean(values: list[float]) -> float | None:
            return round(statistics.fmean(values), 4) if values else None

        return {
            f"ndcg_at_{K_NDCG}": mean(self.ndcg),
            f"precision_at_{K_PRECISION}": mean(self.precision),
            f"good_shown_top_{K_SHOWN}": mean(self.shown_top),
            "good_shown_at_all": mean(self.shown_all),
        }


# --- loading through the production path --------------------------------------------------


def _bsn(number: int) -> str:
    """A BSN passing the 11-proof, made from ``number`` (fiction; never a real person's)."""
    base = f"{100_000_00 + number * 7919:08d}"[-8:]
    total = sum(int(d) * w for d, w in zip(base, range(9, 1, -1), strict=True))
    for last in range(10):
        if (total - last) % 11 == 0 and base[0] != "0":
            return base + str(last)
    return _bsn(number + 1000)


def client_create(seeker: Mapping[str, Any], number: int) -> ClientCreate:
    """The card-box record a consultant types: the hours as a range (``hours_min``/
    ``hours_max``; ``hours_recorded`` is the single figure of older records) and the level of
    Dutch (``dutch_level``, migration 0012)."""
    return ClientCreate(
        bsn=_bsn(number + 1),
        first_name="Werkzoekende",
        last_name=seeker["id"],
        date_of_birth=date(1985, 1, 1),
        postcode="1234 AB",
        municipality=seeker["municipality"],
        benefit_type=BenefitType.participatiewet,
        doelgroepregister=seeker["doelgroepregister"],
        education_level=seeker["education_level"],
        skills=seeker["skills"],
        desired_occupations=[Occupation(**o) for o in seeker["desired_occupations"]],
        hours_min=seeker["hours_min"],
        hours_max=seeker["hours_max"],
        max_travel_km=seeker["max_travel_km"],
        languages=seeker["languages"],
        dutch_level=seeker["dutch_level"],
        driving_licences=seeker["driving_licences"],
    )


def vacancy_create(opening: Mapping[str, Any], employer_id: str) -> VacancyCreate:
    """The vacancy as a bureau enters it. Of ``requires``, the licence and the Dutch level
    have fields (``driving_licences``, ``dutch_level``, migration 0012); the rest (other
    languages, certificate, register only) has none yet: it is in the description text, as
    bureaus write it."""
    requires = opening.get("requires") or {}
    licence = requires.get("licence")
    return VacancyCreate(
        employer_id=employer_id,
        title=opening["title"],
        occupation=Occupation(**opening["occupation"]),
        skills_required=opening["skills_required"],
        driving_licences=[licence] if licence else [],
        dutch_level=requires.get("dutch"),
        education_level=opening["education_level"],
        hours_min=opening["hours_min"],
        hours_max=opening["hours_max"],
        contract_type=opening["contract_type"],
        municipality=opening["municipality"],
        description=opening["description"],
        published=True,
    )


def baanopening_create(opening: Mapping[str, Any], employer_id: str) -> BaanopeningCreate:
    return BaanopeningCreate(
        employer_id=employer_id,
        title=opening["title"],
        tasks=opening["tasks"],
        sector=opening["sector"],
        hours_min=opening["hours_min"],
        hours_max=opening["hours_max"],
        municipality=opening["municipality"],
        suitable_profile=opening["suitable_profile"],
        published=True,
    )


def _employer(session: Session, opening: Mapping[str, Any], number: int, now: datetime) -> str:
    data = EmployerCreate(
        name=f"Werkgever {opening['id']}",
        kvk_number=f"{70_000_000 + number:08d}",
        sector=opening["sector"],
        municipality=opening["municipality"],
        size_class=SizeClass.klein,
    )
    return cardbox.create_employer(session=session, data=data, actor=ACTOR, now=now).id


def _publish_opening(
    session: Session, opening: Mapping[str, Any], number: int, publisher: publishing.Publisher
) -> str:
    """Create, then publish at the opening's own posting time; returns the summary id."""
    now = NOW - timedelta(days=opening["age_days"], minutes=number)
    employer_id = _employer(session, opening, number, now)
    if opening["type"] == "vacancy":
        data = vacancy_create(opening, employer_id)
        record_id = cardbox.create_vacancy(session=session, data=data, actor=ACTOR, now=now).id
        publishing.refresh(session=session, publisher=publisher, now=now, vacancy_ids=[record_id])
    else:
        made = baanopening_create(opening, employer_id)
        record_id = cardbox.create_baanopening(session=session, data=made, actor=ACTOR, now=now).id
        publishing.refresh(
            session=session, publisher=publisher, now=now, baanopening_ids=[record_id]
        )
    state = session.exec(
        select(PublishedRecord).where(PublishedRecord.record_id == record_id)
    ).one()
    return state.summary_id


@dataclass(frozen=True)
class Loaded:
    """What the node holds: judged opening id <-> summary id, and each seeker as a client."""

    summary_of: dict[str, str]
    clients: dict[str, ClientPublic]

    @property
    def judged_of(self) -> dict[str, str]:
        return {summary: judged for judged, summary in self.summary_of.items()}


def load(engine: Engine, judged: Judged) -> Loaded:
    """Put the set into ``engine``'s (migrated, empty) database the way a node fills it."""
    secret = bytes(range(32))
    publisher = publishing.Publisher(
        origin=NODE, secret=publishing.derive_publishing_secret(secret)
    )
    vault = BsnVault(secret)
    with db.transaction(engine) as session:
        summary_of = {
            o["id"]: _publish_opening(session, o, number, publisher)
            for number, o in enumerate(judged.openings)
        }
        replication.mirror_own_feed(session, origin=NODE, now=NOW)
        clients = {}
        for number, seeker in enumerate(judged.seekers):
            data = client_create(seeker, number)
            made = cardbox.create_client(
                session=session, vault=vault, data=data, actor=ACTOR, now=NOW
            )
            clients[seeker["id"]] = cardbox.client_public(made, vault)
    return Loaded(summary_of=summary_of, clients=clients)


# --- rankings ----------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


def opening_text(opening: Mapping[str, Any]) -> str:
    parts = [opening["title"], opening["municipality"], opening.get("description", "")]
    if opening["type"] == "vacancy":
        parts += [opening["occupation"]["label"], *opening["skills_required"]]
    else:
        parts += [*opening["tasks"], opening["suitable_profile"]]
    return " ".join(parts)


class Bm25:
    """Okapi BM25 (k1 = 1.2, b = 0.75) over the openings' text; only matching openings are
    returned, best first, ties by id."""

    def __init__(self, openings: Sequence[Mapping[str, Any]]) -> None:
        self.docs = {o["id"]: Counter(tokens(opening_text(o))) for o in openings}
        self.avg = statistics.fmean(sum(c.values()) for c in self.docs.values())
        frequency = Counter(word for c in self.docs.values() for word in c)
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}

    def rank(self, query: str) -> list[str]:
        words = set(tokens(query))
        scored = [(self._score(words, doc), opening) for opening, doc in self.docs.items()]
        return [o for s, o in sorted(scored, key=lambda x: (-x[0], x[1])) if s > 0]

    def _score(self, words: set[str], doc: Counter[str]) -> float:
        length = sum(doc.values())
        total = 0.0
        for word in words & doc.keys():
            tf = doc[word]
            total += self.idf[word] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self.avg))
        return total


@dataclass(frozen=True)
class Baselines:
    judged: Judged
    seed: int

    def newest_first(self) -> list[str]:
        return [
            o["id"] for o in sorted(self.judged.openings, key=lambda o: (o["age_days"], o["id"]))
        ]

    def nearby(self, seeker: Mapping[str, Any]) -> list[str]:
        limit = seeker["max_travel_km"]
        home = places.municipality(seeker["municipality"])
        by_id = {o["id"]: o for o in self.judged.openings}

        def near(opening_id: str) -> bool:
            where = places.municipality(by_id[opening_id]["municipality"])
            return limit is None or places.distance_km(home, where) <= limit

        return [o for o in self.newest_first() if near(o)]

    def shuffled(self, item: int) -> list[str]:
        ids = [o["id"] for o in self.judged.openings]
        # a baseline, not a secret: a seeded, repeatable order
        random.Random(self.seed * 1000 + item).shuffle(ids)  # noqa: S311
        return ids


def seeker_words(seeker: Mapping[str, Any]) -> str:
    labels = [o["label"] for o in seeker["desired_occupations"]]
    return " ".join([*labels, *seeker["skills"], seeker["municipality"]])


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Run:
    """Figures per ranking for one kind of item, and the per-item details of ours."""

    rankings: dict[str, Figures]
    items: list[dict[str, Any]] = field(default_factory=list)


def _details(
    item_id: str, ranked: Sequence[str], grades: Grades, value: float, reasons: Mapping[str, str]
) -> dict[str, Any]:
    good = sorted(o for o, g in grades.items() if g >= GOOD)
    return {
        "id": item_id,
        f"ndcg_at_{K_NDCG}": round(value, 4),
        "top5": [[o, grades.get(o, 0)] for o in ranked[:K_PRECISION]],
        "good_missing": [o for o in good if o not in ranked],
        "good_below_top_10": [o for o in good if o in ranked[K_NDCG:]],
        "top5_reasons": {o: reasons.get(o, "") for o in ranked[:K_PRECISION]},
        "shown": len(ranked),
    }


def _ours(
    result: matching.SearchResult, judged_of: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    ranked = [judged_of[hit.opening.id] for hit in result.hits]
    reasons = {judged_of[hit.opening.id]: hit.explanation for hit in result.hits}
    return ranked, reasons


def evaluate_seekers(
    session: Session, judged: Judged, loaded: Loaded, baselines: Baselines, bm25: Bm25
) -> Run:
    names = ("ours", "recency", "nearby_recency", "bm25", "random")
    run = Run(rankings={name: Figures() for name in names})
    everything = len(judged.openings)
    for number, seeker in enumerate(judged.seekers):
        grades = judged.seeker_grades(seeker)
        result = matching.openings_for_client(
            session=session,
            client=loaded.clients[seeker["id"]],
            bureau_names={NODE: BUREAU},
            limit=everything,
        )
        ranked, reasons = _ours(result, loaded.judged_of)
        value = run.rankings["ours"].add(ranked, grades)
        run.items.append(_details(seeker["id"], ranked, grades, value, reasons))
        run.rankings["recency"].add(baselines.newest_first(), grades)
        run.rankings["nearby_recency"].add(baselines.nearby(seeker), grades)
        run.rankings["bm25"].add(bm25.rank(seeker_words(seeker)), grades)
        run.rankings["random"].add(baselines.shuffled(number), grades)
    return run


def evaluate_queries(
    session: Session, judged: Judged, loaded: Loaded, baselines: Baselines, bm25: Bm25
) -> Run:
    names = ("ours", "recency", "bm25", "random")
    run = Run(rankings={name: Figures() for name in names})
    for number, query in enumerate(judged.queries):
        grades = judged.query_grades(query)
        request = matching.SearchRequest(q=query["q"], limit=len(judged.openings))
        result = matching.search(session=session, request=request, bureau_names={NODE: BUREAU})
        ranked, reasons = _ours(result, loaded.judged_of)
        value = run.rankings["ours"].add(ranked, grades)
        run.items.append(_details(query["id"], ranked, grades, value, reasons))
        run.rankings["recency"].add(baselines.newest_first(), grades)
        run.rankings["bm25"].add(bm25.rank(query["q"]), grades)
        run.rankings["random"].add(baselines.shuffled(1000 + number), grades)
    return run


def evaluate(engine: Engine, judged: Judged, *, seed: int) -> dict[str, Any]:
    """Load ``judged`` into ``engine``'s empty database and measure every ranking."""
    loaded = load(engine, judged)
    baselines = Baselines(judged=judged, seed=seed)
    bm25 = Bm25(judged.openings)
    with Session(engine) as session:
        seekers = evaluate_seekers(session, judged, loaded, baselines, bm25)
        queries = evaluate_queries(session, judged, loaded, baselines, bm25)
    return {
        "openings_for_client": {n: f.summary() for n, f in seekers.rankings.items()},
        "search": {n: f.summary() for n, f in queries.rankings.items()},
        "worst": {
            "openings_for_client": _worst(seekers.items),
            "search": _worst(queries.items),
        },
        "per_item": {"openings_for_client": seekers.items, "search": queries.items},
    }


def _worst(items: list[dict[str, Any]], count: int = 5) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (item[f"ndcg_at_{K_NDCG}"], item["id"]))[:count]


def fresh_engine(directory: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{directory / 'judged.sqlite'}")
    db.upgrade(engine)
    return engine


def measure(judged: Judged, *, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="topmatch-judged-") as directory:
        engine = fresh_engine(Path(directory))
        try:
            return evaluate(engine, judged, seed=seed)
        finally:
            engine.dispose()


# --- reporting -----------------------------------------------------------------------------


HEADINGS = {
    f"ndcg_at_{K_NDCG}": f"nDCG@{K_NDCG}",
    f"precision_at_{K_PRECISION}": f"P@{K_PRECISION}",
    f"good_shown_top_{K_SHOWN}": f"good in top {K_SHOWN}",
    "good_shown_at_all": "good shown",
}


def report(payload: dict[str, Any], console: Console) -> None:
    for kind in ("openings_for_client", "search"):
        table = Table(title=f"{kind}: {payload['params'][kind]} items")
        table.add_column("ranking")
        metrics = list(payload[kind]["ours"])
        for metric in metrics:
            table.add_column(HEADINGS.get(metric, metric), justify="right")
        for name, figures in payload[kind].items():
            table.add_row(name, *(_cell(figures[m]) for m in metrics))
        console.print(table)
        for item in payload["worst"][kind]:
            console.print(
                f"  worst {item['id']}: nDCG@10 {item[f'ndcg_at_{K_NDCG}']:.3f}, top 5 "
                f"{item['top5']}, good not shown {item['good_missing']}"
            )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(
    argv: Sequence[str] | None = None, write: Callable[..., Path] = common.write_results
) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching_eval", description=__doc__)
    parser.add_argument("--seekers", type=int, default=None, help="only the first N (default all)")
    parser.add_argument("--queries", type=int, default=None, help="only the first N (default all)")
    parser.add_argument("--seed", type=int, default=1, help="for the random baseline")
    args = parser.parse_args(argv)
    judged = read_set()
    if args.seekers is not None or args.queries is not None:
        judged = subset(
            judged,
            seekers=len(judged.seekers) if args.seekers is None else args.seekers,
            queries=len(judged.queries) if args.queries is None else args.queries,
        )
    figures = measure(judged, seed=args.seed)
    options = {k: v for k, v in vars(args).items() if v is not None}
    payload = {
        "title": "matching and search on the hand-judged set (bench/judged/set.json)",
        "command": common.command("bench.matching_eval", options),
        "params": {
            "openings_for_client": len(judged.seekers),
            "search": len(judged.queries),
            "openings": len(judged.openings),
            "k": {"ndcg": K_NDCG, "precision": K_PRECISION, "shown": K_SHOWN},
            "good": f"grade >= {GOOD}",
        },
        **figures,
    }
    written = write("matching_eval", payload)
    console = Console()
    report(payload, console)
    console.print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
