"""Scoring an opening against what a client looks for: known answers, filters, properties.

Most known-answer tests weigh one component only (:func:`only`), so the score is that
component's share times 100.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topmatch.geography.places import EARTH_RADIUS_KM
from topmatch.matching.scoring import (
    Match,
    Offered,
    Reason,
    ReasonKind,
    Sought,
    Weights,
    age_band,
    explain,
    recall_at_k,
    required_dutch,
    required_licences,
    score,
    tolerance_km,
)
from topmatch.matching.text import stems, term
from topmatch.vocabulary import EDUCATION_SCALE, EducationLevel

KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360
HOME = (51.6866, 5.0619)  # roughly Waalwijk
START = date(2025, 3, 3)


def north(km: float, of: tuple[float, float] = HOME) -> tuple[float, float]:
    """A point ``km`` due north of ``of`` (along a meridian, so distances are exact)."""
    return of[0] + km / KM_PER_DEGREE, of[1]


def opening(**changes: Any) -> Offered:
    """A warehouse opening in Waalwijk that fits :func:`client` on every component."""
    base = Offered(
        isco08="9321",
        occupation_words=tuple(stems("Magazijnmedewerker")),
        skills_required=("Orderpicken", "Heftruck rijden"),
        skills_nice=("Lassen",),
        nlqf=2,
        hours_min=24,
        hours_max=32,
        contract_type="vast",
        location=HOME,
        place_name="Waalwijk",
        start_date=START,
        text_rank=1.0,
    )
    return dataclasses.replace(base, **changes)


def client(**changes: Any) -> Sought:
    """A client in Waalwijk looking for warehouse work, 24 hours a week."""
    base = Sought(
        isco08=("9321",),
        occupation_words=tuple(stems("magazijnmedewerker")),
        skills=(term("orderpicken"), term("heftruck rijden")),
        nlqf=2,
        hours_min=24,
        hours_max=24,
        contract_types=frozenset({"vast", "tijdelijk"}),
        origin=HOME,
        max_km=50.0,
        available_from=START,
    )
    return dataclasses.replace(base, **changes)


def only(component: str) -> Weights:
    """Weights that count one component and nothing else."""
    zero = {field.name: 0.0 for field in dataclasses.fields(Weights)}
    return Weights(**{**zero, component: 1.0})


def points(sought: Sought, offered: Offered, component: str) -> float:
    match = score(sought, offered, weights=only(component))
    assert match is not None
    return match.score


def reason(match: Match | None, kind: ReasonKind) -> str:
    assert match is not None
    found = [r.text for r in match.reasons if r.kind == kind]
    assert len(found) == 1, match.reasons
    return found[0]


# --- The whole score -------------------------------------------------------------------


def test_a_perfect_fit_scores_100_with_a_reason_per_component() -> None:
    match = score(client(), opening())
    assert match is not None
    assert match.score == 100.0
    assert [r.kind for r in match.reasons] == [
        ReasonKind.occupation,
        ReasonKind.skills,
        ReasonKind.distance,
        ReasonKind.hours,
        ReasonKind.education,
        ReasonKind.text,
    ]
    assert explain(match) == (
        "zelfde beroep (ISCO 9321); vaardigheden: Orderpicken, Heftruck rijden; "
        "0 km van Waalwijk; uren 24–32 passen bij 24 uur; opleidingsniveau past (NLQF 2); "
        "tekst past bij de zoekvraag"
    )


def test_the_worked_example_in_the_docs() -> None:
    sought = client(skills=(term("orderpicken"), term("heftruck rijden"), term("koken")))
    match = score(sought, opening(location=north(10), text_rank=0.0))
    assert match is not None
    assert match.score == 83.5  # 30 + 25 * 4/5 + 15 * (1 - 0.5 * 10/50) + 10 + 10 + 0


def test_reasons_are_ordered_by_contribution() -> None:
    match = score(
        client(isco08=("9329",), skills=(term("orderpicken"),)),  # 20 for occupation
        opening(location=north(5), text_rank=0.3),  # 25 for skills, 13.5 for distance
    )
    assert match is not None
    assert [r.kind for r in match.reasons] == [
        ReasonKind.skills,
        ReasonKind.occupation,
        ReasonKind.distance,
        ReasonKind.hours,
        ReasonKind.education,
        ReasonKind.text,
    ]


def test_components_without_points_give_no_reason() -> None:
    match = score(
        client(isco08=(), occupation_words=(), skills=()), opening(isco08=None, text_rank=0.0)
    )
    assert match is not None
    assert match.score == 35.0  # 15 + 10 + 10
    assert {r.kind for r in match.reasons} == {
        ReasonKind.distance,
        ReasonKind.hours,
        ReasonKind.education,
    }


def test_a_same_occupation_nearby_opening_outranks_a_far_one() -> None:
    near = opening(location=north(3), place_name="Kaatsheuvel")
    far = opening(location=north(40), place_name="Utrecht")
    other_job_near = opening(isco08="5120", occupation_words=("kok",), location=north(3))
    ranked = sorted(
        [("far", far), ("other", other_job_near), ("near", near)],
        key=lambda pair: -(score(client(), pair[1]) or Match(0, ())).score,
    )
    assert [name for name, _ in ranked] == ["near", "far", "other"]


def test_ranking_clients_for_a_vacancy_uses_the_same_function() -> None:
    vacancy = opening(nlqf=3, text_rank=0.0)
    clients = {
        "warehouse, nearby": client(),
        "warehouse, far": client(origin=north(45)),
        "cook, nearby": client(isco08=("5120",), occupation_words=("kok",), skills=("kok",)),
        "underqualified": client(nlqf=1),
    }
    scores = {name: score(sought, vacancy) for name, sought in clients.items()}
    ranked = sorted(
        (name for name, match in scores.items() if match is not None),
        key=lambda name: -(scores[name] or Match(0, ())).score,
    )
    # NLQF 3 required, 1 held: shown, with the gap named, below the same client qualified
    assert ranked == ["warehouse, nearby", "warehouse, far", "underqualified", "cook, nearby"]


# --- Hard filters ----------------------------------------------------------------------


def test_an_unwanted_contract_type_rules_an_opening_out() -> None:
    assert (
        score(client(contract_types=frozenset({"vast"})), opening(contract_type="uitzend")) is None
    )
    assert score(client(contract_types=frozenset()), opening(contract_type="uitzend")) is not None
    assert score(client(contract_types=frozenset({"vast"})), opening(contract_type=None))


def test_an_opening_past_max_km_and_its_tolerance_is_ruled_out() -> None:
    assert tolerance_km(25) == 5.0  # at least 5 km
    assert tolerance_km(50) == 10.0  # 20 %
    assert score(client(max_km=25), opening(location=north(31))) is None
    assert score(client(max_km=25), opening(location=north(29))) is not None
    assert score(client(max_km=25), opening(location=None)) is not None
    assert score(client(max_km=None), opening(location=north(500))) is not None
    assert score(client(origin=None, max_km=25), opening(location=north(500))) is not None


def test_a_few_km_past_the_limit_costs_points_and_is_named() -> None:
    within = score(client(max_km=25), opening(location=north(24)))
    past = score(client(max_km=25), opening(location=north(29)))
    assert within is not None
    assert past is not None
    assert past.score < within.score
    assert past.gaps == 1
    assert within.gaps == 0
    texts = [r.text for r in past.reasons if r.kind == ReasonKind.distance]
    assert texts == ["29 km van Waalwijk", "4 km verder dan de grens"]


def test_an_empty_travel_limit_means_ask() -> None:
    match = score(client(max_km=None), opening(location=north(30)))
    assert match is not None
    assert "reisafstand niet opgegeven" in explain(match)
    assert match.gaps == 1
    no_limit = score(client(max_km=None), opening(location=north(0)))
    limit = score(client(max_km=50), opening(location=north(0)))
    assert no_limit is not None
    assert limit is not None
    assert no_limit.score == limit.score  # asking costs nothing


def test_hours_apart_cost_points_growing_with_the_gap() -> None:
    touching = score(client(hours_min=32, hours_max=40), opening())
    apart_4 = score(client(hours_min=36, hours_max=40), opening())
    apart_8 = score(client(hours_min=40, hours_max=40), opening())
    assert touching is not None
    assert apart_4 is not None
    assert apart_8 is not None
    assert touching.gaps == 0
    assert touching.score > apart_4.score > apart_8.score
    assert apart_4.reasons[-1].text == "24–32 uur, cliënt wil 36–40"
    at_most = score(client(hours_min=None, hours_max=16), opening())
    assert at_most is not None
    assert at_most.reasons[-1].text == "24–32 uur, cliënt wil hoogstens 16"
    at_least = score(client(hours_min=33, hours_max=None), opening())
    assert at_least is not None
    assert at_least.reasons[-1].text == "24–32 uur, cliënt wil minstens 33"
    assert score(client(hours_min=None, hours_max=None), opening()) is not None


def test_a_level_two_above_the_seekers_costs_points_and_is_named() -> None:
    too_high = score(client(nlqf=2), opening(nlqf=4))
    one_above = score(client(nlqf=2), opening(nlqf=3))
    assert too_high is not None
    assert one_above is not None
    assert too_high.score < one_above.score
    assert too_high.reasons[-1].text == "opleidingsniveau te laag (NLQF 2, gevraagd NLQF 4)"
    assert score(client(nlqf=None), opening(nlqf=8)) is not None
    assert score(client(nlqf=1), opening(nlqf=None)) is not None


def test_below_nlqf_1_is_on_the_scale_not_unknown() -> None:
    assert EDUCATION_SCALE[EducationLevel.praktijkonderwijs] == 0
    assert EDUCATION_SCALE[EducationLevel.geen] == 0
    assert EDUCATION_SCALE[EducationLevel.entree] == 1
    one_above = score(client(nlqf=0), opening(nlqf=1))
    assert reason(one_above, ReasonKind.education) == (
        "opleidingsniveau één onder de eis (geen NLQF-niveau, gevraagd 1)"
    )
    gap = score(client(nlqf=0), opening(nlqf=3))
    assert gap is not None
    assert gap.reasons[-1].text == "opleidingsniveau te laag (geen NLQF-niveau, gevraagd NLQF 3)"


def test_a_required_licence_not_held_costs_points_and_is_named() -> None:
    truck = opening(skills_required=("Orderpicken", "Rijbewijs C"))
    holder = score(client(driving_licences=frozenset({"C"}), licences_stated=True), truck)
    lacking = score(client(driving_licences=frozenset({"B"}), licences_stated=True), truck)
    assert holder is not None
    assert lacking is not None
    assert lacking.score < holder.score
    assert lacking.reasons[-1] == Reason(ReasonKind.licence, "rijbewijs C gevraagd")
    unknown = score(client(driving_licences=frozenset()), truck)  # a search form
    assert unknown is not None
    assert unknown.gaps == 0
    assert required_licences(("Rijbewijs  ce", "Heftruck", "rijbewijs B", "Rijbewijs C1E")) == (
        "CE",
        "B",
        "C1E",
    )


def test_a_dutch_level_above_the_seekers_costs_points_per_step_and_is_named() -> None:
    b1 = opening(skills_required=("Orderpicken", "Nederlands B1"))
    fits = score(client(dutch_level="B2"), b1)
    one_below = score(client(dutch_level="A2"), b1)
    two_below = score(client(dutch_level="A1"), b1)
    assert fits is not None
    assert one_below is not None
    assert two_below is not None
    assert fits.score > one_below.score > two_below.score
    assert fits.gaps == 0
    assert one_below.reasons[-1] == Reason(ReasonKind.language, "Nederlands B1 gevraagd")
    assert score(client(dutch_level=None), b1) == score(client(dutch_level="C2"), b1)
    assert required_dutch(("Nederlands niveau a2", "Nederlands  B1", "Engels B2")) == "B1"
    assert required_dutch(("Heftruck",)) is None


def test_register_only_openings_are_for_register_clients_and_lifted_for_them() -> None:
    baan = opening(register_only=True)
    assert score(client(register=False), baan) is None
    inside = score(client(register=True), baan)
    plain = score(client(register=True), opening())
    assert inside is not None
    assert plain is not None
    assert inside.score > plain.score or inside.score == 100.0
    assert reason(inside, ReasonKind.register) == "voor het doelgroepregister"
    unknown = score(client(register=None), baan)  # a search: shown, and said so
    assert unknown is not None
    assert unknown.reasons[-1].text == "alleen doelgroepregister"


# --- Occupation ------------------------------------------------------------------------


def test_a_shared_two_digit_group_alone_is_not_related_work() -> None:
    """9311 (mining labourers) shares only "93" with 9321 (packers): no occupation credit."""
    sought = client(isco08=("9311",), occupation_words=())
    assert points(sought, opening(), "occupation") == 0.0


@pytest.mark.parametrize(
    ("wanted", "expected", "text"),
    [
        ("9321", 100.0, "zelfde beroep (ISCO 9321)"),
        ("9329", 66.7, "verwant beroep (ISCO 932)"),
        ("9333", 33.3, "verwant werk (ISCO 9321)"),
    ],
)
def test_isco_groups_give_a_full_two_thirds_or_one_third(
    wanted: str, expected: float, text: str
) -> None:
    sought = client(isco08=(wanted,), occupation_words=())
    assert points(sought, opening(), "occupation") == expected
    assert reason(score(sought, opening()), ReasonKind.occupation) == text


def test_the_best_of_several_wanted_codes_counts() -> None:
    assert points(client(isco08=("5120", "9329", "9321")), opening(), "occupation") == 100.0


def test_a_different_major_group_and_words_that_differ_give_nothing() -> None:
    sought = client(isco08=("9111",), occupation_words=("kok",))
    assert points(sought, opening(), "occupation") == 0.0


def test_without_a_code_match_half_the_share_of_words_found_counts() -> None:
    sought = client(isco08=(), occupation_words=(*stems("magazijnmedewerker heftruckchauffeur"),))
    assert points(sought, opening(), "occupation") == 25.0
    text = reason(score(sought, opening()), ReasonKind.occupation)
    assert text == "beroepsnaam komt overeen (1 van 2 woorden)"
    assert points(client(isco08=()), opening(isco08=None), "occupation") == 50.0


def test_words_count_when_they_beat_a_distant_code() -> None:
    sought = client(isco08=("9333",))  # sub-major group only: 1/3 < 1/2 for the words
    assert points(sought, opening(), "occupation") == 50.0


# --- Skills ----------------------------------------------------------------------------


def test_all_sought_skills_found_gives_the_full_weight() -> None:
    sought = client(skills=(term("orderpicken"), term("heftruck rijden"), term("lassen")))
    assert points(sought, opening(), "skills") == 100.0
    text = reason(score(sought, opening()), ReasonKind.skills)
    assert text == "vaardigheden: Orderpicken, Heftruck rijden, Lassen"


def test_a_required_skill_counts_double() -> None:
    sought = client(skills=(term("orderpicken"), term("lassen"), term("koken")))
    # orderpicken required (2 of 2), lassen nice (1 of 1), koken missing (0 of 1): 3/4
    assert points(sought, opening(), "skills") == 75.0


def test_a_skill_is_found_inside_a_longer_label_and_in_inflected_form() -> None:
    sought = client(skills=(term("heftruck"), term("orderpickers")))
    assert points(sought, opening(skills_required=("Heftruck rijden", "orderpicker")), "skills")
    assert points(client(skills=(term("heftruck"),)), opening(), "skills") == 100.0


def test_offered_skills_may_be_stems() -> None:
    stemmed = tuple(s for label in ("Orderpicken", "Heftruck rijden") for s in stems(label))
    sought = client(skills=tuple(stems("orderpicken heftruck rijden")))
    assert points(sought, opening(skills_required=stemmed, skills_nice=()), "skills") == 100.0


def test_no_sought_skills_gives_nothing() -> None:
    assert points(client(skills=()), opening(), "skills") == 0.0


def test_a_driving_licence_the_opening_names_counts_as_a_required_skill() -> None:
    wanted = opening(skills_required=("Orderpicken", "Rijbewijs C"))
    sought = client(skills=(term("orderpicken"), term("koken")), driving_licences=frozenset("C"))
    assert points(sought, wanted, "skills") == 80.0  # (2 + 2) / (2 + 1 + 2)
    assert reason(score(sought, wanted), ReasonKind.skills) == (
        "vaardigheden: Orderpicken, Rijbewijs C"
    )


def test_a_driving_licence_the_opening_does_not_name_changes_nothing() -> None:
    sought = client(skills=(term("orderpicken"), term("koken")))
    with_licences = dataclasses.replace(sought, driving_licences=frozenset({"B", "CE"}))
    assert points(with_licences, opening(), "skills") == points(sought, opening(), "skills")
    wanted = opening(skills_required=("Rijbewijs C",))
    assert points(client(skills=(), driving_licences=frozenset({"CE"})), wanted, "skills") == 0


def test_a_driving_licence_alone_is_no_skill_match() -> None:
    """A parcel driver's licence B does not make a security job fit: without a skill of the
    seeker's own found, the licence adds nothing."""
    van = opening(skills_required=("Pakketten bezorgen", "Rijbewijs B"))
    guard = client(skills=(term("surveilleren"),), driving_licences=frozenset({"B"}))
    assert points(guard, van, "skills") == 0.0
    driver = client(skills=(term("pakketten bezorgen"),), driving_licences=frozenset({"B"}))
    assert points(driver, van, "skills") == 100.0


