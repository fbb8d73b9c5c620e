"""How well one opening fits what a client (or a consultant's search) looks for. Pure.

:func:`score` compares a :class:`Sought` with an :class:`Offered` and returns a
:class:`Match` (0-100, with reasons in Dutch for the consultant) or ``None`` when a hard
filter rules the pair out. The rules and their weights are described, with examples, in
``docs/matching.md`` ("Scoring"); keep the two in step.

The roles are fixed: ``Sought`` is the job-seeker's side (a client's profile, or a search
form filled in on a client's behalf), ``Offered`` is an opening (a vacancy or baanopening,
ours or a peer's). The same function serves both questions: to rank openings for a client,
score one ``Sought`` against many ``Offered``; to rank clients for a vacancy (candidate
queries), score each client's ``Sought`` against the one ``Offered``.

Nothing here reads the clock, a database or the network: dates come in as arguments, the
full-text rank comes in already normalised (:attr:`Offered.text_rank`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Literal, NamedTuple

from topmatch.geography.places import PlaceInfo, distance_km
from topmatch.matching import occupations
from topmatch.matching.text import stems, term, words

#: The radius over which the distance score falls to zero when the seeker states no maximum.
DEFAULT_RADIUS_KM = 50.0
#: How far past the seeker's travel limit an opening is still shown: the larger of a share of
#: the limit and a few km. Past the limit the distance share keeps falling and a penalty grows.
DISTANCE_TOLERANCE_SHARE = 0.2
DISTANCE_TOLERANCE_MIN_KM = 5.0
#: The most points an opening loses for lying past the limit (at the edge of the tolerance).
DISTANCE_PENALTY_MAX = 8.0
#: Points lost per hour between the seeker's hours and the opening's, and at most.
HOURS_PENALTY_PER_HOUR = 3.0
HOURS_PENALTY_MAX = 30.0
#: Points lost per education level the opening asks beyond one above the seeker's.
EDUCATION_PENALTY_PER_LEVEL = 8.0
#: Points lost when the opening requires a driving licence the seeker does not hold.
LICENCE_PENALTY = 15.0
#: Points lost per CEFR step the seeker's Dutch is below the level an opening asks.
DUTCH_PENALTY_PER_STEP = 6.0
#: The CEFR levels, lowest first.
CEFR = ("A1", "A2", "B1", "B2", "C1", "C2")
#: Points added to an opening for the doelgroepregister when the seeker is in the register.
REGISTER_LIFT = 15.0
#: Points taken off per (started) week that the seeker is available after the start date.
LATE_START_POINTS_PER_WEEK = 1.0
#: The most points a late availability can cost.
LATE_START_MAX_POINTS = 10.0
#: The share of a component's weight given when one side does not state the fact compared.
UNKNOWN = 0.5

# The share of the occupation weight per shared ISCO-08 prefix length: unit group (4
# digits), minor group (3), sub-major group (2). Word overlap is worth at most WORDS_SHARE.
_ISCO_SHARE = {4: 1.0, 3: 2 / 3, 2: 1 / 3}
_ISCO_GROUP = {4: "zelfde beroep", 3: "verwant beroep"}
WORDS_SHARE = 0.5


class ReasonKind(StrEnum):
    occupation = "occupation"
    skills = "skills"
    distance = "distance"
    hours = "hours"
    education = "education"
    text = "text"
    start = "start"
    register = "register"
    licence = "licence"
    language = "language"


@dataclass(frozen=True, slots=True)
class Sought:
    """What the job-seeker's side looks for: built from a client or from a search form.

    Empty or ``None`` means "not stated"; ``docs/matching.md`` says what each rule then does.

    - ``isco08``: wanted ISCO-08 unit groups (4 digits).
    - ``occupation_words``: stems of the wanted occupation labels
      (:func:`topmatch.matching.text.stems`); used when the codes do not match.
    - ``skills``: the skills held, one entry per skill as
      :func:`topmatch.matching.text.term` gives it ("heftruck rijd"); single stems work
      too, each then counts as a skill of its own.
    - ``nlqf``: the seeker's education level.
    - ``hours_min``/``hours_max``: the hours per week wanted; one bound alone is open-ended.
    - ``contract_types``: acceptable contract types; empty means any.
    - ``origin``/``max_km``: (lat, lon) of home or of the search place, and the farthest an
      opening may be.
    - ``available_from``: the first day the seeker can start.
    - ``driving_licences``: categories held ("B", "CE"); each counts as a skill when an
      opening names it in a skill label ("Rijbewijs C").
    - ``licences_stated``: ``driving_licences`` is the whole list (a client's record), so a
      licence an opening requires and the list lacks is a gap. ``False`` for a search form.
    - ``dutch_level``: the seeker's Dutch (CEFR, "A2"); ``None`` when not known.
    - ``register``: in the doelgroepregister; ``None`` when not known (a search form). Only
      then may openings for the register be shown, and they are lifted.
    - ``nlqf`` may be 0: below NLQF 1 (geen, basisonderwijs, praktijkonderwijs), see
      :data:`topmatch.vocabulary.EDUCATION_SCALE`.
    """

    isco08: tuple[str, ...] = ()
    occupation_words: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    nlqf: int | None = None
    hours_min: int | None = None
    hours_max: int | None = None
    contract_types: frozenset[str] = frozenset()
    origin: tuple[float, float] | None = None
    max_km: float | None = None
    #: ``max_km`` is a search radius, a hard edge, not a client's travel limit
    radius: bool = False
    available_from: date | None = None
    driving_licences: frozenset[str] = frozenset()
    licences_stated: bool = False
    dutch_level: str | None = None
    register: bool | None = None

    def __post_init__(self) -> None:
        _check_hours(self.hours_min, self.hours_max)


@dataclass(frozen=True, slots=True)
class Offered:
    """An opening: what it offers and what it asks.

    - ``isco08``: its ISCO-08 unit group, if known.
    - ``occupation_words``: stems of its occupation label and title.
    - ``skills_required``/``skills_nice``: best given as the labels as written
      ("Orderpicken", "Rijbewijs C"): a label matches a sought skill when its words or
      their stems hold all the sought skill's stems, and the reasons quote the labels.
      Stems work too (an entry's words are compared as they are), but then the reasons
      show stems.
    - ``nlqf``: the level required.
    - ``hours_min``/``hours_max``: hours per week.
    - ``contract_type``: ``None`` when not stated.
    - ``location``/``place_name``: (lat, lon) and the place, for the reason text.
    - ``start_date``: the first working day, if set.
    - ``text_rank``: 0..1 from the full-text engine, already normalised.
    - ``register_only``: only for clients in the doelgroepregister (every baanopening).
    """

    isco08: str | None
    occupation_words: tuple[str, ...]
    skills_required: tuple[str, ...]
    skills_nice: tuple[str, ...]
    nlqf: int | None
    hours_min: int
    hours_max: int
    contract_type: str | None
    location: tuple[float, float] | None
    place_name: str
    start_date: date | None
    text_rank: float = 0.0
    register_only: bool = False

    def __post_init__(self) -> None:
        _check_hours(self.hours_min, self.hours_max)
        if not 0.0 <= self.text_rank <= 1.0:
            raise ValueError(f"text_rank must be within 0..1, got {self.text_rank}")


@dataclass(frozen=True, slots=True)
class Weights:
    """The points each component can give. The defaults sum to 100, so a weight reads as
    points; other weights are scaled so that a perfect fit still scores 100."""

    occupation: float = 30.0
    skills: float = 25.0
    distance: float = 15.0
    hours: float = 10.0
    education: float = 10.0
    text: float = 10.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value: float = getattr(self, field.name)
            if not 0 <= value < math.inf:
                raise ValueError(f"weight {field.name} must be finite and >= 0, got {value}")
        if self.total <= 0:
            raise ValueError(f"weights must sum to more than 0, got {self.total}")

    @property
    def total(self) -> float:
        """The sum of all weights (100 for the defaults)."""
        return float(sum(getattr(self, field.name) for field in fields(self)))


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a score, in Dutch for consultants: "zelfde beroep (ISCO 9321)"."""

    kind: ReasonKind
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """A score from 0 to 100 (one decimal) and its reasons: what fits, largest contribution
    first, then what does not fit (each gap, with the points it costs, and a late start).
    ``gaps`` counts the reasons that name a mismatch."""

    score: float
    reasons: tuple[Reason, ...]
    gaps: int = 0
    #: requirements the seeker does not meet (a licence, an education or Dutch level, the
    #: doelgroepregister): a list puts every opening with one after those without
    unmet: int = 0


class _Fit(NamedTuple):
    share: float  # 0..1 of the component's weight
    text: str


def score(sought: Sought, offered: Offered, *, weights: Weights = Weights()) -> Match | None:
    """How well ``offered`` fits ``sought``, or ``None`` if a hard filter rules it out.

    Hard filters: a contract type that is not wanted; an opening for the doelgroepregister
    when the seeker is known not to be in it; a distance past ``max_km`` plus its tolerance
    (:func:`tolerance_km`). Everything else that does not fit (hours apart, a few km past
    the limit, a level too high, a licence not held) costs points and is named in the
    reasons. See ``docs/matching.md`` for each component, penalty and weight.
    """
    km = _km(sought.origin, offered.location)
    if _excluded(sought, offered, km):
        return None
    components = [
        (weights.occupation, ReasonKind.occupation, _occupation(sought, offered)),
        (weights.skills, ReasonKind.skills, _skills(sought, offered)),
        (weights.distance, ReasonKind.distance, _distance(km, sought.max_km, offered.place_name)),
        (weights.hours, ReasonKind.hours, _hours(sought, offered)),
        (weights.education, ReasonKind.education, _education(sought.nlqf, offered.nlqf)),
        (weights.text, ReasonKind.text, _text(offered.text_rank)),
    ]
    total = weights.total
    scored = [(w / total * 100 * fit.share, Reason(kind, fit.text)) for w, kind, fit in components]
    scored = sorted((c for c in scored if c[0] > 0), key=lambda c: -c[0])  # stable on ties
    lift = _register_lift(sought, offered)
    if lift is not None:
        scored.append((lift.share, Reason(ReasonKind.register, lift.text)))
    gaps = _gaps(sought, offered, km)
    points = sum(p for p, _ in scored) - sum(p for p, _ in gaps)
    reasons = tuple(r for _, r in scored) + tuple(r for _, r in gaps)
    unmet = sum(1 for _, reason in gaps if reason.kind in REQUIREMENTS)
    return Match(round(min(100.0, max(0.0, points)), 1), reasons, gaps=len(gaps), unmet=unmet)


#: the gaps that are requirements of the opening, not preferences of the seeker
REQUIREMENTS = frozenset(
    {ReasonKind.education, ReasonKind.licence, ReasonKind.language, ReasonKind.register}
)


def tolerance_km(limit: float) -> float:
    """How far past a travel limit an opening is still shown (with a penalty): 20 % of the
    limit, at least 5 km. 15 km gives 5 km, 40 km gives 8 km."""
    return max(limit * DISTANCE_TOLERANCE_SHARE, DISTANCE_TOLERANCE_MIN_KM)


def reach_km(sought: Sought) -> float | None:
    """The farthest an opening may be and still be shown: a client's travel limit plus
    its tolerance; a search radius exactly (the consultant drew that circle)."""
    if sought.max_km is None:
        return None
    if sought.radius:
        return sought.max_km
    return sought.max_km + tolerance_km(sought.max_km)


def explain(match: Match) -> str:
    """The reasons of ``match`` as one line: "zelfde beroep (ISCO 9321); 12 km van Waalwijk"."""
    return "; ".join(reason.text for reason in match.reasons)


# --- Hard filters ----------------------------------------------------------------------


def _excluded(sought: Sought, offered: Offered, km: float | None) -> bool:
    limit = sought.max_km
    return (
        _unwanted_contract(sought.contract_types, offered.contract_type)
        or (offered.register_only and sought.register is False)
        or (km is not None and limit is not None and km > (reach_km(sought) or limit))
    )


# --- Gaps: what does not fit, each with the points it costs ----------------------------


def _gaps(sought: Sought, offered: Offered, km: float | None) -> list[tuple[float, Reason]]:
    """Every mismatch, in Dutch, with its penalty in points (0 for a fact that is only
    missing, such as a travel limit never asked). A late start comes last."""
    found = [
        (ReasonKind.distance, _distance_gap(km, sought.max_km)),
        (ReasonKind.hours, _hours_gap(sought, offered)),
        (ReasonKind.education, _education_gap(sought.nlqf, offered.nlqf)),
        (ReasonKind.licence, _licence_gap(sought, offered)),
        (ReasonKind.language, _dutch_gap(sought.dutch_level, offered.skills_required)),
        (ReasonKind.register, _register_gap(sought, offered)),
        (ReasonKind.start, _late_start(sought.available_from, offered.start_date)),
    ]
    return [(fit.share, Reason(kind, fit.text)) for kind, fit in found if fit is not None]


def _distance_gap(km: float | None, limit: float | None) -> _Fit | None:
    if km is None:
        return None  # "afstand onbekend" already says it
    if limit is None:
        return _Fit(0.0, "reisafstand niet opgegeven")
    if km <= limit:
        return None
    over = km - limit
    points = DISTANCE_PENALTY_MAX * min(1.0, over / tolerance_km(limit))
    return _Fit(points, f"{max(1, round(over))} km verder dan de grens")


def _hours_gap(sought: Sought, offered: Offered) -> _Fit | None:
    wanted = _sought_hours(sought)
    if wanted is None:
        return None
    apart = -_hours_overlap(sought, offered)
    if apart <= 0:
        return None
    points = min(HOURS_PENALTY_MAX, apart * HOURS_PENALTY_PER_HOUR)
    offered_range = _range_text(offered.hours_min, offered.hours_max)
    return _Fit(points, f"{offered_range} uur, cliënt wil {_wish_text(*wanted)}")


def _education_gap(held: int | None, required: int | None) -> _Fit | None:
    if held is None or required is None or required <= held + 1:
        return None
    points = EDUCATION_PENALTY_PER_LEVEL * (required - held - 1)
    return _Fit(points, f"opleidingsniveau te laag ({_level_text(held)}, gevraagd NLQF {required})")


def _licence_gap(sought: Sought, offered: Offered) -> _Fit | None:
    """A licence category the opening requires (a required skill "Rijbewijs C") that the
    seeker's full list of licences lacks (a skill "rijbewijs c" counts as held)."""
    if not sought.licences_stated:
        return None
    held = sought.driving_licences | set(required_licences(sought.skills))
    missing = [c for c in required_licences(offered.skills_required) if c not in held]
    if not missing:
        return None
    return _Fit(LICENCE_PENALTY, f"rijbewijs {'/'.join(missing)} gevraagd")


def _dutch_gap(held: str | None, required_labels: Sequence[str]) -> _Fit | None:
    """The Dutch level an opening asks (a required skill "Nederlands B1") above the seeker's:
    6 points per CEFR step. Unknown on either side: no gap."""
    asked = required_dutch(tuple(required_labels))
    if held not in CEFR or asked is None:
        return None
    steps = CEFR.index(asked) - CEFR.index(held)
    if steps <= 0:
        return None
    return _Fit(DUTCH_PENALTY_PER_STEP * steps, f"Nederlands {asked} gevraagd")


_DUTCH = re.compile(r"^nederlands\s+(?:niveau\s+)?([abc][12])$")


@functools.lru_cache(maxsize=65_536)
def required_dutch(labels: tuple[str, ...]) -> str | None:
    """The highest CEFR level of Dutch that required skill labels name ("Nederlands B1")."""
    found = (_DUTCH.match(" ".join(label.lower().split())) for label in labels)
    levels = [m.group(1).upper() for m in found if m is not None]
    return max(levels, key=CEFR.index, default=None)


def _register_gap(sought: Sought, offered: Offered) -> _Fit | None:
    if offered.register_only and sought.register is None:
        return _Fit(0.0, "alleen doelgroepregister")
    return None


def _register_lift(sought: Sought, offered: Offered) -> _Fit | None:
    if offered.register_only and sought.register:
        return _Fit(REGISTER_LIFT, "voor het doelgroepregister")
    return None


_LICENCE = re.compile(r"^rijbewijs\s+([a-z]{1,2}\d?[a-z]?)$")


@functools.lru_cache(maxsize=65_536)
def required_licences(labels: tuple[str, ...]) -> tuple[str, ...]:
    """The driving-licence categories named by required skill labels: "Rijbewijs C" -> "C"."""
    found = (_LICENCE.match(" ".join(label.lower().split())) for label in labels)
    return tuple(m.group(1).upper() for m in found if m is not None)


def _unwanted_contract(wanted: frozenset[str], offered: str | None) -> bool:
    return bool(wanted) and offered is not None and offered not in wanted


# --- Occupation ------------------------------------------------------------------------


def _occupation(sought: Sought, offered: Offered) -> _Fit:
    """The better of the ISCO-08 code match and half the occupation-word overlap."""
    by_code = _isco_fit(sought.isco08, offered.isco08)
    by_words = _words_fit(sought.occupation_words, offered.occupation_words)
    return by_code if by_code.share >= by_words.share else by_words


def _isco_fit(wanted: Sequence[str], offered: str | None) -> _Fit:
    """Same unit group, same minor group (3 digits), or related work by the explicit table
    of :func:`topmatch.matching.occupations.related` (a shared 2-digit group alone counts
    for nothing: a parcel driver's 8322 is not a truck driver's 8332)."""
    if offered is None:
        return _Fit(0.0, "")
    digits = max((_shared_prefix(code, offered) for code in wanted), default=0)
    if digits >= 3:  # noqa: PLR2004 - the minor group (3 digits) is the widest prefix credited
        return _Fit(_ISCO_SHARE[digits], f"{_ISCO_GROUP[digits]} (ISCO {offered[:digits]})")
    if any(occupations.related(code, offered) for code in wanted):
        return _Fit(_ISCO_SHARE[2], f"verwant werk (ISCO {offered})")
    return _Fit(0.0, "")


def _shared_prefix(a: str, b: str) -> int:
    """How many leading digits two 4-digit ISCO-08 codes share (0 to 4)."""
    return next((n for n in (4, 3, 2, 1) if a[:n] == b[:n] and len(a) >= n), 0)


def _words_fit(wanted: Sequence[str], offered: Sequence[str]) -> _Fit:
    """Half the share of the distinct sought occupation stems found among the offered."""
    needed = {stem for entry in wanted for stem in entry.split()}
    found = len(needed & {stem for entry in offered for stem in entry.split()})
    if found == 0:
        return _Fit(0.0, "")
    detail = "" if found == len(needed) else f" ({found} van {len(needed)} woorden)"
    return _Fit(found / len(needed) * WORDS_SHARE, f"beroepsnaam komt overeen{detail}")


# --- Skills ----------------------------------------------------------------------------


def _skills(sought: Sought, offered: Offered) -> _Fit:
    """The share of sought skills found, where a skill the opening requires counts double.

    Each sought skill weighs 2 when it is among the required skills, else 1; the share is
    the weight found over the weight sought. A held driving licence counts only when the
    opening names it, so it can add to the share but never dilute it, and only alongside a
    skill of the seeker's own that was found: a licence alone is a requirement met (or a
    gap, :func:`_licence_gap`), not a sign that the work fits.
    """
    required = [(label, _label_stems(label)) for label in offered.skills_required]
    nice = [(label, _label_stems(label)) for label in offered.skills_nice]
    wanted = [frozenset(t.split()) for t in dict.fromkeys(sought.skills) if t.split()]
    licences = [frozenset(t.split()) for t in _licence_terms(sought)]
    matched: dict[str, None] = {}
    found = total = 0
    for needed, optional in [(n, False) for n in wanted] + [(n, True) for n in licences]:
        label, weight = _find(needed, required, nice)
        if label is None and optional:
            continue
        if optional and found == 0:
            break  # no skill of the seeker's own was found: licences add nothing
        total += weight
        if label is not None:
            found += weight
            matched[label] = None
    if found == 0:
        return _Fit(0.0, "")
    return _Fit(found / total, f"vaardigheden: {', '.join(matched)}")


@functools.lru_cache(maxsize=65_536)
def _label_stems(label: str) -> frozenset[str]:
    """The stems of a label and its words as they are: a label that is already a stem
    must not be stemmed again (stemming is not idempotent: "gemeent" -> "meen")."""
    return frozenset(stems(label)) | frozenset(words(label))


def _licence_terms(sought: Sought) -> list[str]:
    """The term "rijbewijs c" for licence C, leaving out any the sought skills already name."""
    own = set(sought.skills)
    terms = (term(f"rijbewijs {code}") for code in sorted(sought.driving_licences))
    return [t for t in terms if t not in own]


def _find(
    needed: frozenset[str],
    required: list[tuple[str, frozenset[str]]],
    nice: list[tuple[str, frozenset[str]]],
) -> tuple[str | None, int]:
    """The first offered label containing all ``needed`` stems and the weight of the sought
    skill: 2 when a required label has it, else 1."""
    for label, have in required:
        if needed <= have:
            return label, 2
    for label, have in nice:
        if needed <= have:
            return label, 1
    return None, 1


# --- Distance --------------------------------------------------------------------------


def _km(origin: tuple[float, float] | None, location: tuple[float, float] | None) -> float | None:
    if origin is None or location is None:
        return None
    return distance_km(_point(origin), _point(location))


def _point(lat_lon: tuple[float, float]) -> PlaceInfo:
    return PlaceInfo(name="", municipality="", province="", lat=lat_lon[0], lon=lat_lon[1])


def _distance(km: float | None, limit: float | None, place_name: str) -> _Fit:
    """Full at 0 km, half at ``limit``, nothing at the edge of its tolerance; without a
    limit, falling linearly from full to nothing at 50 km."""
    if km is None:
        return _Fit(UNKNOWN, "afstand onbekend")
    if limit is None:
        share = max(0.0, 1.0 - km / DEFAULT_RADIUS_KM)
    elif km <= limit:
        share = 1.0 - 0.5 * km / limit if limit > 0 else 1.0
    else:
        share = max(0.0, 0.5 * (1.0 - (km - limit) / tolerance_km(limit)))
    where = f" van {place_name}" if place_name else ""
    return _Fit(share, f"{round(km)} km{where}")


# --- Hours -----------------------------------------------------------------------------


def _sought_hours(sought: Sought) -> tuple[float, float] | None:
    if sought.hours_min is None and sought.hours_max is None:
        return None
    low = 0.0 if sought.hours_min is None else float(sought.hours_min)
    high = math.inf if sought.hours_max is None else float(sought.hours_max)
    return low, high


def _hours_overlap(sought: Sought, offered: Offered) -> float:
    """The length of the overlap of the two ranges; negative when they are apart."""
    low, high = _sought_hours(sought) or (0.0, math.inf)
    return min(high, offered.hours_max) - max(low, offered.hours_min)


def _hours(sought: Sought, offered: Offered) -> _Fit:
    """The whole hours both ranges share, as a share of the whole hours in the shorter
    range: full when one range lies within the other (24 within 24-32, say)."""
    wanted = _sought_hours(sought)
    if wanted is None:
        # the seeker named no hours; the opening always has its own
        return _Fit(UNKNOWN, "geen urenwens opgegeven")
    shorter = min(wanted[1] - wanted[0], offered.hours_max - offered.hours_min)
    # Hours are whole numbers: the range a-b holds b - a + 1 of them, a single figure one.
    share = max(0.0, (_hours_overlap(sought, offered) + 1) / (shorter + 1))
    fits = "passen bij" if share == 1 else "passen deels bij"
    offered_range = _range_text(offered.hours_min, offered.hours_max)
    return _Fit(share, f"uren {offered_range} {fits} {_wanted_text(*wanted)}")


def _range_text(low: float, high: float) -> str:
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def _wish_text(low: float, high: float) -> str:
    """The seeker's wish in a gap reason: "36", "36-40" (en dash), "hoogstens 16", "minstens 20"."""
    return _wanted_text(low, high).removesuffix(" uur")


def _wanted_text(low: float, high: float) -> str:
    if math.isinf(high):
        return f"minstens {low:g} uur"
    if low == 0 < high:
        return f"hoogstens {high:g} uur"
    return f"{_range_text(low, high)} uur"


# --- Education, text, start date -------------------------------------------------------


def _education(held: int | None, required: int | None) -> _Fit:
    """Full when the level asked is at or below the seeker's (0: below NLQF 1), half when
    one above; more than one above gives nothing here and a penalty (:func:`_education_gap`)."""
    if held is None or required is None:
        return _Fit(UNKNOWN, "opleidingsniveau onbekend")
    if required <= held:
        return _Fit(1.0, f"opleidingsniveau past (NLQF {required})")
    if required == held + 1:
        return _Fit(
            0.5, f"opleidingsniveau één onder de eis ({_level_text(held)}, gevraagd {required})"
        )
    return _Fit(0.0, "")


def _level_text(level: int) -> str:
    return f"NLQF {level}" if level > 0 else "geen NLQF-niveau"


def _text(rank: float) -> _Fit:
    return _Fit(rank, "tekst past bij de zoekvraag")


def _late_start(available: date | None, start: date | None) -> _Fit | None:
    """The points to deduct (as ``share``) when the seeker is available after the start."""
    if available is None or start is None or available <= start:
        return None
    weeks = math.ceil((available - start).days / 7)
    points = min(LATE_START_MAX_POINTS, weeks * LATE_START_POINTS_PER_WEEK)
    unit = "week" if weeks == 1 else "weken"
    return _Fit(points, f"pas {weeks} {unit} na de startdatum beschikbaar (−{points:g})")


def _check_hours(low: int | None, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(f"hours_min ({low}) is more than hours_max ({high})")


# --- Helpers for profiles and evaluation -----------------------------------------------

AgeBand = Literal["<18", "18-26", "27-35", "36-45", "46-55", "56+"]

#: Age bands for showing a client's age without the birth date: (lowest age, band).
AGE_BANDS: tuple[tuple[int, AgeBand], ...] = (
    (56, "56+"),
    (46, "46-55"),
    (36, "36-45"),
    (27, "27-35"),
    (18, "18-26"),
    (0, "<18"),
)


def age_band(born: date, today: date) -> AgeBand:
    """The age band of someone born on ``born``, on ``today``: "<18", "18-26", "27-35",
    "36-45", "46-55" or "56+". Raises ``ValueError`` if ``born`` is after ``today``."""
    if born > today:
        raise ValueError(f"born {born.isoformat()} is after today {today.isoformat()}")
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return next(label for lowest, label in AGE_BANDS if age >= lowest)


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """The share of ``relevant`` ids among the first ``k`` of ``ranked`` (0..1).

    Raises ``ValueError`` when ``relevant`` is empty (recall is undefined: leave such
    queries out of an average) or ``k`` is less than 1.
    """
    if not relevant:
        raise ValueError("recall is undefined without relevant items")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return len(relevant.intersection(ranked[:k])) / len(relevant)
