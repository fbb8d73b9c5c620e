"""Dutch identifiers and BSN protection at rest: pure unit tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.validation import (
    mask_bsn,
    normalise_bsn,
    normalise_kvk,
    normalise_postcode,
)
from topmatch.errors import ConfigurationError


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
