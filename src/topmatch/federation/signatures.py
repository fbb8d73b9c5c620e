"""HTTP Message Signatures for node-to-node traffic: the Topmatch profile. Pure: no I/O, no clock.

Profile ``topmatch/1``
======================

Every federation request and response carries one RFC 9421 signature labelled ``sig1``,
made with Ed25519 (RFC 9421 section 3.3.6, RFC 8032 section 5.1), and body integrity comes
from an RFC 9530 ``Content-Digest`` field with ``sha-256`` (RFC 9530 section 2), for
example ``Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:``.

Covered components (RFC 9421 section 2), in this order:

* request: ``"@method"`` (section 2.2.1), ``"@target-uri"`` (section 2.2.2: the full absolute
  URI as sent, e.g. ``https://peer.example/federation/feed?after=3``), and ``"content-digest"``
  (section 2.1) when the request has a body (any non-empty body). A request without a body
  has no Content-Digest.
* response: ``"@status"`` (section 2.2.9), ``"content-digest"`` (always, even for an empty
  body), and the request binding of section 2.4: ``"@method";req``, ``"@target-uri";req`` and
  ``"signature";req;key="sig1"`` (section 2.1.2: the request's ``sig1`` signature value), so a
  response cannot be replayed as the answer to another request.

Signature parameters (section 2.3), in this order: ``created`` (integer seconds), ``keyid``,
``nonce``, ``alg="ed25519"``, ``tag="topmatch/1"``.

Verification (section 3.2, with the application requirements of section 3.2.1) checks, in
order, and raises the first failure (see :mod:`topmatch.federation.errors`):

1. ``Signature-Input`` and ``Signature`` are present, parse as Structured Field Dictionaries
   and both have a well-formed ``sig1`` member (section 4.1, 4.2);
2. ``sig1`` covers every required component (section 7.2.1) and has ``created``, ``keyid``
   and ``nonce``; ``alg``, when present, is ``ed25519``; ``tag``, when present, is
   ``topmatch/1`` (section 2.3: ``tag`` names the application a signature was made for);
3. freshness: ``|now - created| <= max_skew``, and ``expires`` (if any) has not passed;
4. the Content-Digest matches the body bytes received (RFC 9530 section 2: the content as
   transmitted, so after any Content-Encoding; callers must pass the raw bytes, not bytes
   an HTTP client has already decompressed);
5. the key resolver is asked for ``keyid`` (it raises unknown/suspended/expired itself);
6. Ed25519 verification over the signature base rebuilt from the received message.

Nonce replay is *not* detected here (section 7.2.2): the caller keeps the nonce store and
gets the nonce back in :class:`Verified`.

Structured fields
=================

``Signature-Input``, ``Signature`` and ``Content-Digest`` are RFC 8941 Dictionaries, parsed
and serialised with ``http-sf`` (Mark Nottingham's implementation of RFC 9651, which
obsoletes RFC 8941 and keeps every construct used here unchanged). It replaces his older
``http-sfv``, which is marked deprecated, and it is the library the independent
``http-message-signatures`` implementation uses too. Serialisation is canonical, which
section 2.3 requires for the ``@signature-params`` line that a verifier rebuilds from the
parsed ``Signature-Input``.

HTTP field names are case-insensitive (RFC 9110 section 5.1). Several field lines of one
name are combined in order with ``", "`` after trimming each value (RFC 9421 section 2.1,
RFC 9110 section 5.3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_sf.types import BareItemType, DictionaryType, InnerListType, ItemType, ParamsType

from topmatch.federation.errors import (
    BadSignatureError,
    DigestMismatchError,
    MalformedSignatureError,
    MissingSignatureError,
    StaleSignatureError,
)

LABEL: Final = "sig1"
ALGORITHM: Final = "ed25519"
TAG: Final = "topmatch/1"

# RFC 8032 section 5.1.6: an Ed25519 signature is R || S, 32 bytes each.
_ED25519_SIGNATURE_BYTES: Final = 64
# RFC 9110 section 15: a status code is three digits.
_STATUS_MIN: Final = 100
_STATUS_MAX: Final = 999
# RFC 9530 section 2 / IANA registry: the algorithms we can check. Only sha-256 is required;
# a sha-512 member, if a peer adds one, is checked as well; unknown ones are ignored.
_DIGESTS: Final[dict[str, Callable[[bytes], bytes]]] = {
    "sha-256": lambda data: hashlib.sha256(data).digest(),
    "sha-512": lambda data: hashlib.sha512(data).digest(),
}
_REQUIRED_DIGEST: Final = "sha-256"

ParamValue = str | bool


@dataclass(frozen=True)
class Component:
    """A component identifier (RFC 9421 section 2): a name and its parameters, in order."""

    name: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    @property
    def identity(self) -> tuple[str, frozenset[tuple[str, ParamValue]]]:
        """Two identifiers with the same name and parameters name the same component."""
        return (self.name, frozenset(self.params))

    def serialize(self) -> str:
        """The identifier as an RFC 8941 String with parameters, e.g. ``"@method";req``."""
        return http_sf.ser(self._item())

    def _item(self) -> ItemType:
        return (self.name, dict(self.params))


METHOD: Final = Component("@method")
TARGET_URI: Final = Component("@target-uri")
STATUS: Final = Component("@status")
CONTENT_DIGEST: Final = Component("content-digest")
# RFC 9421 section 2.4: components of the request that a response answers.
REQUEST_METHOD: Final = Component("@method", (("req", True),))
REQUEST_TARGET_URI: Final = Component("@target-uri", (("req", True),))
REQUEST_SIGNATURE: Final = Component("signature", (("req", True), ("key", LABEL)))


@dataclass(frozen=True)
class Verified:
    """What a verified ``sig1`` signature vouches for."""

    key_id: str
    created: int
    nonce: str
    signature: bytes  # raw signature bytes of sig1; a response binds to them


# --- RFC 9421 section 2.5: the signature base ------------------------------------------


def signature_params(covered: Sequence[Component], params: Mapping[str, BareItemType]) -> str:
    """The ``@signature-params`` value (RFC 9421 section 2.3): the serialised inner list.

    It is also the value of the signature's member in ``Signature-Input`` (section 4.1).
    """
    inner: InnerListType = ([c._item() for c in covered], dict(params))
    # A List with one member serialises exactly as that member (RFC 8941 section 4.1.1).
    return http_sf.ser([inner])


def signature_base(
    covered: Sequence[tuple[Component, str]], params: Mapping[str, BareItemType]
) -> bytes:
    """The signature base of RFC 9421 section 2.5, for any components and parameters.

    ``covered`` pairs each component identifier with its already-resolved value. Each line
    is ``<identifier>: <value>``, then the ``"@signature-params"`` line; lines are joined by
    LF with no trailing LF. Raises ValueError where section 2.5 says to fail: a component
    listed twice, or a value that cannot appear in the (ASCII, line-based) base.
    """
    seen: set[tuple[str, frozenset[tuple[str, ParamValue]]]] = set()
    lines: list[str] = []
    for component, value in covered:
        if component.identity in seen:
            raise ValueError(f"component {component.serialize()} is covered twice")
        seen.add(component.identity)
        _check_base_value(component, value)
        lines.append(f"{component.serialize()}: {value}")
    covered_ids = [component for component, _ in covered]
    lines.append(f'"@signature-params": {signature_params(covered_ids, params)}')
    return "\n".join(lines).encode("ascii")


def _check_base_value(component: Component, value: str) -> None:
    # The base is ASCII and line-based: a CR, LF or other control character (HTAB excepted,
    # RFC 9110 section 5.5) or a non-ASCII character in a value would make it ambiguous.
    for char in value:
        if char != "\t" and not " " <= char <= "~":
            raise ValueError(
                f"the value of {component.serialize()} contains {char!r}; "
                "only printable ASCII and HTAB can go into a signature base"
            )


def signature_fields(
    *,
    label: str,
    covered: Sequence[Component],
    params: Mapping[str, BareItemType],
    signature: bytes,
) -> dict[str, str]:
    """The ``Signature-Input`` and ``Signature`` fields for one signature (RFC 9421 4.1, 4.2)."""
    inner: InnerListType = ([c._item() for c in covered], dict(params))
    return {
        "Signature-Input": http_sf.ser({label: inner}),
        "Signature": http_sf.ser({label: (signature, {})}),
    }


# --- RFC 9530: Content-Digest -----------------------------------------------------------


def content_digest(body: bytes) -> str:
    """The Content-Digest field value for ``body``: ``sha-256=:<base64>:`` (RFC 9530 sec. 2)."""
    return http_sf.ser({_REQUIRED_DIGEST: (hashlib.sha256(body).digest(), {})})


def check_content_digest(header: str | None, body: bytes) -> None:
    """Check a Content-Digest field value against the body bytes received.

    A non-empty body needs the field (MissingSignatureError); an empty body may go without.
    The field must have a ``sha-256`` member (MalformedSignatureError) and every member we
    can compute must match (DigestMismatchError).
    """
    if header is None:
        if body:
            raise MissingSignatureError(
                f"the body has {len(body)} bytes but there is no Content-Digest field",
                field="Content-Digest",
            )
        return
    _check_digest_value(header, body)


def _check_digest_value(header: str, body: bytes) -> None:
    members = _parse_dictionary(header, "Content-Digest")
    if _REQUIRED_DIGEST not in members:
        raise MalformedSignatureError(
            f"Content-Digest has no {_REQUIRED_DIGEST} member (it has: "
            f"{', '.join(members) or 'none'}); this profile requires {_REQUIRED_DIGEST}",
            field="Content-Digest",
        )
    for algorithm, member in members.items():
        if algorithm in _DIGESTS:
            _check_one_digest(algorithm, member, body)


def _check_one_digest(algorithm: str, member: object, body: bytes) -> None:
    claimed = _bare_item(member)
    actual = _DIGESTS[algorithm](body)
    if not isinstance(claimed, bytes) or len(claimed) != len(actual):
        raise MalformedSignatureError(
            f"Content-Digest {algorithm} must be a {len(actual)}-byte Byte Sequence, "
            f"got {claimed!r}",
            field="Content-Digest",
        )
    if not hmac.compare_digest(claimed, actual):
        raise DigestMismatchError(
            f"Content-Digest {algorithm} of the body is {_b64(actual)}, "
            f"header says {_b64(claimed)}",
            field="Content-Digest",
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- signing ----------------------------------------------------------------------------


def _profile_params(*, key_id: str, created: int, nonce: str) -> dict[str, BareItemType]:
    return {"created": created, "keyid": key_id, "nonce": nonce, "alg": ALGORITHM, "tag": TAG}


def _sign(
    covered: Sequence[tuple[Component, str]],
    *,
    key: Ed25519PrivateKey,
    key_id: str,
    created: int,
    nonce: str,
) -> dict[str, str]:
    params = _profile_params(key_id=key_id, created=created, nonce=nonce)
    signature = key.sign(signature_base(covered, params))
    return signature_fields(
        label=LABEL, covered=[c for c, _ in covered], params=params, signature=signature
    )


def sign_request(
    *,
    method: str,
    url: str,
    body: bytes,
    key: Ed25519PrivateKey,
    key_id: str,
    created: int,
    nonce: str,
) -> dict[str, str]:
    """Sign a request; return the fields to add: Signature-Input, Signature, Content-Digest.

    ``url`` is the absolute URI exactly as it will be sent. Content-Digest is added (and
    covered) only when ``body`` is non-empty.
    """
    covered = [(METHOD, method), (TARGET_URI, url)]
    fields: dict[str, str] = {}
    if body:
        fields["Content-Digest"] = content_digest(body)
        covered.append((CONTENT_DIGEST, fields["Content-Digest"]))
    fields |= _sign(covered, key=key, key_id=key_id, created=created, nonce=nonce)
    return fields


def sign_response(
    *,
    status: int,
    body: bytes,
    request_method: str,
    request_url: str,
    request_signature: bytes,
    key: Ed25519PrivateKey,
    key_id: str,
    created: int,
    nonce: str,
) -> dict[str, str]:
    """Sign a response bound to the request it answers (RFC 9421 section 2.4).

    ``request_signature`` is :attr:`Verified.signature` of that request. Returns
    Signature-Input, Signature and Content-Digest (present even for an empty body).
    """
    digest = content_digest(body)
    covered = [
        (STATUS, _status_value(status)),
        (CONTENT_DIGEST, digest),
        (REQUEST_METHOD, request_method),
        (REQUEST_TARGET_URI, request_url),
        (REQUEST_SIGNATURE, _byte_sequence(request_signature)),
    ]
    fields = {"Content-Digest": digest}
    fields |= _sign(covered, key=key, key_id=key_id, created=created, nonce=nonce)
    return fields


def _status_value(status: int) -> str:
    # RFC 9421 section 2.2.9: the three-digit status code.
    if not _STATUS_MIN <= status <= _STATUS_MAX:
        raise ValueError(f"an HTTP status code has three digits, got {status}")
    return str(status)


def _byte_sequence(value: bytes) -> str:
    # RFC 9421 section 2.1.2: a Dictionary member's value is its serialisation, here the
    # Byte Sequence ``:<base64>:`` of the request's sig1 member (it carries no parameters).
    return http_sf.ser((value, {}))


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Received:
    """The ``sig1`` member of Signature-Input and Signature, parsed."""

    covered: list[Component]
    params: ParamsType
    signature: bytes


@dataclass(frozen=True)
class _Params:
    key_id: str
    created: int
    nonce: str
    expires: int | None


def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: Callable[[str], Ed25519PublicKey],
    now: int,
    max_skew: int = 300,
) -> Verified:
    """Verify the ``sig1`` signature of a received request (order: see the module docstring).

    ``url`` is the absolute URI the request was sent to; ``body`` the bytes received.
    """
    required = [METHOD, TARGET_URI, CONTENT_DIGEST] if body else [METHOD, TARGET_URI]
    received = _read_signature(headers)
    params = _check_profile(received, required)
    _check_freshness(params, now=now, max_skew=max_skew)
    check_content_digest(_field(headers, "content-digest"), body)
    derived = {METHOD.identity: method, TARGET_URI.identity: url}
    base = _rebuild_base(received, derived, headers)
    return _verify_signature(received, params, base, resolve_key(params.key_id))


def verify_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    request_method: str,
    request_url: str,
    request_signature: bytes,
    resolve_key: Callable[[str], Ed25519PublicKey],
    now: int,
    max_skew: int = 300,
) -> Verified:
    """Verify the ``sig1`` signature of a response to the request we sent.

    ``request_*`` describe that request; ``request_signature`` is the raw ``sig1`` value we
    sent, so a response made for another request fails with BadSignatureError.
    """
    required = [STATUS, CONTENT_DIGEST, REQUEST_METHOD, REQUEST_TARGET_URI, REQUEST_SIGNATURE]
    received = _read_signature(headers)
    params = _check_profile(received, required)
    _check_freshness(params, now=now, max_skew=max_skew)
    _check_response_digest(_field(headers, "content-digest"), body)
    derived = {
        STATUS.identity: str(status),
        REQUEST_METHOD.identity: request_method,
        REQUEST_TARGET_URI.identity: request_url,
        REQUEST_SIGNATURE.identity: _byte_sequence(request_signature),
    }
    base = _rebuild_base(received, derived, headers)
    return _verify_signature(received, params, base, resolve_key(params.key_id))


def signature_of(headers: Mapping[str, str]) -> bytes:
    """The raw ``sig1`` signature bytes of a message, e.g. of a request we sent.

    This is what :func:`sign_response` and :func:`verify_response` take as
    ``request_signature``. Raises MissingSignatureError or MalformedSignatureError.
    """
    return _signature_value(_signature_dictionary(headers, "Signature")[LABEL])


def _check_response_digest(header: str | None, body: bytes) -> None:
    if header is None:
        raise MissingSignatureError(
            f"the response has no Content-Digest field (body of {len(body)} bytes); "
            "this profile requires one on every response",
            field="Content-Digest",
        )
    _check_digest_value(header, body)


# Step 1: the fields are there and well-formed.


def _field(headers: Mapping[str, str], name: str) -> str | None:
    """The combined value of field ``name``, case-insensitively (RFC 9421 section 2.1)."""
    values = [value.strip(" \t") for key, value in headers.items() if key.lower() == name]
    return ", ".join(values) if values else None


def _read_signature(headers: Mapping[str, str]) -> _Received:
    inputs = _signature_dictionary(headers, "Signature-Input")
    signatures = _signature_dictionary(headers, "Signature")
    covered, params = _inner_list(inputs[LABEL])
    return _Received(covered, params, _signature_value(signatures[LABEL]))


def _signature_dictionary(headers: Mapping[str, str], name: str) -> DictionaryType:
    value = _field(headers, name.lower())
    if value is None:
        raise MissingSignatureError(
            f"the message has no {name} field; expected a {LABEL} signature", field=name
        )
    members = _parse_dictionary(value, name)
    if LABEL not in members:
        raise MissingSignatureError(
            f"{name} has no {LABEL} member (labels present: {', '.join(members) or 'none'})",
            field=name,
        )
    return members


def _parse_dictionary(value: str, name: str) -> DictionaryType:
    def reject_duplicate(key: str, context: str) -> None:
        # RFC 8941 keeps the last of duplicate keys; for a signature that silently drops
        # what was signed, so we refuse instead.
        raise ValueError(f"duplicate {context} key {key!r}")

    try:
        parsed = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=reject_duplicate
        )
    except ValueError as e:  # StructuredFieldError and UnicodeEncodeError are ValueErrors
        raise MalformedSignatureError(
            f"{name} is not a Structured Field Dictionary (RFC 8941 section 3.2): {e}",
            field=name,
        ) from e
    if not isinstance(parsed, dict):  # pragma: no cover - tltype="dictionary" returns dicts
        raise MalformedSignatureError(f"{name} is not a Dictionary", field=name)
    return parsed


def _bare_item(member: object) -> object:
    """The value of a parsed Item, without its parameters."""
    if isinstance(member, tuple) and len(member) == 2:  # noqa: PLR2004 - (value, params)
        return member[0]
    return member


def _inner_list(member: object) -> tuple[list[Component], ParamsType]:
    # RFC 9421 section 4.1: each Signature-Input member is an Inner List of component
    # identifiers (Strings with parameters), with the signature parameters on the list.
    if not (isinstance(member, tuple) and isinstance(member[0], list)):
        raise MalformedSignatureError(
            f"Signature-Input {LABEL} must be an Inner List of component identifiers, "
            f"got {member!r}",
            field="Signature-Input",
        )
    items: list[object] = list(member[0])
    params: ParamsType = dict(member[1])
    return [_component(item) for item in items], params


def _component(item: object) -> Component:
    if not (isinstance(item, tuple) and isinstance(item[0], str)):
        raise MalformedSignatureError(
            f"Signature-Input {LABEL} lists {item!r}; component identifiers are Strings",
            field="Signature-Input",
        )
    name: str = item[0]
    raw_params: dict[str, object] = dict(item[1])
    params: list[tuple[str, ParamValue]] = []
    for key, value in raw_params.items():
        if not isinstance(value, str | bool):
            raise MalformedSignatureError(
                f"component {name!r} has parameter {key}={value!r}; RFC 9421 component "
                "parameters are Strings or Booleans",
                field="Signature-Input",
            )
        params.append((key, value))
    return Component(name, tuple(params))


def _signature_value(member: object) -> bytes:
    # RFC 9421 section 4.2: each Signature member is a Byte Sequence.
    value = _bare_item(member)
    if not isinstance(value, bytes):
        raise MalformedSignatureError(
            f"Signature {LABEL} must be a Byte Sequence, got {value!r}", field="Signature"
        )
    if len(value) != _ED25519_SIGNATURE_BYTES:
        raise MalformedSignatureError(
            f"Signature {LABEL} has {len(value)} bytes; an Ed25519 signature has "
            f"{_ED25519_SIGNATURE_BYTES} (RFC 8032 section 5.1.6)",
            field="Signature",
        )
    return value


# Step 2: the signature follows the profile.


def _check_profile(received: _Received, required: Sequence[Component]) -> _Params:
    covered = {component.identity for component in received.covered}
    missing = [c.serialize() for c in required if c.identity not in covered]
    if missing:
        listed = " ".join(c.serialize() for c in received.covered)
        raise MalformedSignatureError(
            f"{LABEL} must cover {' '.join(missing)}; it covers ({listed})",
            field="Signature-Input",
        )
    return _check_params(received.params)


def _check_params(params: ParamsType) -> _Params:
    _check_fixed_param(params, "alg", ALGORITHM)
    _check_fixed_param(params, "tag", TAG)
    for name in ("created", "keyid", "nonce"):
        if name not in params:
            raise MalformedSignatureError(
                f"{LABEL} has no {name} parameter; this profile requires created, keyid and nonce",
                field="Signature-Input",
            )
    expires = params.get("expires")
    return _Params(
        key_id=_string_param("keyid", params["keyid"]),
        created=_integer_param("created", params["created"]),
        nonce=_string_param("nonce", params["nonce"]),
        expires=None if expires is None else _integer_param("expires", expires),
    )


def _check_fixed_param(params: ParamsType, name: str, expected: str) -> None:
    # RFC 9421 section 3.2.1: an application may mandate an algorithm and a tag.
    if name in params and params[name] != expected:
        raise MalformedSignatureError(
            f"{LABEL} has {name}={params[name]!r}; this profile requires {name}={expected!r}",
            field="Signature-Input",
        )


def _string_param(name: str, value: object) -> str:
    # A Token is not a String (RFC 9421 section 2.3 makes keyid and nonce Strings).
    if not isinstance(value, str) or not value:
        raise MalformedSignatureError(
            f"{LABEL} parameter {name} must be a non-empty String, got {value!r}",
            field="Signature-Input",
        )
    return value


def _integer_param(name: str, value: object) -> int:
    # A Python bool is an int, but an RFC 8941 Boolean is not an Integer.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedSignatureError(
            f"{LABEL} parameter {name} must be an Integer, got {value!r}",
            field="Signature-Input",
        )
    return value


# Step 3: freshness.


def _check_freshness(params: _Params, *, now: int, max_skew: int) -> None:
    age = now - params.created
    if age > max_skew:
        raise StaleSignatureError(
            f"created {age} s ago, more than the {max_skew} s allowed", field="Signature-Input"
        )
    if -age > max_skew:
        raise StaleSignatureError(
            f"created {-age} s in the future, more than the {max_skew} s allowed",
            field="Signature-Input",
        )
    if params.expires is not None and now > params.expires:
        raise StaleSignatureError(
            f"expired {now - params.expires} s ago (expires={params.expires}, now={now})",
            field="Signature-Input",
        )


# Steps 4 to 6: rebuild the base from the received message and check the signature.


def _rebuild_base(
    received: _Received,
    derived: Mapping[tuple[str, frozenset[tuple[str, ParamValue]]], str],
    headers: Mapping[str, str],
) -> bytes:
    values = [(c, _component_value(c, derived, headers)) for c in received.covered]
    try:
        return signature_base(values, received.params)
    except ValueError as e:
        raise MalformedSignatureError(
            f"cannot build the signature base: {e}", field="Signature-Input"
        ) from e


def _component_value(
    component: Component,
    derived: Mapping[tuple[str, frozenset[tuple[str, ParamValue]]], str],
    headers: Mapping[str, str],
) -> str:
    if component.identity in derived:
        return derived[component.identity]
    if component.name.startswith("@") or component.params:
        raise MalformedSignatureError(
            f"{LABEL} covers {component.serialize()}, which this profile cannot resolve here",
            field="Signature-Input",
        )
    value = _field(headers, component.name)
    if value is None:
        raise MalformedSignatureError(
            f"{LABEL} covers the field {component.name!r}, which the message does not have",
            field="Signature-Input",
        )
    return value


def _verify_signature(
    received: _Received, params: _Params, base: bytes, public_key: Ed25519PublicKey
) -> Verified:
    try:
        public_key.verify(received.signature, base)
    except InvalidSignature as e:
        covered = " ".join(c.serialize() for c in received.covered)
        raise BadSignatureError(
            f"the {LABEL} signature does not verify with key {params.key_id!r} over the "
            f"received ({covered}); the message was altered or signed by another key",
            field="Signature",
        ) from e
    return Verified(
        key_id=params.key_id,
        created=params.created,
        nonce=params.nonce,
        signature=received.signature,
    )