# --- Distance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("km", "max_km", "expected"),
    [
        (0, 50, 100.0),
        (10, 50, 90.0),
        (50, 50, 50.0),
        (55, 50, 21.0),  # 25 points for the distance, 4 of the 8 penalty points
        (60, 50, 0.0),
        (25, None, 50.0),
        (49, None, 2.0),
        (60, None, 0.0),
    ],
)
def test_distance_falls_to_half_at_max_km_and_to_nothing_at_its_tolerance(
    km: float, max_km: float | None, expected: float
) -> None:
    sought = client(max_km=max_km)
    assert points(sought, opening(location=north(km)), "distance") == pytest.approx(expected)


def test_distance_reason_names_the_place() -> None:
    match = score(client(), opening(location=north(12), place_name="Tilburg"))
    assert reason(match, ReasonKind.distance) == "12 km van Tilburg"
    assert reason(score(client(), opening(place_name="")), ReasonKind.distance) == "0 km"


def test_an_unknown_distance_gives_half() -> None:
    assert points(client(origin=None), opening(), "distance") == 50.0
    match = score(client(), opening(location=None))
    assert reason(match, ReasonKind.distance) == "afstand onbekend"


def test_a_zero_max_km_allows_the_same_place_and_its_tolerance() -> None:
    assert points(client(max_km=0), opening(), "distance") == 100.0
    assert score(client(max_km=0), opening(location=north(1))) is not None
    assert score(client(max_km=0), opening(location=north(6))) is None


