"""Scrubbing free text before it leaves the node."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topmatch.publishing.anonymise import NOT_A_NAME, Scrubber, name_words


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("Mail naar j.devries@bakkerij.nl voor info", "j.devries@bakkerij.nl", "[e-mail]"),
        ("Zie https://www.korenaar.nl/vacatures", "korenaar.nl", "[link]"),
        ("Zie www.korenaar.nl", "korenaar", "[link]"),
        ("Bel 06-12345678 of 013 555 12 34", "12345678", "[telefoon]"),
        ("Bel +31 6 1234 5678", "1234 5678", "[telefoon]"),
        ("BSN 111222333 bekend", "111222333", "[nummer]"),
        ("BSN 1112.22.333 bekend", "1112.22.333", "[nummer]"),
        ("KvK 12345678", "12345678", "[nummer]"),
        ("IBAN NL91 ABNA 0417 1643 00", "0417", "[iban]"),
        ("Adres: Grotestraat 12a, 5141 JA", "Grotestraat", "[adres]"),
        ("Adres: KERKWEG\t7, Tilburg", "KERKWEG", "[adres]"),
        ("Postcode 5141JA Waalwijk", "5141JA", "[postcode]"),
        ("Geboren 12-04-1999", "1999", "[datum]"),
        ("Geboren op 3 maart 1998", "1998", "[datum]"),
    ],
)
def test_identifying_patterns_are_replaced(text: str, secret: str, placeholder: str) -> None:
    scrubbed = Scrubber([]).scrub(text)
    assert secret not in scrubbed
    assert placeholder in scrubbed


def test_names_are_removed_word_by_word_case_and_accent_insensitively() -> None:
    scrubber = Scrubber(["Chloë van der Berg", "Bakkerij De Korenaar B.V.", "Marieke Jansen"])
    text = "Chloe BERG werkt bij de korenaar; vraag naar Marieke. De bakkerij zoekt hulp."
    scrubbed = scrubber.scrub(text)
    for word in ["Chloe", "BERG", "korenaar", "Marieke", "bakkerij"]:
        assert word not in scrubbed
    assert scrubbed.startswith("[naam] [naam] werkt bij de [naam]")
    assert "hulp" in scrubbed  # ordinary words stay


def test_tussenvoegsels_and_legal_forms_are_not_names() -> None:
    assert name_words(["Jan van der Berg", "Korenaar B.V."]) == {"jan", "berg", "korenaar"}


def test_with_names_adds_to_the_base() -> None:
    scrubber = Scrubber(["Sanne"]).with_names(["Korenaar"])
    assert scrubber.scrub("Sanne en Korenaar") == "[naam] en [naam]"


def test_long_text_is_cut() -> None:
    assert len(Scrubber([]).scrub("woord " * 500, max_length=100)) == 100


def test_job_text_survives() -> None:
    text = "Orderpicken in een magazijn, 24-32 uur per week, rijbewijs B, start in januari."
    assert Scrubber(["Sanne de Vries"]).scrub(text) == text


# Words that are never names on their own (tussenvoegsels, legal forms) are excluded by
# design; see anonymise._NOT_A_NAME.
_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéë", min_size=4, max_size=12).filter(
    lambda w: w not in NOT_A_NAME
)
_digits = st.integers(min_value=100_000, max_value=999_999_999)


@given(
    first=_name,
    last=_name,
    number=_digits,
    filler=st.sampled_from(["werkt graag buiten", "heeft ervaring", "zoekt 24 uur", ""]),
)
def test_no_name_or_long_number_survives(first: str, last: str, number: int, filler: str) -> None:
    text = f"{first.capitalize()} {filler} {last.upper()} nummer {number} {first}@mail.nl"
    scrubbed = Scrubber([f"{first} {last}"]).scrub(text)
    assert first not in scrubbed.lower()
    assert last not in scrubbed.lower()
    assert str(number) not in scrubbed


def test_control_characters_go_and_a_scrubber_without_names_keeps_every_word() -> None:
    # Unicode category Cc is U+0000-U+001F and U+007F-U+009F; U+00AD (soft hyphen) is Cf
    text = "Bakker\x00 Chloë\x9f werkt\x7f\u00adgraag"
    assert Scrubber([]).scrub(text) == "Bakker Chloë werkt\u00adgraag"
    assert Scrubber(["Bakker"]).scrub(text) == "[naam] Chloë werkt\u00adgraag"


@given(st.text(max_size=80))
def test_a_text_without_digits_at_signs_or_links_only_loses_spacing_and_controls(
    text: str,
) -> None:
    plain = "".join(c for c in text if not c.isdigit() and c not in "@.:")
    assert Scrubber([]).scrub(plain) == _spacing_and_controls(plain)


def _spacing_and_controls(text: str) -> str:
    """Whitespace collapsed and stripped, control characters dropped, until nothing changes."""
    while True:
        spaced = " ".join(re.split(r"\s+", text)).strip()
        done = "".join(c for c in spaced if unicodedata.category(c) != "Cc")
        if done == text:
            return done
        text = done
