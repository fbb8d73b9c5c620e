"""Ranked search over every bureau's openings, and openings for one of our clients.

Two stages. Retrieval narrows the replica in SQL: type, contract type, hours, a bounding
box around the place, and the full-text index when there are words to search (SQLite
FTS5 over Snowball stems; PostgreSQL ``tsvector`` with the Dutch configuration), keeping
at most :data:`CANDIDATES` rows. Ranking scores those few in Python with
:func:`topmatch.matching.scoring.score`, which also explains each match in Dutch.

Everything happens on our own node, on our own replica: no request to any peer is made,
and nothing about a client leaves the node.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Float,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    table,
    text,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from topmatch.cardbox.models import Client
from topmatch.cardbox.schemas import ClientPublic
from topmatch.errors import InputError
from topmatch.federation.models import ReplicaSummary
from topmatch.geography import places
from topmatch.matching import occupations, query, scoring
from topmatch.matching import text as mtext
from topmatch.publishing.schemas import BaanopeningSummary, VacancySummary
from topmatch.vocabulary import EDUCATION_SCALE, EducationLevel

CANDIDATES = 200
#: Below this score an opening is not padded into a client's list (docs/matching.md).
MIN_CLIENT_SCORE = 15.0
_FTS = table("matching_fts", column("rowid"))
KM_PER_DEGREE = 111.2
DEFAULT_RADIUS_KM = 25.0
#: Said above the results when no opening had every word of the query.
PARTIAL_WORDS = "Geen resultaten met alle woorden; resultaten met een deel van de woorden."


@dataclass(frozen=True)
class SearchRequest:
    """What a consultant asks for. Empty fields do not filter."""

    q: str | None = None
    place: str | None = None
    radius_km: float | None = None
    hours: int | None = None
    education: EducationLevel | None = None
    contract_types: frozenset[str] = frozenset()
    isco08: str | None = None
    skills: tuple[str, ...] = ()
    type: Literal["vacancy", "baanopening"] | None = None
    limit: int = 20
    available_from: date | None = None
    driving_licences: frozenset[str] = frozenset()
    occupation_labels: tuple[str, ...] = field(default_factory=tuple)
    origins: frozenset[str] | None = None  # whose openings may be shown; None: everyone's


Opening = Annotated[VacancySummary | BaanopeningSummary, Field(discriminator="type")]


class Hit(BaseModel):
    score: float
    explanation: str
    reasons: list[str]
    bureau: str = Field(description="The bureau that holds the opening (never the employer).")
    opening: Opening


class SearchResult(BaseModel):
    hits: list[Hit]
    candidates: int = Field(description="openings that passed retrieval and were scored")
    place: str | None = None
    short: str | None = Field(
        default=None,
        description="why a client's list is shorter than asked (Dutch), or null",
    )
    min_score: float = Field(default=0.0, description="nothing below this score is shown")
    fallback: str | None = Field(
        default=None,
        description="set (Dutch) when no opening had every word and some words were used",
    )
    left_out: int = Field(default=0, description="openings scored below min_score")


@dataclass(frozen=True)
class Seeker:
    """What ranking reads of one of our clients, whether it comes from the card-box row
    or the decrypted public view; the one place both become a :class:`scoring.Sought`."""

    wanted: tuple[tuple[str, str | None], ...]  # (label, ISCO-08 code or None)
    skills: tuple[str, ...]
    education_level: str | None
    hours_min: int | None
    hours_max: int | None
    municipality: str
    max_travel_km: float | None
    available_from: date | None
    driving_licences: frozenset[str]
    dutch_level: str | None
    register: bool

    @classmethod
    def of(cls, client: ClientPublic | Client) -> Seeker:
        """From a :class:`~topmatch.cardbox.schemas.ClientPublic` or a card-box row
        (whose desired occupations are plain dicts)."""
        wanted = tuple(
            (o["label"], o.get("isco08")) if isinstance(o, dict) else (o.label, o.isco08)
            for o in client.desired_occupations
        )
        return cls(
            wanted=wanted,
            skills=tuple(client.skills),
            education_level=client.education_level,
            hours_min=client.hours_min,
            hours_max=client.hours_max,
            municipality=client.municipality,
            max_travel_km=float(client.max_travel_km) if client.max_travel_km is not None else None,
            available_from=client.available_from,
            driving_licences=frozenset(client.driving_licences),
            dutch_level=client.dutch_level,
            register=bool(client.doelgroepregister),
        )

    def where(self) -> places.PlaceInfo | None:
        """The home municipality, or None when it is unknown (rank without distance)."""
        try:
            return places.place(self.municipality)
        except InputError:  # unknown or ambiguous: rank without distance
            return None

    def sought(self, where: places.PlaceInfo | None, *, for_peer: bool = False) -> scoring.Sought:
        """What this client looks for: the hours range, the travel limit (empty: "ask", no
        default radius), education on the one scale, every licence held, the Dutch level
        and the register. ``for_peer``: the score goes to another bureau, which must not
        read from it what the anonymised profile leaves out (register, Dutch level: it could
        ask twice, with and without a requirement, and compare)."""
        level = EducationLevel(self.education_level) if self.education_level else None
        return scoring.Sought(
            isco08=_wanted_codes(self.wanted),
            occupation_words=occupations.key_stems(*(label for label, _ in self.wanted)),
            skills=tuple(mtext.term(skill) for skill in self.skills),
            nlqf=EDUCATION_SCALE[level] if level else None,
            hours_min=self.hours_min,
            hours_max=self.hours_max,
            origin=(where.lat, where.lon) if where else None,
            max_km=self.max_travel_km,
            available_from=self.available_from,
            driving_licences=self.driving_licences,
            licences_stated=True,
            dutch_level=None if for_peer else self.dutch_level,
            register=None if for_peer else self.register,
        )


def _wanted_codes(wanted: Sequence[tuple[str, str | None]]) -> tuple[str, ...]:
    """The ISCO-08 unit groups of wanted occupations: the code recorded, else those the
    vocabulary recognises in the label ("Facilitair medewerker" -> 5153)."""
    found = ([code] if code else sorted(occupations.codes(label)) for label, code in wanted)
    return tuple(dict.fromkeys(code for codes in found for code in codes))


def _sought(request: SearchRequest, where: places.PlaceInfo | None) -> scoring.Sought:
    hours_min = hours_max = None
    if request.hours is not None:
        hours_min = hours_max = request.hours  # the hours a week the seeker wants
    nlqf = EDUCATION_SCALE[request.education] if request.education else None
    radius = request.radius_km if request.radius_km is not None else DEFAULT_RADIUS_KM
    return scoring.Sought(
        isco08=_wanted_codes(
            [("", request.isco08)]
            if request.isco08
            else [(label, None) for label in request.occupation_labels]
        ),
        occupation_words=occupations.key_stems(*request.occupation_labels),
        skills=tuple(mtext.term(skill) for skill in request.skills),
        nlqf=nlqf,
        hours_min=hours_min,
        hours_max=hours_max,
        contract_types=request.contract_types,
        origin=(where.lat, where.lon) if where else None,
        max_km=radius if where else None,
        radius=True,
        available_from=request.available_from,
        driving_licences=request.driving_licences,
    )


def _fts_expression(groups: Sequence[Sequence[str]], dialect: str, *, every: bool) -> str:
    """A full-text query: each group's words OR-ed (prefix matches), the groups AND-ed when
    ``every`` (all words required) and OR-ed otherwise. SQLite FTS5 gets stems (its index
    holds stems); PostgreSQL gets folded words (``to_tsquery('dutch', ...)`` stems them)."""
    parts = []
    for group in groups:
        terms = [t for t in dict.fromkeys(_fts_term(term, dialect) for term in group) if t]
        joined = " | ".join(terms) if dialect == "postgresql" else " OR ".join(terms)
        parts.append(f"({joined})" if terms else "")
    parts = [part for part in parts if part]
    joint = (
        (" & " if every else " | ") if dialect == "postgresql" else (" AND " if every else " OR ")
    )
    return joint.join(parts)


def _fts_term(term: str, dialect: str) -> str:
    """One word, or a name of several words as a phrase, its last word a prefix: SQLite
    FTS5 gets stems (its index holds stems), PostgreSQL folded words (``to_tsquery('dutch',
    ...)`` stems them)."""
    if dialect == "postgresql":
        words = _safe(term.split())
        return " <-> ".join(words) + ":*" if words else ""
    stems = _safe(mtext.stems(term))
    return '"' + " ".join(stems) + '"*' if stems else ""


def _safe(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in (re.sub(r"[^0-9a-z]", "", term) for term in terms) if t))


def _filters(request: SearchRequest, sought: scoring.Sought) -> list[ColumnElement[bool]]:
    """The SQL conditions that cheaply narrow the replica before ranking."""
    conditions: list[ColumnElement[bool]] = [col(ReplicaSummary.deleted).is_(False)]
    if request.origins is not None:
        conditions.append(col(ReplicaSummary.origin).in_(request.origins))
    if request.type:
        conditions.append(col(ReplicaSummary.type) == request.type)
    if request.contract_types:
        conditions.append(
            or_(
                col(ReplicaSummary.contract_type).is_(None),
                col(ReplicaSummary.contract_type).in_(request.contract_types),
            )
        )
    if sought.register is False:
        conditions.append(col(ReplicaSummary.type) != "baanopening")
    if sought.origin is not None and sought.max_km is not None:
        lat, lon = sought.origin
        reach = scoring.reach_km(sought) or sought.max_km
        dlat = reach / KM_PER_DEGREE
        dlon = reach / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
        conditions.append(col(ReplicaSummary.lat).between(lat - dlat, lat + dlat))
        conditions.append(col(ReplicaSummary.lon).between(lon - dlon, lon + dlon))
    return conditions


class _Row(NamedTuple):
    """The columns ranking reads: no body, no index text (they are large and not needed)."""

    origin: str
    summary_id: str
    type: str
    title: str
    isco08: str | None
    nlqf: int | None
    hours_min: int
    hours_max: int
    contract_type: str | None
    lat: float | None
    lon: float | None
    municipality: str
    start_date: date | None
    skills: list[str]
    updated_at: datetime
    label: str | None  # the occupation label of a vacancy (from the body)


_RANKING: tuple[Any, ...] = (
    ReplicaSummary.origin,
    ReplicaSummary.summary_id,
    ReplicaSummary.type,
    ReplicaSummary.title,
    ReplicaSummary.isco08,
    ReplicaSummary.nlqf,
    ReplicaSummary.hours_min,
    ReplicaSummary.hours_max,
    ReplicaSummary.contract_type,
    ReplicaSummary.lat,
    ReplicaSummary.lon,
    ReplicaSummary.municipality,
    ReplicaSummary.start_date,
    ReplicaSummary.skills,
    ReplicaSummary.updated_at,
    ReplicaSummary.body["occupation"]["label"].as_string(),
)


@functools.lru_cache(maxsize=65_536)
def _title_stems(title: str, label: str | None) -> tuple[str, ...]:
    """The key stems of an opening's title and occupation label (generic words dropped)."""
    return occupations.key_stems(title, label or "")