# --- Hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_min", "hours_max", "expected", "text"),
    [
        (24, 24, 100.0, "uren 24–32 passen bij 24 uur"),
        (20, 40, 100.0, "uren 24–32 passen bij 20–40 uur"),
        (28, 36, 55.6, "uren 24–32 passen deels bij 28–36 uur"),  # 28-32: 5 of 9 hours
        (None, 24, 11.1, "uren 24–32 passen deels bij hoogstens 24 uur"),  # touch: 1 of 9
        (30, None, 33.3, "uren 24–32 passen deels bij minstens 30 uur"),  # 30-32: 3 of 9
    ],
)
def test_hours_score_the_overlap_against_the_shorter_range(
    hours_min: int | None, hours_max: int | None, expected: float, text: str
) -> None:
    sought = client(hours_min=hours_min, hours_max=hours_max)
    assert points(sought, opening(), "hours") == expected
    assert reason(score(sought, opening()), ReasonKind.hours) == text


def test_the_worked_hours_example_in_the_docs() -> None:
    sought = client(hours_min=25, hours_max=None)
    assert points(sought, opening(hours_min=20, hours_max=30), "hours") == round(600 / 11, 1)


def test_unstated_hours_give_half() -> None:
    sought = client(hours_min=None, hours_max=None)
    assert points(sought, opening(), "hours") == 50.0
    assert reason(score(sought, opening()), ReasonKind.hours) == "geen urenwens opgegeven"


