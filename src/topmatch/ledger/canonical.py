"""Canonical JSON (RFC 8785) and the parties' Ed25519 signatures over ledger entries. Pure.

RFC 8785, the JSON Canonicalization Scheme (JCS), gives every JSON value one byte string:
members sorted by their UTF-16 code units (section 3.2.3), no whitespace, strings escaped
minimally (section 3.2.2.2) and numbers as ECMAScript prints IEEE 754 doubles (section
3.2.2.3, e.g. ``1e+30``, ``0.000001``, ``1e-7``). The serialiser is the ``rfc8785`` package
(Trail of Bits; pure Python, no dependencies). Integers beyond ±(2^53 - 1) have no exact
double and are refused (section 3.2.2.3 and RFC 7493 section 2.2, I-JSON); amounts belong in
integer cents.

A ledger entry is a JSON object signed by each party to the fee. Every party signs the same
bytes, the canonical JSON of the entry without its ``signatures`` member, and adds
``{"party", "key_id", "sig"}`` to that member, ``sig`` being the Ed25519 signature (RFC 8032
section 5.1.6) in unpadded base64url (RFC 4648 section 5). Because the signed bytes are the
canonical form, a verifier can rebuild them from any faithful parse of the entry; entries
read from the wire go through :func:`parse_canonical`, which refuses anything that is not
already canonical, so the bytes stored are the bytes signed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final, TypeAlias

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from topmatch.ledger.errors import CanonicalFormError, EntrySignatureError

#: The member of an entry that holds the parties' signatures; it is not itself signed.
SIGNATURES: Final = "signatures"
_SIGNATURE_MEMBERS: Final = frozenset({"party", "key_id", "sig"})
_ED25519_SIGNATURE_SIZE: Final = 64
#: RFC 8785 section 3.2.2.3 / RFC 7493 section 2.2: integers a double holds exactly.
_MAX_SAFE_INTEGER: Final = 2**53 - 1
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_EXCERPT: Final = 16

JSONValue: TypeAlias = (
    "bool | int | float | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"
)
#: ``resolve_key(party, key_id)``: the caller's key registry. It raises its own error for a
#: key it does not know (or that was not valid for that party).
KeyResolver: TypeAlias = Callable[[str, str], Ed25519PublicKey]


def canonical(obj: JSONValue) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value built from dicts, lists, tuples,
    strings, integers, floats, booleans and None."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as e:
        raise CanonicalFormError(f"value has no RFC 8785 canonical form: {e}") from e
    except RecursionError as e:
        raise CanonicalFormError("value is nested too deeply to canonicalise") from e


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parse a JSON object that must already be in RFC 8785 canonical form.

    The value is parsed (no duplicate member names, no NaN or Infinity), canonicalised again
    and compared byte for byte; the error names the first byte at which they differ.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalFormError(f"canonical JSON is UTF-8; byte {e.start} is not") from e
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
            parse_int=_parse_integer,
        )
    except json.JSONDecodeError as e:
        offset = len(text[: e.pos].encode())
        raise CanonicalFormError(f"not JSON: {e.msg} at byte {offset}") from e
    except RecursionError as e:
        raise CanonicalFormError("JSON is nested too deeply to parse") from e
    if not isinstance(value, dict):
        raise CanonicalFormError(f"expected a JSON object, got {type(value).__name__}")
    again = canonical(value)
    if again != data:
        at = _first_difference(again, data)
        raise CanonicalFormError(
            f"not in RFC 8785 canonical form: first difference at byte {at}: "
            f"expected {again[at : at + _EXCERPT]!r}, got {data[at : at + _EXCERPT]!r}"
        )
    return value


def signing_bytes(entry: Mapping[str, Any]) -> bytes:
    """The bytes each party signs: the canonical JSON of the entry without ``signatures``."""
    return canonical({name: value for name, value in entry.items() if name != SIGNATURES})


def sign_entry(
    entry: Mapping[str, Any], *, key: Ed25519PrivateKey, key_id: str, party: str
) -> dict[str, Any]:
    """A copy of ``entry`` with ``party``'s signature added to its ``signatures`` list."""
    if not party or not key_id:
        raise ValueError(f"party and key_id must be non-empty, got {party!r} and {key_id!r}")
    existing = _signatures(entry)
    if any(s["party"] == party for s in existing):
        raise EntrySignatureError(
            f"{party} has already signed this entry; expected one signature per party"
        )
    sig = _b64url(key.sign(signing_bytes(entry)))
    signed = dict(entry)
    signed[SIGNATURES] = [*existing, {"party": party, "key_id": key_id, "sig": sig}]
    return signed


