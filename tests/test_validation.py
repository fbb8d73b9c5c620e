"""Dutch identifiers and BSN protection at rest: pure unit tests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AnyHttpUrl, TypeAdapter

from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.schemas import Isco08, LanguageCode
from topmatch.cardbox.validation import (
    mask_bsn,
    normalise_bsn,
    normalise_kvk,
    normalise_postcode,
)
from topmatch.errors import ConfigurationError, input_error
from topmatch.explain import explain, json_position
from topmatch.settlement.schemas import NodeId
from topmatch.vocabulary import SBI_SECTION_NAMES, SbiSection


def _elfproef(digits: str) -> bool:
    """Independent BSN check: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by 11."""
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    return sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11 == 0


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "1112.22.333", " 111 222 333 "])
def test_valid_bsns_are_normalised_to_nine_digits(bsn: str) -> None:
    assert len(normalise_bsn(bsn)) == 9


@pytest.mark.parametrize(
    ("bsn", "reason"),
    [("123456789", "checksum"), ("12345678a", "invalid"), ("1234567890", "length"), ("", "format")],
)
def test_invalid_bsns_say_why(bsn: str, reason: str) -> None:
    with pytest.raises(ValueError, match="not a valid BSN") as info:
        normalise_bsn(bsn)
    assert reason in str(info.value)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_bsn_validation_agrees_with_an_independent_elfproef(digits: str) -> None:
    expected = _elfproef(digits) and digits[:8] != "00000000"
    try:
        normalise_bsn(digits)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == expected


def test_postcodes_are_normalised_and_checked() -> None:
    assert normalise_postcode("5141ja") == "5141 JA"
    with pytest.raises(ValueError, match="postcode"):
        normalise_postcode("0141 JA")  # no Dutch postcode starts with 0
    with pytest.raises(ValueError, match="postcode"):
        normalise_postcode("5141 SA")  # SA, SD and SS are not issued


def test_kvk_numbers_are_eight_digits() -> None:
    assert normalise_kvk("1234.5678") == "12345678"
    for bad in ["1234567", "123456789", "1234567a"]:
        with pytest.raises(ValueError, match="8 digits"):
            normalise_kvk(bad)


def test_mask_shows_only_the_last_three_digits() -> None:
    assert mask_bsn("111222333") == "******333"


def test_vault_round_trips_and_never_stores_the_bsn_in_clear() -> None:
    vault = BsnVault(b"\x01" * 32)
    blob = vault.encrypt("111222333")
    assert b"111222333" not in blob
    assert vault.decrypt(blob) == "111222333"
    assert vault.encrypt("111222333") != blob  # fresh nonce each time


def test_blind_index_is_stable_per_secret_and_differs_between_nodes() -> None:
    a, b = BsnVault(b"\x01" * 32), BsnVault(b"\x02" * 32)
    assert a.index("111222333") == a.index("111222333")
    assert a.index("111222333") != b.index("111222333")
    assert "111222333" not in a.index("111222333")


def test_tampered_or_foreign_ciphertext_is_refused() -> None:
    vault = BsnVault(b"\x01" * 32)
    blob = bytearray(vault.encrypt("111222333"))
    blob[-1] ^= 1
    with pytest.raises(ConfigurationError, match="does not decrypt"):
        vault.decrypt(bytes(blob))
    with pytest.raises(ConfigurationError, match="does not decrypt"):
        BsnVault(b"\x02" * 32).decrypt(vault.encrypt("111222333"))


# --- validation errors in words (topmatch.explain) -------------------------------------


def _first_error(annotation: Any, value: object) -> dict[str, Any]:
    from pydantic import TypeAdapter, ValidationError  # noqa: PLC0415

    with pytest.raises(ValidationError) as info:
        TypeAdapter(annotation).validate_python(value)
    return dict(info.value.errors()[0])


def test_every_sbi_section_has_its_dutch_name() -> None:
    assert set(SBI_SECTION_NAMES) == set(SbiSection)
    assert SBI_SECTION_NAMES[SbiSection.A] == "Landbouw, bosbouw en visserij"
    assert SBI_SECTION_NAMES[SbiSection.U] == "Extraterritoriale organisaties en lichamen"


def test_a_wrong_sector_is_explained_with_every_section_name() -> None:
    message = explain(_first_error(SbiSection, "Z"))
    for letter, name in SBI_SECTION_NAMES.items():
        assert f"{letter.value} ({name})" in message


@pytest.mark.parametrize("bad", ["Werkpad", "w", "-werkpad", "werk pad", "werkpad_arnhem"])
def test_a_bad_node_id_says_in_words_what_a_node_id_may_contain(bad: str) -> None:
    message = explain(_first_error(NodeId, bad))
    assert message.startswith("a node id is 2 to 63 characters: lower-case letters a-z, digits")
    assert repr(bad) in message
    assert "^" not in message  # no regular expression


@pytest.mark.parametrize("bad", ["stapverder.example.nl", "/federation", "ftp://x.nl"])
def test_a_bad_url_asks_for_a_full_web_address(bad: str) -> None:
    message = explain(_first_error(AnyHttpUrl, bad))
    assert "not a full web address" in message
    assert "http:// or https://" in message
    assert "relative URL" not in message
    assert repr(bad) in message


def test_other_patterns_are_explained_and_other_errors_kept() -> None:
    assert "two-letter" in explain(_first_error(LanguageCode, "nld"))
    assert "4 digits" in explain(_first_error(Isco08, "93"))
    assert explain({"type": "extra_forbidden", "loc": ("x",), "msg": "Extra inputs"}) == (
        "unknown field"
    )
    assert explain({"type": "value_error", "loc": (), "msg": "Value error, too late"}) == (
        "too late"
    )


def test_input_error_explains_the_first_problem() -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        TypeAdapter(list[NodeId]).validate_python(["alfa", "Bravo!"])
    except ValidationError as e:
        error = input_error(e, "not a valid fee agreement")
    assert error.field == "1"
    assert error.message.startswith("not a valid fee agreement: a node id is 2 to 63")


def test_json_position_counts_lines_and_columns_from_one() -> None:
    assert json_position('{\n  "a": \n}', 10) == (3, 1)
    assert json_position(b'{"a": }', 6) == (1, 7)
