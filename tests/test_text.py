"""Folding, tokenising and Dutch stemming for matching and full-text search."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topmatch.matching.text import (
    STOPWORDS,
    fold,
    query_terms,
    search_text,
    stems,
    term,
    words,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Chloë", "CHLOE"),
        ("Súdwest-Fryslân", "sudwest-fryslan"),
        ("ﬁetskoerier", "FIETSKOERIER"),  # the "fi" ligature
        ("Straße", "STRASSE"),
        ("café", "cafe\u0301"),  # precomposed and combining accent
    ],
)
def test_fold_makes_case_and_accents_irrelevant(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_fold_keeps_spaces_and_punctuation() -> None:
    assert fold("Chloë's Café, 24 uur") == "chloe's cafe, 24 uur"


def test_words_split_on_hyphens_apostrophes_and_punctuation() -> None:
    assert words("Magazijn-medewerker, 24 uur; auto's") == [
        "magazijn",
        "medewerker",
        "24",
        "uur",
        "auto",
        "s",
    ]
    assert words("snake_case") == ["snake", "case"]
    assert words("  \t ") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("magazijnmedewerker", "magazijnmedewerkers"),
        ("schoonmaken", "schoonmaak"),
        ("schoonmaker", "schoonmakers"),
        ("heftruck", "heftrucks"),
        ("verpleegkundige", "verpleegkundigen"),
        ("kok", "koks"),
        ("bouwen", "bouw"),
        ("Chauffeur", "CHAUFFEURS"),
    ],
)
def test_inflected_forms_share_a_stem(a: str, b: str) -> None:
    assert stems(a) == stems(b)
    assert len(stems(a)) == 1


def test_known_stems() -> None:
    # Snowball 3's Dutch algorithm; if these change, search_text indexes must be rebuilt.
    assert stems("magazijnmedewerkers schoonmaken orderpicken") == [
        "magazijnmedewerker",
        "schoonmaak",
        "orderpick",
    ]


def test_a_stem_is_a_key_not_a_word() -> None:
    # Stemming is not idempotent, which is why stems are never stemmed twice.
    assert stems("gemeente") == ["meen"]
    assert stems("gemeent") != ["gemeent"]


def test_stopwords_are_dropped() -> None:
    assert stems("De schoonmaker werkt 32 uur per week bij ons in Tilburg") == [
        "schoonmaker",
        "werk",
        "32",
        "tilburg",
    ]
    assert stems("de het een en van") == []


def test_stopwords_are_folded_and_short() -> None:
    assert all(word == fold(word) and words(word) == [word] for word in STOPWORDS)
    assert len(STOPWORDS) < 50


def test_accented_text_stems_like_plain_text() -> None:
    assert stems("Zoë zoekt ÉÉN café") == stems("zoe zoekt een cafe")


def test_term_joins_the_stems_of_one_label() -> None:
    assert term("Heftruck rijden") == "heftruck rijd"
    assert term("Magazijnmedewerkers") == term("magazijnmedewerker")
    assert term("de en het") == ""


def test_search_text_accepts_texts_and_lists_of_texts() -> None:
    text = search_text("Magazijnmedewerker", ["Orderpicken", "Heftruck rijden"], "in Tilburg")
    assert text == "magazijnmedewerker orderpick heftruck rijd tilburg"
    assert search_text() == ""
    assert search_text([], "") == ""


def test_query_terms_are_unique_stems_in_order() -> None:
    query = "Schoonmaak, schoonmaken en schoonmaker in Tilburg; schoonmaak!"
    assert query_terms(query) == ["schoonmaak", "schoonmaker", "tilburg"]
    assert query_terms("") == []


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_stems_do_not_depend_on_case_or_accents(text: str) -> None:
    assert stems(fold(text)) == stems(text)


@given(st.text())
def test_search_text_is_the_stems_of_its_parts(text: str) -> None:
    assert search_text(text).split() == stems(text)
    assert set(query_terms(text)) == set(stems(text))