def verify_entry(
    entry: Mapping[str, Any], *, resolve_key: KeyResolver, required_parties: Collection[str]
) -> None:
    """Check that exactly ``required_parties`` signed the entry, each once, each validly.

    Raises :class:`EntrySignatureError` naming what is wrong ("signed by 1 of 2 parties:
    missing bravo"), or whatever ``resolve_key`` raises for a key it does not know.
    """
    required = set(required_parties)
    if not required:
        raise ValueError("an entry needs at least one required party")
    signatures = _signatures(entry)
    parties = Counter(s["party"] for s in signatures)
    unknown = sorted(set(parties) - required)
    if unknown:
        raise EntrySignatureError(
            f"signed by unknown {_plural(len(unknown), 'party', 'parties')} {', '.join(unknown)}; "
            f"expected only {', '.join(sorted(required))}"
        )
    repeated = sorted(party for party, count in parties.items() if count > 1)
    if repeated:
        counts = ", ".join(f"{party} {parties[party]} times" for party in repeated)
        raise EntrySignatureError(f"each party signs once, but signed: {counts}")
    missing = sorted(required - set(parties))
    if missing:
        raise EntrySignatureError(
            f"signed by {len(required) - len(missing)} of {len(required)} parties: "
            f"missing {', '.join(missing)}"
        )
    payload = signing_bytes(entry)
    for signature in signatures:
        _verify_one(signature, payload, resolve_key)


def _verify_one(signature: Mapping[str, str], payload: bytes, resolve_key: KeyResolver) -> None:
    party, key_id = signature["party"], signature["key_id"]
    raw = _b64url_decode(signature["sig"], party=party)
    public_key = resolve_key(party, key_id)
    try:
        public_key.verify(raw, payload)
    except InvalidSignature as e:
        raise EntrySignatureError(
            f"signature by {party} with key {key_id} does not verify over the entry's "
            "canonical form"
        ) from e


def _signatures(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """The entry's ``signatures`` member, checked for shape; absent means none."""
    value = entry.get(SIGNATURES, [])
    if not isinstance(value, list):
        raise EntrySignatureError(f"{SIGNATURES} must be a list, got {type(value).__name__}")
    result: list[dict[str, str]] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != _SIGNATURE_MEMBERS:
            members = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise EntrySignatureError(
                f"{SIGNATURES}[{index}] must have exactly the members key_id, party, sig; "
                f"got {members}"
            )
        if not all(isinstance(v, str) and v for v in item.values()):
            raise EntrySignatureError(f"{SIGNATURES}[{index}] members must be non-empty strings")
        result.append(dict(item))
    return result


def _b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, *, party: str) -> bytes:
    """Strict unpadded base64url: its alphabet only, in the one spelling we would produce."""
    if not _BASE64URL.fullmatch(text):
        raise EntrySignatureError(f"signature by {party} has characters outside base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise EntrySignatureError(f"signature by {party} is not unpadded base64url") from e
    if _b64url(raw) != text or len(raw) != _ED25519_SIGNATURE_SIZE:
        raise EntrySignatureError(
            f"signature by {party} must be {_ED25519_SIGNATURE_SIZE} bytes in canonical "
            f"unpadded base64url, got {len(raw)} bytes"
        )
    return raw


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """RFC 8785 section 3.1 builds on I-JSON (RFC 7493 section 2.3): member names are unique."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise CanonicalFormError(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _refuse_constant(name: str) -> object:
    raise CanonicalFormError(f"{name} is not JSON (RFC 8785 section 3.2.2.3 has no form for it)")


def _parse_integer(literal: str) -> int | float:
    """An integer literal beyond 2^53 - 1 is read as the double it denotes.

    Canonical JSON prints large doubles as digits (1e16 is ``10000000000000000``), so reading
    those digits back as a Python int would make canonical input look out of range.
    """
    value = int(literal)
    return value if abs(value) <= _MAX_SAFE_INTEGER else float(literal)


def _first_difference(a: bytes, b: bytes) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