def test_a_reversed_hours_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"hours_min \(30\) is more than hours_max \(20\)"):
        client(hours_min=30, hours_max=20)
    with pytest.raises(ValueError, match="hours_min"):
        opening(hours_min=40, hours_max=32)


# --- Education, text, start date -------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "required", "expected", "text"),
    [
        (2, 2, 100.0, "opleidingsniveau past (NLQF 2)"),
        (4, 2, 100.0, "opleidingsniveau past (NLQF 2)"),
        (2, 3, 50.0, "opleidingsniveau één onder de eis (NLQF 2, gevraagd 3)"),
        (None, 3, 50.0, "opleidingsniveau onbekend"),
        (3, None, 50.0, "opleidingsniveau onbekend"),
    ],
)
def test_education(held: int | None, required: int | None, expected: float, text: str) -> None:
    sought, offered = client(nlqf=held), opening(nlqf=required)
    assert points(sought, offered, "education") == expected
    assert reason(score(sought, offered), ReasonKind.education) == text


def test_text_rank_scales_the_text_weight() -> None:
    assert points(client(), opening(text_rank=0.37), "text") == 37.0
    match = score(client(), opening(text_rank=0.0))
    assert match is not None
    assert ReasonKind.text not in {r.kind for r in match.reasons}


@pytest.mark.parametrize("rank", [-0.1, 1.01, math.nan])
def test_a_text_rank_outside_0_1_is_refused(rank: float) -> None:
    with pytest.raises(ValueError, match="text_rank"):
        opening(text_rank=rank)