def unit_group(label: str) -> str | None:
    """The ISCO-08 unit group the vocabulary recognises in an occupation label, if any."""
    return _title_code("", label)


@functools.lru_cache(maxsize=65_536)
def _title_code(title: str, label: str | None) -> str | None:
    """The unit group the vocabulary recognises in an uncoded opening's label or title
    (the label first: it names the occupation; the title may name a shift or a place)."""
    found = occupations.codes(label or "") or occupations.codes(title)
    return min(found) if found else None


def _retrieve(
    session: Session, request: SearchRequest, sought: scoring.Sought
) -> tuple[list[tuple[_Row, float]], bool]:
    """At most CANDIDATES rows with their text rank (0..1), filtered in SQL, and whether
    the text search fell back to some of the words (none had them all)."""
    conditions = _filters(request, sought)
    groups = query.parse(request.q or "").groups
    if not groups:
        return _retrieve_by_occupation(session, conditions, sought), False
    rows = _text_rows(session, conditions, groups, every=True)
    if rows or len(groups) == 1:
        return rows, False
    return _text_rows(session, conditions, groups, every=False), True


def _text_rows(
    session: Session,
    conditions: list[ColumnElement[bool]],
    groups: Sequence[Sequence[str]],
    *,
    every: bool,
) -> list[tuple[_Row, float]]:
    """Up to CANDIDATES openings with the words (or the names the vocabulary gives them),
    best text rank first.

    Ranking every match costs time in proportion to the matches times the names searched:
    "magazijn" with its 40 names matches a fifth of a 100,000-opening federation. So when
    more than :data:`RANK_ALL` openings match, the words as typed are ranked (few names,
    the strongest signal) and the rest of the places are filled with openings that have
    only a name the vocabulary gives, newest first, each ranked as the weakest typed-word
    match: a synonym never outranks the word itself."""
    dialect = session.get_bind().dialect.name
    expression = _fts_expression(groups, dialect, every=every)
    if not expression:
        return []
    typed = _fts_expression([group[:1] for group in groups], dialect, every=every)
    if typed == expression or not _more_than(session, dialect, expression, RANK_ALL):
        return _ranked(session, dialect, conditions, expression, CANDIDATES)
    rows = _ranked(session, dialect, conditions, typed, CANDIDATES - SYNONYM_PLACES)
    floor = min((rank for _, rank in rows), default=0.0)
    others = _newest(
        session,
        dialect,
        conditions,
        only=_but_not(dialect, expression, typed),
        limit=CANDIDATES - len(rows),
    )
    return rows + [(row, floor) for row in others]


