"""The judged-set evaluation: metrics with known answers, the set's own consistency, and a
tiny run through the production path. No quality thresholds: those are issue #15's targets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from bench import matching_eval as ev
from sqlalchemy import Engine

from topmatch.cardbox.validation import normalise_municipality
from topmatch.geography import places
from topmatch.vocabulary import EducationLevel

# --- metrics -------------------------------------------------------------------------------


def test_dcg_known_answer() -> None:
    # gains 2^g - 1 = 7, 3, 0, 1 at ranks 1..4: 7/1 + 3/log2(3) + 0 + 1/log2(5)
    expected = 7 + 3 / math.log2(3) + 1 / math.log2(5)
    assert ev.dcg([3, 2, 0, 1]) == pytest.approx(expected)


def test_ndcg_is_one_for_the_ideal_order_and_known_for_a_swap() -> None:
    grades = {"a": 3, "b": 2, "c": 1}
    assert ev.ndcg_at_k(["a", "b", "c", "x"], grades, 10) == pytest.approx(1.0)
    swapped = (3 + 7 / math.log2(3) + 1 / 2) / (7 + 3 / math.log2(3) + 1 / 2)
    assert ev.ndcg_at_k(["b", "a", "c"], grades, 10) == pytest.approx(swapped)


def test_ndcg_cuts_at_k_and_ignores_unjudged_ids() -> None:
    grades = {"a": 3, "b": 3}
    # only one of the two ideal slots is filled within k=1... by an unjudged id: 0
    assert ev.ndcg_at_k(["x", "a", "b"], grades, 1) == 0.0
    # at k=2: a at rank 2 gives 7/log2(3); the ideal is 7 + 7/log2(3)
    assert ev.ndcg_at_k(["x", "a", "b"], grades, 2) == pytest.approx(
        (7 / math.log2(3)) / (7 + 7 / math.log2(3))
    )


def test_ndcg_of_an_empty_ranking_is_zero_and_undefined_without_grades() -> None:
    assert ev.ndcg_at_k([], {"a": 1}, 10) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        ev.ndcg_at_k(["a"], {"a": 0}, 10)


def test_precision_counts_only_good_openings_and_empty_places() -> None:
    grades = {"a": 3, "b": 2, "c": 1}
    assert ev.precision_at_k(["a", "c", "b", "x", "y"], grades, 5) == pytest.approx(2 / 5)
    assert ev.precision_at_k(["a"], grades, 5) == pytest.approx(1 / 5)


def test_shown_share_top_k_whole_list_and_nothing_good() -> None:
    grades = {"a": 3, "b": 2, "c": 2, "d": 1}
    ranked = ["x", "a", "d", "b"]
    assert ev.shown_share(ranked, grades, 2) == pytest.approx(1 / 3)
    assert ev.shown_share(ranked, grades, None) == pytest.approx(2 / 3)
    assert ev.shown_share(ranked, {"d": 1}, None) is None


def test_bm25_ranks_matching_openings_only_best_first() -> None:
    openings: list[dict[str, Any]] = [
        {"id": "v1", "type": "vacancy", "title": "Orderpicker", "municipality": "Tilburg",
         "description": "", "occupation": {"label": "Orderpicker"}, "skills_required": []},
        {"id": "v2", "type": "vacancy", "title": "Kok", "municipality": "Tilburg",
         "description": "", "occupation": {"label": "Kok"}, "skills_required": []},
        {"id": "b1", "type": "baanopening", "title": "Magazijn", "municipality": "Breda",
         "tasks": ["orderpicken"], "suitable_profile": ""},
    ]  # fmt: skip
    bm25 = ev.Bm25(openings)
    assert bm25.rank("orderpicker Tilburg") == ["v1", "v2"]
    assert bm25.rank("zorg") == []


# --- the set itself --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def judged() -> ev.Judged:
    return ev.read_set()


def test_every_grade_points_at_an_opening_and_has_a_reason(judged: ev.Judged) -> None:
    ids = {o["id"] for o in judged.openings}
    assert len(ids) == len(judged.openings)
    for item in (*judged.seekers, *judged.queries):
        assert item["grades"], item["id"]
        for opening, (grade, reason) in item["grades"].items():
            assert opening in ids
            assert grade in (1, 2, 3)
            assert isinstance(reason, str)


def test_the_set_has_the_size_and_variety_the_issue_asks_for(judged: ev.Judged) -> None:
    assert 25 <= len(judged.seekers) <= 35
    assert 150 <= len(judged.openings) <= 250
    assert 20 <= len(judged.queries) <= 30
    uncoded = [
        o for o in judged.openings if o["type"] == "vacancy" and not o["occupation"]["isco08"]
    ]
    assert uncoded
    assert any(o["type"] == "baanopening" for o in judged.openings)
    assert any(s["max_travel_km"] is None for s in judged.seekers)
    assert {"geen", "praktijkonderwijs"} <= {s["education_level"] for s in judged.seekers}
    assert any(s["doelgroepregister"] for s in judged.seekers)


def test_every_place_and_level_is_one_the_node_knows(judged: ev.Judged) -> None:
    for record in (*judged.seekers, *judged.openings):
        assert normalise_municipality(record["municipality"]) == record["municipality"]
        places.municipality(record["municipality"])
        if record.get("education_level"):
            EducationLevel(record["education_level"])


def test_subset_keeps_only_the_openings_its_items_grade(judged: ev.Judged) -> None:
    small = ev.subset(judged, seekers=2, queries=1)
    graded = {o for item in (*small.seekers, *small.queries) for o in item["grades"]}
    assert [s["id"] for s in small.seekers] == ["S01", "S02"]
    assert {o["id"] for o in small.openings} == graded


# --- a tiny run through the production path ----------------------------------------------------


def _in_unit_range(summary: dict[str, dict[str, float | None]]) -> None:
    for figures in summary.values():
        for value in figures.values():
            assert value is not None
            assert 0.0 <= value <= 1.0


def test_a_tiny_run_measures_ours_and_every_baseline(engine: Engine, judged: ev.Judged) -> None:
    small = ev.subset(judged, seekers=3, queries=3)
    figures = ev.evaluate(engine, small, seed=1)
    assert set(figures["openings_for_client"]) == {
        "ours", "recency", "nearby_recency", "bm25", "random"
    }  # fmt: skip
    assert set(figures["search"]) == {"ours", "recency", "bm25", "random"}
    _in_unit_range(figures["openings_for_client"])
    _in_unit_range(figures["search"])
    # recency and random list every opening, so every good one is shown somewhere
    assert figures["search"]["recency"]["good_shown_at_all"] == 1.0
    assert [i["id"] for i in figures["per_item"]["openings_for_client"]] == ["S01", "S02", "S03"]


def test_main_writes_its_figures_with_the_command(tmp_path: Path) -> None:
    written: dict[str, Any] = {}

    def write(name: str, payload: dict[str, Any], results: Path) -> Path:
        written[name] = payload
        return tmp_path / f"{name}.json"

    assert ev.main(["--seekers", "1", "--queries", "1"], write=write) == 0
    payload = written["matching_eval"]
    assert payload["command"].endswith("--seekers 1 --queries 1 --seed 1")
    assert payload["params"]["openings_for_client"] == 1
    _in_unit_range(payload["openings_for_client"])