@pytest.mark.parametrize(
    ("days_late", "expected", "text"),
    [
        (1, 99.0, "pas 1 week na de startdatum beschikbaar (−1)"),
        (7, 99.0, "pas 1 week na de startdatum beschikbaar (−1)"),
        (21, 97.0, "pas 3 weken na de startdatum beschikbaar (−3)"),
        (22, 96.0, "pas 4 weken na de startdatum beschikbaar (−4)"),
        (365, 90.0, "pas 53 weken na de startdatum beschikbaar (−10)"),
    ],
)
def test_a_late_start_costs_a_point_a_week_up_to_ten(
    days_late: int, expected: float, text: str
) -> None:
    match = score(client(available_from=START + timedelta(days=days_late)), opening())
    assert match is not None
    assert match.score == expected
    assert match.reasons[-1].kind == ReasonKind.start
    assert match.reasons[-1].text == text


@pytest.mark.parametrize(
    ("available", "start"), [(START, START), (START - timedelta(days=30), START), (None, START)]
)
def test_available_in_time_or_unknown_costs_nothing(
    available: date | None, start: date | None
) -> None:
    match = score(client(available_from=available), opening(start_date=start))
    assert match is not None
    assert match.score == 100.0
    assert ReasonKind.start not in {r.kind for r in match.reasons}


