"""RFC 8785 canonical JSON and party signatures over ledger entries.

Vectors and their sources:

* RFC 8785 section 3.2.2 (the sample object) and 3.2.4 (its UTF-8 bytes in hex);
* RFC 8785 section 3.2.3 (sorting of member names by UTF-16 code units);
* RFC 8785 Appendix B (number serialisation samples, given as IEEE 754 bit patterns), as
  also carried by trailofbits/rfc8785.py test/test_impl.py;
* cyberphone/json-canonicalization testdata/input|output/weird.json (the RFC author's
  reference test data).
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from topmatch.ledger.canonical import (
    SIGNATURES,
    JSONValue,
    canonical,
    parse_canonical,
    sign_entry,
    signing_bytes,
    verify_entry,
)
from topmatch.ledger.errors import CanonicalFormError, EntrySignatureError

# RFC 8785 section 3.2.2, input as printed (whitespace and escapes included).
RFC_SAMPLE = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_SAMPLE_CANONICAL = (
    r"""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"""
    r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
)
# RFC 8785 section 3.2.4: the same, as UTF-8 bytes.
RFC_SAMPLE_HEX = (
    "7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b33333333"
    "33333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e6722"
    "3a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d"
)

# RFC 8785 section 3.2.3.
RFC_SORTING_SAMPLE = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
RFC_SORTED_VALUES = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]

# RFC 8785 Appendix B: IEEE 754 bit pattern -> canonical text (None: no canonical form).
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("7fffffffffffffff", None),
    ("7ff0000000000000", None),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def test_the_rfc_sample_object() -> None:
    expected = RFC_SAMPLE_CANONICAL.encode()
    assert expected == bytes.fromhex(RFC_SAMPLE_HEX)
    assert canonical(json.loads(RFC_SAMPLE)) == expected
    assert canonical(parse_canonical(expected)) == expected


def test_the_rfc_sorting_sample() -> None:
    data = canonical(json.loads(RFC_SORTING_SAMPLE))
    assert list(parse_canonical(data).values()) == RFC_SORTED_VALUES
    assert data.startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control"')


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_numbers(bits: str, expected: str | None) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    if expected is None:
        with pytest.raises(CanonicalFormError, match="no RFC 8785 canonical form"):
            canonical(value)
    else:
        assert canonical(value) == expected.encode()
        assert canonical([value]) == f"[{expected}]".encode()


def test_the_reference_implementations_weird_sample() -> None:
    """cyberphone/json-canonicalization testdata weird.json: sorting across planes, and
    characters (U+0080, U+007F, '</script>') that must not be escaped."""
    given_text = (
        '{"\\u20ac":"Euro Sign","1":"One","\\u0080":"Control\\u007f","\\ud83d\\ude02":"Smiley",'
        '"\\u00f6":"Latin Small Letter O With Diaeresis","\\ufb33":"Hebrew Letter Dalet With '
        'Dagesh","</script>":"Browser Challenge"}'
    )
    expected = (
        '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","ö":"Latin Small '
        'Letter O With Diaeresis","€":"Euro Sign","\U0001f602":"Smiley","\ufb33":"Hebrew Letter '
        'Dalet With Dagesh"}'
    ).encode()
    assert canonical(json.loads(given_text)) == expected


def test_values_without_a_canonical_form() -> None:
    with pytest.raises(CanonicalFormError, match="exceeds safe integer domain"):
        canonical({"amount_cents": 2**53})
    with pytest.raises(CanonicalFormError):
        canonical({"x": float("nan")})
    with pytest.raises(CanonicalFormError):
        canonical({1: "not a string key"})  # type: ignore[dict-item]
    with pytest.raises(CanonicalFormError):
        canonical({"x": {1, 2}})  # type: ignore[dict-item]
    with pytest.raises(CanonicalFormError, match="non-UTF-8"):
        canonical({"x": "\udead"})


# --- parse_canonical --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"b":1,"a":2}', 'first difference at byte 2: expected b\'a":2,"b":1}\''),
        (b'{"a": 1}', "first difference at byte 5"),
        (b'{"a":1}\n', "first difference at byte 7: expected b'', got b'\\\\n'"),
        (b'{"a":1.0}', "first difference at byte 6"),
        (b'{"a":1E30}', "first difference at byte 6"),
        (b'{"a":-0}', "first difference at byte 5"),
        (b'{"a":"\\u0041"}', "first difference at byte 6"),
        (b'{"a":"\\/"}', "first difference at byte 6"),
        (b'\xef\xbb\xbf{"a":1}', "not JSON"),
        (b'{"a":1,"a":1}', "duplicate member name 'a'"),
        (b'{"a":NaN}', "NaN is not JSON"),
        (b'{"a":Infinity}', "Infinity is not JSON"),
        (b'{"a":1e400}', "no RFC 8785 canonical form"),
        (b'{"a":9007199254740993}', "first difference at byte 20"),
        (b'{"a":"\\ud800"}', "no RFC 8785 canonical form"),
        (b'{"a":"\xff"}', "byte 6 is not"),
        (b"[1,2]", "expected a JSON object, got list"),
        (b'{"a":', "not JSON: Expecting value at byte 5"),
    ],
)
def test_non_canonical_input_is_refused_with_the_place(data: bytes, message: str) -> None:
    with pytest.raises(CanonicalFormError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_canonical(data)


def test_deep_nesting_is_refused_not_crashed() -> None:
    with pytest.raises(CanonicalFormError, match="nested too deeply"):
        parse_canonical(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(CanonicalFormError, match="nested too deeply"):
        canonical({"a": deep})


def test_large_doubles_in_canonical_form_are_accepted() -> None:
    """1e16 prints as digits; reading them back must not trip the safe-integer check."""
    data = canonical({"x": 1e16})
    assert data == b'{"x":10000000000000000}'
    assert parse_canonical(data) == {"x": 1e16}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


@given(json_objects)
def test_canonical_bytes_parse_back_to_the_same_bytes(value: dict[str, Any]) -> None:
    data = canonical(value)
    parsed = parse_canonical(data)
    assert canonical(parsed) == data
    assert parsed == value


@given(json_objects, st.randoms(use_true_random=False))
def test_member_order_does_not_matter(value: dict[str, Any], rng: Any) -> None:
    items = list(value.items())
    rng.shuffle(items)
    assert canonical(dict(items)) == canonical(value)


@given(json_objects.filter(bool))
def test_pretty_printed_json_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(CanonicalFormError, match="first difference at byte 1"):
        parse_canonical(json.dumps(value, indent=1, ensure_ascii=False).encode())


# --- entry signatures -------------------------------------------------------------------

KEYS = {party: Ed25519PrivateKey.generate() for party in ("alpha", "bravo", "charlie")}
ENTRY: dict[str, Any] = {
    "type": "placement_fee",
    "entry_id": "0f6b2c1e",
    "payer": "alpha",
    "payee": "bravo",
    "amount_cents": 125_000,
    "at": "2025-03-01T09:30:00Z",
    "meta": {"contract": "fixed-term", "hours": 32},
}
BOTH = ("alpha", "bravo")


def resolve(party: str, key_id: str) -> Ed25519PublicKey:
    if key_id != f"{party}-key-1":
        raise LookupError(f"unknown key {key_id} for {party}")
    return KEYS[party].public_key()


def signed_by(*parties: str, entry: dict[str, Any] | None = None) -> dict[str, Any]:
    result = dict(ENTRY if entry is None else entry)
    for party in parties:
        result = sign_entry(result, key=KEYS[party], key_id=f"{party}-key-1", party=party)
    return result


def test_both_parties_sign_and_it_verifies() -> None:
    entry = signed_by("alpha", "bravo")
    verify_entry(entry, resolve_key=resolve, required_parties=BOTH)
    assert [s["party"] for s in entry[SIGNATURES]] == ["alpha", "bravo"]
    assert SIGNATURES not in ENTRY  # signing copies, never mutates
    sig = entry[SIGNATURES][0]["sig"]
    assert len(sig) == 86  # 64 bytes in unpadded base64url
    assert "=" not in sig
    assert "+" not in sig
    assert "/" not in sig


def test_signatures_cover_the_canonical_form_without_the_signatures_member() -> None:
    entry = signed_by("alpha", "bravo")
    assert signing_bytes(entry) == canonical(ENTRY)
    raw = base64.urlsafe_b64decode(entry[SIGNATURES][0]["sig"] + "==")
    KEYS["alpha"].public_key().verify(raw, canonical(ENTRY))
    # The same entry after a trip through its canonical bytes, with signatures reordered.
    reread = parse_canonical(canonical(entry))
    reread[SIGNATURES].reverse()
    verify_entry(reread, resolve_key=resolve, required_parties=BOTH)


def test_a_missing_party_is_named() -> None:
    with pytest.raises(EntrySignatureError, match="signed by 1 of 2 parties: missing bravo"):
        verify_entry(signed_by("alpha"), resolve_key=resolve, required_parties=BOTH)
    with pytest.raises(EntrySignatureError, match="signed by 0 of 2 parties: missing alpha, bravo"):
        verify_entry(ENTRY, resolve_key=resolve, required_parties=BOTH)


def test_an_unknown_party_is_refused() -> None:
    entry = signed_by("alpha", "bravo", "charlie")
    with pytest.raises(
        EntrySignatureError, match="signed by unknown party charlie; expected only alpha, bravo"
    ):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)


def test_a_duplicate_signature_is_refused() -> None:
    entry = signed_by("alpha", "bravo")
    entry[SIGNATURES].append(dict(entry[SIGNATURES][0]))
    with pytest.raises(EntrySignatureError, match="signed: alpha 2 times"):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)
    with pytest.raises(EntrySignatureError, match="alpha has already signed"):
        sign_entry(signed_by("alpha"), key=KEYS["alpha"], key_id="alpha-key-1", party="alpha")


def test_a_signature_by_the_wrong_key_fails() -> None:
    entry = signed_by("alpha")
    entry = sign_entry(entry, key=KEYS["charlie"], key_id="bravo-key-1", party="bravo")
    with pytest.raises(EntrySignatureError, match="signature by bravo with key bravo-key-1"):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)


def test_an_unknown_key_id_is_the_resolvers_error() -> None:
    entry = sign_entry(signed_by("alpha"), key=KEYS["bravo"], key_id="bravo-key-9", party="bravo")
    with pytest.raises(LookupError, match="unknown key bravo-key-9 for bravo"):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)


@pytest.mark.parametrize(
    ("signatures", "message"),
    [
        ("alpha", "signatures must be a list, got str"),
        (["alpha"], r"signatures\[0\] must have exactly the members key_id, party, sig; got str"),
        ([{"party": "alpha", "sig": "x"}], r"got \['party', 'sig'\]"),
        (
            [{"party": "alpha", "key_id": "alpha-key-1", "sig": "x", "extra": 1}],
            r"got \['extra', 'key_id', 'party', 'sig'\]",
        ),
        ([{"party": "alpha", "key_id": 1, "sig": "x"}], "members must be non-empty strings"),
        ([{"party": "alpha", "key_id": "alpha-key-1", "sig": "a+b/"}], "outside base64url"),
        ([{"party": "alpha", "key_id": "alpha-key-1", "sig": "AAAA"}], "got 3 bytes"),
    ],
)
def test_malformed_signatures_are_refused(signatures: object, message: str) -> None:
    entry = {**signed_by("bravo"), SIGNATURES: signatures}
    if isinstance(signatures, list) and signatures and isinstance(signatures[0], dict):
        entry[SIGNATURES] = [*signatures, signed_by("bravo")[SIGNATURES][0]]
    with pytest.raises(EntrySignatureError, match=message):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)


def test_padded_or_non_canonical_base64url_is_refused() -> None:
    entry = signed_by("alpha", "bravo")
    entry[SIGNATURES][0]["sig"] += "=="
    with pytest.raises(EntrySignatureError, match="outside base64url"):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)
    entry = signed_by("alpha", "bravo")
    sig = entry[SIGNATURES][0]["sig"]
    # The last character carries 2 unused bits; setting one spells the same bytes differently.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    entry[SIGNATURES][0]["sig"] = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    with pytest.raises(EntrySignatureError, match="canonical unpadded base64url"):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)


json_changes = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), st.text(max_size=12)
)


@given(field=st.sampled_from(sorted(ENTRY)), value=json_changes)
def test_tampering_with_any_field_breaks_verification(field: str, value: JSONValue) -> None:
    entry = signed_by("alpha", "bravo")
    if canonical(entry[field]) == canonical(value):
        return  # not a change
    entry[field] = value
    with pytest.raises(EntrySignatureError, match="does not verify over the entry's canonical"):
        verify_entry(entry, resolve_key=resolve, required_parties=BOTH)


@given(name=st.text(min_size=1, max_size=8).filter(lambda n: n not in ENTRY and n != SIGNATURES))
def test_adding_or_removing_a_field_breaks_verification(name: str) -> None:
    added = {**signed_by("alpha", "bravo"), name: "smuggled"}
    with pytest.raises(EntrySignatureError, match="does not verify"):
        verify_entry(added, resolve_key=resolve, required_parties=BOTH)
    removed = signed_by("alpha", "bravo")
    del removed["amount_cents"]
    with pytest.raises(EntrySignatureError, match="does not verify"):
        verify_entry(removed, resolve_key=resolve, required_parties=BOTH)


@given(entry=json_objects.filter(lambda e: SIGNATURES not in e))
def test_any_entry_signs_and_verifies_after_a_canonical_round_trip(entry: dict[str, Any]) -> None:
    signed = signed_by("alpha", "bravo", entry=entry)
    verify_entry(parse_canonical(canonical(signed)), resolve_key=resolve, required_parties=BOTH)


def test_signing_needs_a_party_and_verifying_needs_required_parties() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        sign_entry(ENTRY, key=KEYS["alpha"], key_id="", party="alpha")
    with pytest.raises(ValueError, match="at least one required party"):
        verify_entry(signed_by("alpha"), resolve_key=resolve, required_parties=())