#: More matches than this are not all ranked (see :func:`_text_rows`).
RANK_ALL = 2_000
#: Places kept for openings found only by a name the vocabulary gives, when there are many.
SYNONYM_PLACES = CANDIDATES // 4


def _fts_match(dialect: str, expression: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The match condition and the text rank (higher is better) of ``expression``."""
    if dialect == "postgresql":
        tsquery = func.to_tsquery("dutch", expression)
        vector: ColumnElement[Any] = literal_column("federation_summary.search_vector")
        return vector.op("@@")(tsquery), func.ts_rank(vector, tsquery)
    # FTS5: bm25() is lower for better matches; negated so that higher is better.
    match = text("matching_fts MATCH :q").bindparams(bindparam("q", expression))
    return match, literal_column("-bm25(matching_fts)", Float)  # type: ignore[return-value]


def _from(statement: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return statement
    return statement.join(_FTS, _FTS.c.rowid == literal_column("federation_summary.rowid"))


def _more_than(session: Session, dialect: str, expression: str, count: int) -> bool:
    """Whether more than ``count`` openings match ``expression`` (tombstones included:
    this only decides how to rank). SQLite asks the full-text index alone."""
    match, _ = _fts_match(dialect, expression)
    if dialect == "postgresql":
        some: Any = sa_select(literal_column("1")).select_from(ReplicaSummary).where(match)
    else:
        some = sa_select(_FTS.c.rowid).where(match)
    found = session.execute(
        sa_select(func.count()).select_from(some.limit(count + 1).subquery())
    ).scalar_one()
    return bool(found > count)


def _ranked(
    session: Session,
    dialect: str,
    conditions: list[ColumnElement[bool]],
    expression: str,
    limit: int,
) -> list[tuple[_Row, float]]:
    match, rank = _fts_match(dialect, expression)
    statement = _from(sa_select(*_RANKING, rank), dialect).where(*conditions, match)
    rows = session.execute(statement.order_by(rank.desc()).limit(limit)).all()
    return _normalise_ranks([(_Row(*row[:-1]), float(row[-1] or 0.0)) for row in rows], True)


def _newest(
    session: Session, dialect: str, conditions: list[ColumnElement[bool]], *, only: str, limit: int
) -> list[_Row]:
    """Openings matching the full-text expression ``only``: on PostgreSQL the newest first,
    on SQLite in the index's own order, latest added first (no sort of every match)."""
    if limit <= 0:
        return []
    match, _ = _fts_match(dialect, only)
    statement = _from(sa_select(*_RANKING), dialect).where(*conditions, match)
    order = col(ReplicaSummary.updated_at).desc()
    if dialect != "postgresql":
        order = literal_column("matching_fts.rowid").desc()
    return [_Row(*row) for row in session.execute(statement.order_by(order).limit(limit)).all()]


def _but_not(dialect: str, expression: str, without: str) -> str:
    if dialect == "postgresql":
        return f"({expression}) & !({without})"
    return f"({expression}) NOT ({without})"


def _retrieve_by_occupation(
    session: Session, conditions: list[ColumnElement[bool]], sought: scoring.Sought
) -> list[tuple[_Row, float]]:
    """Without words to search: the sought occupation first (its own indexed query), then
    the rest, up to CANDIDATES in all. The rest comes newest first, or nearest first when
    there is a home but no travel limit (no place box narrows them: "ask", not a radius)."""
    order: list[ColumnElement[Any]] = [col(ReplicaSummary.updated_at).desc()]
    if sought.origin is not None and sought.max_km is None:
        order.insert(0, _nearness(sought.origin))
    rows: list[Any] = []
    if sought.isco08:
        same = col(ReplicaSummary.isco08).in_(sought.isco08)
        rows = _first(session, [*conditions, same], order, CANDIDATES)
        conditions = [*conditions, or_(col(ReplicaSummary.isco08).is_(None), ~same)]
    if len(rows) < CANDIDATES:
        rows += _first(session, conditions, order, CANDIDATES - len(rows))
    return [(_Row(*row), 0.0) for row in rows]


def _first(
    session: Session,
    conditions: list[ColumnElement[bool]],
    order: list[ColumnElement[Any]],
    limit: int,
) -> list[Any]:
    """The ranking columns of the first ``limit`` openings meeting ``conditions`` in
    ``order``.

    On SQLite the openings are chosen by their rowid on the ranking index alone (it covers
    every column the conditions and the orders read), and only the chosen ones are read
    from the table: asked in one statement, SQLite reads every row in the place box (the
    skills and the body's label are not in the index) to keep 200, about six times
    slower at 100,000 openings (``bench/search_compare.py``)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = sa_select(*_RANKING).where(*conditions)
        return list(session.execute(statement.order_by(*order).limit(limit)).all())
    rowid: ColumnElement[int] = literal_column("federation_summary.rowid")
    chosen = sa_select(rowid).where(*conditions).order_by(*order).limit(limit)
    statement = sa_select(*_RANKING).where(rowid.in_(chosen.scalar_subquery()))
    return list(session.execute(statement.order_by(*order)).all())


def _nearness(origin: tuple[float, float]) -> ColumnElement[Any]:
    """An ascending sort key for closeness to ``origin`` (squared degrees, the longitude
    scaled by its length at this latitude); openings without a place sort last."""
    lat, lon = origin
    scale = math.cos(math.radians(lat)) ** 2
    dlat = col(ReplicaSummary.lat) - lat
    dlon = col(ReplicaSummary.lon) - lon
    return func.coalesce(dlat * dlat + dlon * dlon * scale, 1e9).asc()


def _normalise_ranks(rows: list[tuple[_Row, float]], ranked: bool) -> list[tuple[_Row, float]]:
    """Text ranks (negated bm25 or ts_rank) scaled to 0..1 by the best one; by position
    when no rank is positive."""
    if not ranked or not rows:
        return [(row, 0.0) for row, _ in rows]
    best = max(rank for _, rank in rows)
    if best > 0:
        return [(row, rank / best) for row, rank in rows]
    count = len(rows)
    return [(row, 1.0 - i / count) for i, (row, _) in enumerate(rows)]


def _offered(row: _Row, text_rank: float) -> scoring.Offered:
    # every baanopening is for the doelgroepregister (Wet banenafspraak)
    return scoring.Offered(
        isco08=row.isco08 or _title_code(row.title, row.label),
        occupation_words=_title_stems(row.title, row.label),
        skills_required=tuple(row.skills),
        skills_nice=(),
        nlqf=row.nlqf,
        hours_min=row.hours_min,
        hours_max=row.hours_max,
        contract_type=row.contract_type,
        location=(row.lat, row.lon) if row.lat is not None and row.lon is not None else None,
        place_name=row.municipality,
        start_date=row.start_date,
        text_rank=text_rank,
        register_only=row.type == "baanopening",
    )


def offered_of(full: ReplicaSummary) -> scoring.Offered:
    """What one replica row offers, read as ranking reads it (no text rank)."""
    occupation = full.body.get("occupation") or {}
    row = _Row._make(
        [*(getattr(full, name) for name in _Row._fields[:-1]), occupation.get("label")]
    )
    return _offered(row, 0.0)


def opening_of(full: ReplicaSummary) -> VacancySummary | BaanopeningSummary:
    """The published summary a replica row holds."""
    return _opening(full.type, full.body)


def _opening(kind: str, body: dict[str, Any]) -> VacancySummary | BaanopeningSummary:
    """A stored body read back through its wire model: validated, and its free text
    scrubbed again by the privacy gate, as every wire model built is."""
    if kind == "vacancy":
        return VacancySummary.model_validate(body)
    return BaanopeningSummary.model_validate(body)


def _openings(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], VacancySummary | BaanopeningSummary]:
    """The published summaries of the replica rows ``keys`` (origin, summary id), read in
    one query of the type and body only (not one ORM load of the whole row per hit).

    The query asks for every origin and every id of ``keys`` (the primary key's index
    answers both lists; SQLite scans the table for a list of (origin, id) pairs) and
    keeps the pairs asked for."""
    wanted = set(keys)
    if not wanted:
        return {}
    origin, summary_id = col(ReplicaSummary.origin), col(ReplicaSummary.summary_id)
    statement = sa_select(
        origin, summary_id, col(ReplicaSummary.type), col(ReplicaSummary.body)
    ).where(
        origin.in_(sorted({o for o, _ in wanted})), summary_id.in_(sorted({s for _, s in wanted}))
    )
    rows = session.execute(statement).all()
    return {(o, s): _opening(kind, body) for o, s, kind, body in rows if (o, s) in wanted}


def rank(
    *,
    session: Session,
    request: SearchRequest,
    sought: scoring.Sought,
    bureau_names: Mapping[str, str],
    weights: scoring.Weights = scoring.Weights(),
    min_score: float = 0.0,
) -> SearchResult:
    """The retrieved openings scored for ``sought``, best first; those below ``min_score``
    are left out (and counted in :attr:`SearchResult.short` when the list is short)."""
    candidates, partial = _retrieve(session, request, sought)
    scored = []
    weak = 0
    for row, text_rank in candidates:
        match = scoring.score(sought, _offered(row, text_rank), weights=weights)
        if match is not None and match.score >= min_score:
            scored.append((match, row))
        elif match is not None:
            weak += 1
    scored.sort(
        key=lambda pair: (
            pair[0].unmet > 0,  # a requirement not met: after every opening without one
            -pair[0].score,
            -pair[1].updated_at.timestamp(),
            pair[1].summary_id,
        )
    )
    shown = scored[: request.limit]
    openings = _openings(session, [(row.origin, row.summary_id) for _, row in shown])
    hits = [
        Hit(
            score=match.score,
            explanation=scoring.explain(match),
            reasons=[r.text for r in match.reasons],
            bureau=bureau_names.get(row.origin, row.origin),
            opening=openings[row.origin, row.summary_id],  # read in this same transaction
        )
        for match, row in shown
    ]
    short = _short_reason(len(hits), request.limit, weak, min_score)
    return SearchResult(
        hits=hits,
        candidates=len(candidates),
        short=short,
        min_score=min_score,
        left_out=weak,
        fallback=PARTIAL_WORDS if partial and hits else None,
    )


def _short_reason(shown: int, limit: int, weak: int, min_score: float) -> str | None:
    """Why fewer than ``limit`` openings are shown, in Dutch: none is padded in below the
    minimum score, or there are no more within reach."""
    if shown >= limit or min_score <= 0:
        return None
    if weak == 0:
        return "Er zijn geen andere openingen binnen bereik (afstand, doelgroepregister)."
    fits = "Geen opening past" if shown == 0 else f"Alleen {shown} openingen passen"
    if shown == 1:
        fits = "Alleen 1 opening past"
    return (
        f"{fits} goed genoeg (score {min_score:g} of hoger); {weak} zwakkere "
        f"{'opening is' if weak == 1 else 'openingen zijn'} niet aangevuld."
    )


def search(
    *,
    session: Session,
    request: SearchRequest,
    bureau_names: Mapping[str, str],
    weights: scoring.Weights = scoring.Weights(),
) -> SearchResult:
    """Rank every bureau's openings for a consultant's search. A place and "NN uur" in the
    text become the place and hours (unless the form gives them); the other words must all
    occur, each as itself or a name the vocabulary gives it, with a fallback to some of the
    words (:attr:`SearchResult.fallback`) when no opening has them all."""
    request = _read_query(request)
    where = places.place(request.place) if request.place else None
    result = rank(
        session=session,
        request=request,
        sought=_sought(request, where),
        bureau_names=bureau_names,
        weights=weights,
    )
    return result.model_copy(update={"place": where.name if where else None})


def _read_query(request: SearchRequest) -> SearchRequest:
    """The request with the place, hours and occupation its text names (form fields win)."""
    if not request.q:
        return request
    read = query.parse(request.q)
    labels = request.occupation_labels
    if not labels and not request.isco08 and occupations.codes(read.text):
        labels = (read.text,)
    return replace(
        request,
        place=request.place or read.place,
        hours=request.hours if request.hours is not None else read.hours,
        type=request.type or read.type,
        occupation_labels=labels,
    )


class OccupationChoice(BaseModel):
    label: str = Field(description="the Dutch name")
    isco08: str = Field(description="its ISCO-08 unit group")


def occupation_choices() -> list[tuple[str, str]]:
    """(Dutch label, ISCO-08 unit group) of every occupation of the vocabulary, by label:
    what an occupation picker offers instead of a code field."""
    return occupations.labels()


def request_for_label(label: str) -> tuple[str | None, tuple[str, ...]]:
    """The unit group and the labels to search for an occupation picked by its Dutch label
    (an unknown label is searched by its words only)."""
    code = next((c for name, c in occupations.labels() if name == label), None)
    return code, (label,) if label else ()


def request_for_client(
    client: ClientPublic, *, limit: int = 20, origins: frozenset[str] | None = None
) -> SearchRequest:
    """The search a consultant would type for this client, from the private profile."""
    return SearchRequest(
        place=client.municipality,
        radius_km=float(client.max_travel_km) if client.max_travel_km is not None else None,
        hours=client.hours_min if client.hours_min == client.hours_max else None,
        education=client.education_level,
        isco08=next((o.isco08 for o in client.desired_occupations if o.isco08), None),
        occupation_labels=tuple(o.label for o in client.desired_occupations),
        skills=tuple(client.skills),
        available_from=client.available_from,
        driving_licences=frozenset(client.driving_licences),
        limit=limit,
        origins=origins,
    )


def openings_for_client(
    *,
    session: Session,
    client: ClientPublic,
    bureau_names: Mapping[str, str],
    limit: int = 20,
    weights: scoring.Weights = scoring.Weights(),
    origins: frozenset[str] | None = None,
) -> SearchResult:
    """Every bureau's openings ranked for one of our clients; computed on our node only.

    Openings scoring below :data:`MIN_CLIENT_SCORE` are not padded in; when the list is
    shorter than ``limit``, :attr:`SearchResult.short` says why."""
    request = request_for_client(client, limit=limit, origins=origins)
    seeker = Seeker.of(client)
    where = seeker.where()  # an unknown home municipality: rank without distance
    result = rank(
        session=session,
        request=request,
        sought=seeker.sought(where),
        bureau_names=bureau_names,
        weights=weights,
        min_score=MIN_CLIENT_SCORE,
    )
    return result.model_copy(update={"place": where.name if where else None})