def test_the_score_never_drops_below_zero() -> None:
    sought = client(isco08=(), occupation_words=(), available_from=START + timedelta(days=100))
    match = score(sought, opening(isco08=None), weights=only("occupation"))
    assert match is not None
    assert match.score == 0.0  # 0 for occupation, minus 10 for starting late
    assert [r.kind for r in match.reasons] == [ReasonKind.start]


# --- Weights ---------------------------------------------------------------------------


def test_default_weights_sum_to_100() -> None:
    weights = Weights()
    assert weights.total == 100.0
    assert (weights.occupation, weights.skills, weights.distance) == (30.0, 25.0, 15.0)
    assert (weights.hours, weights.education, weights.text) == (10.0, 10.0, 10.0)


def test_other_weights_are_scaled_to_100() -> None:
    doubled = Weights(
        **{f.name: 2 * getattr(Weights(), f.name) for f in dataclasses.fields(Weights)}
    )
    sought, offered = client(isco08=("9329",)), opening(location=north(20), text_rank=0.2)
    assert score(sought, offered, weights=doubled) == score(sought, offered)
    assert (score(client(), opening(), weights=doubled) or Match(0, ())).score == 100.0


def test_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="weight skills must be finite and >= 0, got -1"):
        Weights(skills=-1)
    with pytest.raises(ValueError, match="weight text must be finite"):
        Weights(text=math.inf)
    with pytest.raises(ValueError, match="sum to more than 0"):
        Weights(0, 0, 0, 0, 0, 0)


# --- Properties ------------------------------------------------------------------------

LABELS = ["Orderpicken", "Heftruck rijden", "Lassen", "Koken", "Schoonmaken", "Rijbewijs C"]
ISCO = ["9321", "9329", "9333", "9311", "5120", None]

hours_pairs = st.tuples(st.integers(0, 60), st.integers(0, 60)).map(sorted)
places = st.one_of(st.none(), st.floats(0, 120).map(north))


@st.composite
def seekers(draw: st.DrawFn) -> Sought:
    hours = draw(hours_pairs)
    return Sought(
        isco08=tuple(draw(st.lists(st.sampled_from(ISCO[:-1]), max_size=3))),
        occupation_words=tuple(draw(st.lists(st.sampled_from(["magazijnmedewerker", "kok"]))))
        if draw(st.booleans())
        else (),
        skills=tuple(term(label) for label in draw(st.lists(st.sampled_from(LABELS)))),
        nlqf=draw(st.one_of(st.none(), st.integers(1, 8))),
        hours_min=draw(st.sampled_from([None, hours[0]])),
        hours_max=draw(st.sampled_from([None, hours[1]])),
        contract_types=frozenset(draw(st.sets(st.sampled_from(["vast", "tijdelijk"])))),
        origin=draw(st.one_of(st.none(), st.just(HOME))),
        max_km=draw(st.one_of(st.none(), st.floats(0, 200))),
        available_from=draw(st.one_of(st.none(), st.dates(START, START + timedelta(days=200)))),
        driving_licences=frozenset(draw(st.sets(st.sampled_from(["B", "C", "CE"])))),
        licences_stated=draw(st.booleans()),
        register=draw(st.sampled_from([None, False, True])),
    )


