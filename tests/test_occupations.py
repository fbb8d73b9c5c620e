"""The Dutch occupation vocabulary (topmatch.matching.occupations): pure tests."""

from __future__ import annotations

import pytest

from topmatch.matching import occupations


def test_the_vocabulary_covers_at_least_200_occupations_with_valid_codes() -> None:
    rows = occupations.occupations()
    assert len(rows) >= 200
    assert all(len(o.isco08) == 4 and o.isco08.isdigit() for o in rows)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("productiemedewerker", ["productie", "medewerker"]),
        ("thuiszorgmedewerker", ["thuiszorg", "medewerker"]),
        ("heftruckchauffeur", ["heftruck", "chauffeur"]),
        ("verpleegkundige", ["verpleegkundige"]),
        ("schilder", ["schilder"]),
    ],
)
def test_compounds_split_into_the_fewest_known_parts(word: str, expected: list[str]) -> None:
    assert occupations.parts(word) == expected


def test_a_linking_s_joins_two_parts() -> None:
    lexicon = frozenset({"veiligheid", "medewerker"})
    assert occupations.parts("veiligheidsmedewerker", lexicon) == ["veiligheid", "medewerker"]


def test_compound_and_phrase_have_the_same_key_stems() -> None:
    assert occupations.key_stems("Productiemedewerker") == occupations.key_stems(
        "Medewerker productie"
    )


@pytest.mark.parametrize("title", ["Medewerker", "Allround medewerker", "Hulp", "Assistent"])
def test_generic_words_alone_name_no_occupation(title: str) -> None:
    assert occupations.key_stems(title) == ()
    assert occupations.codes(title) == frozenset()


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("Warehouse worker", "9333"),
        ("Cleaner hotel", "9112"),
        ("Interieurverzorger", "9112"),
        ("Caissière", "5230"),
        ("Verzorgende-IG wijkteam", "5321"),
        ("Medewerker thuiszorg", "5322"),
        ("Heftruckchauffeur", "8344"),
        ("Forklift driver", "8344"),
        ("Chauffeur C/CE", "8332"),
        ("Delivery driver (van)", "8322"),
        ("Medewerker productie", "9329"),
        ("Landscaper", "9214"),
    ],
)
def test_titles_synonyms_and_english_titles_get_their_unit_group(title: str, code: str) -> None:
    assert occupations.codes(title) == {code}


def test_the_most_specific_name_wins() -> None:
    # "zorg" alone is a care worker (5321); "thuiszorg" is home care (5322)
    assert occupations.codes("Zorgmedewerker thuiszorg") == {"5322"}


def test_related_work_is_an_explicit_table_not_a_shared_prefix() -> None:
    assert occupations.related("9333", "8344")  # orderpicker and forklift driver
    assert occupations.related("5321", "5322")
    assert not occupations.related("8322", "8332")  # parcel van and truck: other licence
    assert not occupations.related("9311", "9321")


def test_a_topic_word_expands_to_the_occupations_it_stands_for() -> None:
    words = occupations.expansions("zorg")
    assert {"verzorgende", "thuiszorgmedewerker", "verpleegkundige"} <= set(words)
    assert "medewerker" not in words
    assert occupations.expansions("tilburg") == ()


def test_labels_for_a_picker_are_sorted_dutch_names() -> None:
    labels = occupations.labels()
    assert ("Orderpicker", "9333") in labels
    assert [label for label, _ in labels] == sorted(label for label, _ in labels)
