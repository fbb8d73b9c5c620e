"""Reading a consultant's search text (topmatch.matching.query): pure tests."""

from __future__ import annotations

import pytest

from topmatch.matching import query


def test_a_place_becomes_the_place_and_leaves_the_words() -> None:
    read = query.parse("orderpicker Tilburg")
    assert (read.text, read.place, read.hours) == ("orderpicker", "Tilburg", None)


def test_a_place_of_several_words_is_found() -> None:
    read = query.parse("beveiliger Den Haag")
    assert (read.text, read.place) == ("beveiliger", "Den Haag")


@pytest.mark.parametrize("q", ["schoonmaak 20 uur", "schoonmaak 20uur", "20 u schoonmaak"])
def test_hours_become_hours_not_a_word(q: str) -> None:
    read = query.parse(q)
    assert (read.text, read.hours) == ("schoonmaak", 20)


def test_occupation_words_and_single_letters_are_never_places() -> None:
    read = query.parse("chauffeur C")
    assert read.place is None
    assert [group[0] for group in read.groups] == ["chauffeur", "c"]


def test_each_word_is_a_group_with_its_vocabulary_names() -> None:
    (group,) = query.parse("zorg").groups
    assert group[0] == "zorg"
    assert {"verzorgende", "thuiszorgmedewerker", "verpleegkundige"} <= set(group)


def test_a_compound_head_finds_the_compounds() -> None:
    (chauffeur,) = query.parse("chauffeur").groups
    assert "vrachtwagenchauffeur" in chauffeur


def test_generic_words_are_dropped_unless_nothing_else_is_left() -> None:
    assert [g[0] for g in query.parse("administratief medewerker").groups] == ["administratief"]
    assert [g[0] for g in query.parse("medewerker").groups] == ["medewerker"]


def test_baanopening_asks_for_the_type() -> None:
    read = query.parse("baanopening Tilburg")
    assert (read.type, read.place, read.groups) == ("baanopening", "Tilburg", ())