@st.composite
def openings(draw: st.DrawFn) -> Offered:
    hours = draw(hours_pairs)
    return Offered(
        isco08=draw(st.sampled_from(ISCO)),
        occupation_words=tuple(draw(st.lists(st.sampled_from(["magazijnmedewerker", "kok"])))),
        skills_required=tuple(draw(st.lists(st.sampled_from(LABELS), max_size=4))),
        skills_nice=tuple(draw(st.lists(st.sampled_from(LABELS), max_size=3))),
        nlqf=draw(st.one_of(st.none(), st.integers(1, 8))),
        hours_min=hours[0],
        hours_max=hours[1],
        contract_type=draw(st.sampled_from([None, "vast", "uitzend"])),
        location=draw(places),
        place_name=draw(st.sampled_from(["", "Waalwijk"])),
        start_date=draw(st.one_of(st.none(), st.dates(START, START + timedelta(days=100)))),
        text_rank=draw(st.floats(0, 1)),
        register_only=draw(st.booleans()),
    )


weightings = st.one_of(
    st.just(Weights()),
    st.tuples(*[st.floats(0, 100) for _ in range(6)])
    .filter(lambda ws: sum(ws) > 0)
    .map(lambda ws: Weights(*ws)),
)


@given(seekers(), openings(), weightings)
def test_the_score_lies_within_0_and_100(sought: Sought, offered: Offered, w: Weights) -> None:
    match = score(sought, offered, weights=w)
    if match is not None:
        assert 0.0 <= match.score <= 100.0
        assert match.score == round(match.score, 1)
        assert explain(match) == "; ".join(r.text for r in match.reasons)


@given(seekers(), openings(), st.floats(0, 150), st.floats(0, 150))
def test_the_score_never_rises_with_distance(
    sought: Sought, offered: Offered, km: float, more: float
) -> None:
    sought = dataclasses.replace(sought, origin=HOME)
    near = score(sought, dataclasses.replace(offered, location=north(km)))
    far = score(sought, dataclasses.replace(offered, location=north(km + more)))
    if far is not None:
        assert near is not None
        assert near.score >= far.score


@given(seekers(), openings(), st.sampled_from(LABELS), st.booleans())
def test_adding_a_matching_skill_never_lowers_the_score(
    sought: Sought, offered: Offered, label: str, required: bool
) -> None:
    before = score(sought, offered)
    if required:  # the opening now also requires a skill the seeker has, or ...
        sought = dataclasses.replace(sought, skills=(*sought.skills, term(label)))
        offered = dataclasses.replace(offered, skills_required=(*offered.skills_required, label))
    else:  # ... the seeker now also has a skill the opening requires
        offered = dataclasses.replace(offered, skills_required=(*offered.skills_required, label))
        before = score(sought, offered)
        sought = dataclasses.replace(sought, skills=(*sought.skills, term(label)))
    after = score(sought, offered)
    assert (before is None) == (after is None)
    if before is not None and after is not None:
        assert after.score >= before.score


@given(hours_pairs, hours_pairs, st.sampled_from(ISCO[:-1]), st.sampled_from(ISCO[:-1]), places)
def test_like_for_like_components_are_symmetric(
    client_hours: list[int], opening_hours: list[int], wanted: str, offered: str, at: Any
) -> None:
    """Occupation codes, hours and distance compare the same facts on both sides, so
    swapping client and opening gives the same points: ranking clients for a vacancy is
    as sound as ranking vacancies for a client."""
    one = Sought(isco08=(wanted,), hours_min=client_hours[0], hours_max=client_hours[1])
    other = opening(isco08=offered, hours_min=opening_hours[0], hours_max=opening_hours[1])
    one, other = dataclasses.replace(one, origin=HOME), dataclasses.replace(other, location=at)
    swapped_one = Sought(isco08=(offered,), hours_min=opening_hours[0], hours_max=opening_hours[1])
    swapped_one = dataclasses.replace(swapped_one, origin=at)
    swapped_other = opening(
        isco08=wanted, hours_min=client_hours[0], hours_max=client_hours[1], location=HOME
    )
    for component in ("occupation", "hours", "distance"):
        there = score(one, other, weights=only(component))
        back = score(swapped_one, swapped_other, weights=only(component))
        assert there == back or (there and back and there.score == back.score)


# --- Age bands and recall --------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "today", "band"),
    [
        (date(2008, 6, 15), date(2026, 6, 14), "<18"),
        (date(2008, 6, 15), date(2026, 6, 15), "18-26"),
        (date(1999, 6, 15), date(2026, 6, 14), "18-26"),
        (date(1999, 6, 15), date(2026, 6, 15), "27-35"),
        (date(1990, 1, 1), date(2026, 1, 1), "36-45"),
        (date(1980, 1, 1), date(2026, 1, 1), "46-55"),
        (date(1970, 1, 2), date(2026, 1, 1), "46-55"),
        (date(1970, 1, 1), date(2026, 1, 1), "56+"),
        (date(1940, 1, 1), date(2026, 1, 1), "56+"),
        (date(2000, 2, 29), date(2018, 2, 28), "<18"),
        (date(2000, 2, 29), date(2018, 3, 1), "18-26"),
        (date(2026, 1, 1), date(2026, 1, 1), "<18"),
    ],
)
def test_age_band(born: date, today: date, band: str) -> None:
    assert age_band(born, today) == band


def test_age_band_refuses_a_birth_date_in_the_future() -> None:
    with pytest.raises(ValueError, match="born 2030-01-01 is after today 2026-01-01"):
        age_band(date(2030, 1, 1), date(2026, 1, 1))


def test_recall_at_k() -> None:
    ranked = ["a", "b", "c", "d", "e"]
    assert recall_at_k(ranked, {"a", "c"}, k=2) == 0.5
    assert recall_at_k(ranked, {"a", "c"}, k=3) == 1.0
    assert recall_at_k(ranked, {"z"}) == 0.0
    assert recall_at_k(ranked, {"e", "z"}) == 0.5
    assert recall_at_k([], {"a"}) == 0.0


def test_recall_at_k_refuses_what_is_undefined() -> None:
    with pytest.raises(ValueError, match="without relevant items"):
        recall_at_k(["a"], set())
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        recall_at_k(["a"], {"a"}, k=0)


# A gap of each kind, applied to an opening: (what changes in the opening, in the seeker).
GAPS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "hours": ({"hours_min": 38, "hours_max": 40}, {"hours_min": 24, "hours_max": 32}),
    "distance": ({"location": north(28)}, {"origin": HOME, "max_km": 25.0}),
    "education": ({"nlqf": 5}, {"nlqf": 2}),
    "licence": ({"skills_required": ("Rijbewijs C",)}, {"licences_stated": True}),
    "dutch": ({"skills_required": ("Nederlands B2",)}, {"dutch_level": "A2"}),
}


@given(seekers(), openings(), st.sampled_from(sorted(GAPS)))
def test_an_opening_with_a_gap_never_ranks_above_the_same_opening_without_it(
    sought: Sought, offered: Offered, kind: str
) -> None:
    """Issue 15: no opening for which the seeker lacks hours, distance, level or licence
    ranks above the same opening without that gap; the gap is named."""
    opening_gap, seeker_facts = GAPS[kind]
    sought = dataclasses.replace(
        sought,
        **seeker_facts,
        skills=tuple(s for s in sought.skills if "rijbewijs" not in s and "nederland" not in s),
        driving_licences=frozenset({"B"}),
        contract_types=frozenset(),
    )
    fitting = {
        "hours": {"hours_min": 24, "hours_max": 32},
        "distance": {"location": north(5)},
        "education": {"nlqf": 2},
        "licence": {"skills_required": ("Rijbewijs B",)},
        "dutch": {"skills_required": ("Nederlands A2",)},
    }[kind]
    without = score(sought, dataclasses.replace(offered, **fitting))
    with_gap = score(sought, dataclasses.replace(offered, **opening_gap))
    assert without is not None or with_gap is None
    if with_gap is not None and without is not None:
        assert with_gap.score <= without.score
        assert with_gap.gaps >= 1
        assert with_gap.gaps > without.gaps or with_gap.score < without.score
