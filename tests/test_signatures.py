"""RFC 9421 / RFC 9530 signature core: known answers, interop, round trips, rejections."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from hypothesis import given
from hypothesis import strategies as st

from topmatch.errors import AuthenticationError
from topmatch.federation import errors
from topmatch.federation.errors import (
    BadSignatureError,
    DigestMismatchError,
    MalformedSignatureError,
    MissingSignatureError,
    SignatureError,
    StaleSignatureError,
    UnknownKeyError,
)
from topmatch.federation.signatures import (
    CONTENT_DIGEST,
    METHOD,
    REQUEST_METHOD,
    REQUEST_SIGNATURE,
    REQUEST_TARGET_URI,
    STATUS,
    TAG,
    TARGET_URI,
    Component,
    Verified,
    check_content_digest,
    content_digest,
    sign_request,
    sign_response,
    signature_base,
    signature_fields,
    signature_of,
    verify_request,
    verify_response,
)
from topmatch.identity.keys import b64url_decode, raw_public

# Fixed keys: Ed25519 is deterministic, so every signature in this file is reproducible.
CLIENT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SERVER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
CLIENT_ID = "node-a-key-1"
SERVER_ID = "node-b-key-1"
KEYS: dict[str, Ed25519PublicKey] = {
    CLIENT_ID: CLIENT_KEY.public_key(),
    SERVER_ID: SERVER_KEY.public_key(),
}

CREATED = 1_700_000_000
URL = "https://node-b.example/federation/feed?after=3&limit=50"
BODY = b'{"hello": "world"}'
RESPONSE_BODY = b'{"items": []}'


def resolve(key_id: str) -> Ed25519PublicKey:
    try:
        return KEYS[key_id]
    except KeyError:
        raise UnknownKeyError(f"no peer key {key_id!r}") from None


def signed_request(
    *, method: str = "POST", url: str = URL, body: bytes = BODY, created: int = CREATED
) -> dict[str, str]:
    return sign_request(
        method=method,
        url=url,
        body=body,
        key=CLIENT_KEY,
        key_id=CLIENT_ID,
        created=created,
        nonce="nonce-1",
    )


def verify(
    headers: Mapping[str, str],
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    now: int = CREATED + 1,
    resolve_key: Callable[[str], Ed25519PublicKey] = resolve,
) -> Verified:
    return verify_request(
        method=method, url=url, headers=headers, body=body, resolve_key=resolve_key, now=now
    )


def hand_signed(
    covered: list[tuple[Component, str]],
    params: dict[str, int | str | bool],
    *,
    key: Ed25519PrivateKey = CLIENT_KEY,
    label: str = "sig1",
) -> dict[str, str]:
    """Sign arbitrary coverage and parameters, to build messages that break the profile."""
    signature = key.sign(signature_base(covered, params))
    return signature_fields(
        label=label, covered=[c for c, _ in covered], params=params, signature=signature
    )


PROFILE_PARAMS: dict[str, int | str | bool] = {
    "created": CREATED,
    "keyid": CLIENT_ID,
    "nonce": "nonce-1",
    "alg": "ed25519",
    "tag": TAG,
}


# --- Known answers ----------------------------------------------------------------------

# RFC 9421 Appendix B.1.4, test-key-ed25519 (JWK "d" and "x").
RFC_D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
RFC_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"

# RFC 9421 Appendix B.2.6, the signature base (LF-separated, no trailing LF).
RFC_B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"'
)
RFC_B26_SIGNATURE = (
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)


def test_rfc9421_b26_ed25519_known_answer() -> None:
    key = Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC_D))
    assert raw_public(key.public_key()) == b64url_decode(RFC_X)
    # The request of RFC 9421 Appendix B.2: POST /foo?param=Value&Pet=dog to example.com.
    covered = [
        (Component("date"), "Tue, 20 Apr 2021 02:07:55 GMT"),
        (Component("@method"), "POST"),
        (Component("@path"), "/foo"),
        (Component("@authority"), "example.com"),
        (Component("content-type"), "application/json"),
        (Component("content-length"), "18"),
    ]
    params: dict[str, int | str | bool] = {"created": 1618884473, "keyid": "test-key-ed25519"}

    base = signature_base(covered, params)
    signature = key.sign(base)

    assert base == RFC_B26_BASE.encode("ascii")
    assert base64.b64encode(signature).decode() == RFC_B26_SIGNATURE
    assert signature_fields(
        label="sig-b26", covered=[c for c, _ in covered], params=params, signature=signature
    ) == {
        "Signature-Input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
        '"content-length");created=1618884473;keyid="test-key-ed25519"',
        "Signature": f"sig-b26=:{RFC_B26_SIGNATURE}:",
    }
    key.public_key().verify(base64.b64decode(RFC_B26_SIGNATURE), base)  # raises if wrong


def test_rfc9530_content_digest_known_answer() -> None:
    assert content_digest(BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_content_digest_accepts_extra_sha512_member_and_checks_it() -> None:
    # RFC 9530 section 2 / RFC 9421 Appendix B.2: the sha-512 digest of the same body.
    sha512 = (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmT"
        "HWXvJwew==:"
    )
    check_content_digest(f"{content_digest(BODY)}, {sha512}", BODY)
    wrong_sha512 = base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    with pytest.raises(DigestMismatchError, match="Content-Digest sha-512 of the body is WZDP"):
        check_content_digest(f"{content_digest(BODY)}, sha-512=:{wrong_sha512}:", BODY)
    with pytest.raises(MalformedSignatureError, match="no sha-256 member"):
        check_content_digest(sha512, BODY)


# --- Interop with an independent implementation (pyauth/http-message-signatures) ------------


@dataclass
class LibRequest:
    """The request shape that http-message-signatures reads: method, absolute url, headers."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LibResponse:
    status_code: int
    request: LibRequest
    headers: dict[str, str] = field(default_factory=dict)


def lib_verifier(key_id: str, key: Ed25519PrivateKey) -> HTTPMessageVerifier:
    return HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={key_id: key.public_key()}, private_keys={}),
    )


def lib_signer(key_id: str, key: Ed25519PrivateKey) -> HTTPMessageSigner:
    return HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    )


REQUEST_COVERAGE = ("@method", "@target-uri", "content-digest")
RESPONSE_COVERAGE = (
    "@status",
    "content-digest",
    '"@method";req',
    '"@target-uri";req',
    '"signature";req;key="sig1"',
)


def test_interop_library_verifies_our_request() -> None:
    fields = signed_request()
    request = LibRequest("POST", URL, {"Content-Type": "application/json", **fields})

    # max_age=None: the library reads the wall clock; freshness is our job, tested below.
    [result] = lib_verifier(CLIENT_ID, CLIENT_KEY).verify(
        request, max_age=None, expect_tag=TAG, require_components=REQUEST_COVERAGE, body=BODY
    )

    assert result.label == "sig1"
    assert result.covered_components == {
        '"@method"': "POST",
        '"@target-uri"': URL,
        '"content-digest"': content_digest(BODY),
        '"@signature-params"': fields["Signature-Input"].removeprefix("sig1="),
    }
    assert result.parameters == {
        "created": CREATED,
        "keyid": CLIENT_ID,
        "nonce": "nonce-1",
        "alg": "ed25519",
        "tag": TAG,
    }
    assert result.body == BODY  # it checked our Content-Digest against the body too
    tampered = LibRequest("PUT", URL, request.headers)
    with pytest.raises(InvalidSignature):
        lib_verifier(CLIENT_ID, CLIENT_KEY).verify(tampered, max_age=None, expect_tag=TAG)


def test_interop_we_verify_a_library_signed_request() -> None:
    request = LibRequest("POST", URL, {"Content-Type": "application/json"})
    lib_signer(CLIENT_ID, CLIENT_KEY).sign(
        request,
        key_id=CLIENT_ID,
        created=datetime.fromtimestamp(CREATED, tz=UTC),
        nonce="library-nonce",
        label="sig1",
        tag=TAG,
        covered_component_ids=REQUEST_COVERAGE,
        body=BODY,
    )

    verified = verify(request.headers, now=CREATED + 10)

    assert verified == Verified(
        key_id=CLIENT_ID,
        created=CREATED,
        nonce="library-nonce",
        signature=signature_of(request.headers),
    )
    with pytest.raises(BadSignatureError):
        verify(request.headers, url=URL + "&limit=1")


def test_interop_library_verifies_our_response_bound_to_our_request() -> None:
    request = LibRequest("POST", URL, signed_request())
    response_fields = sign_response(
        status=200,
        body=RESPONSE_BODY,
        request_method="POST",
        request_url=URL,
        request_signature=signature_of(request.headers),
        key=SERVER_KEY,
        key_id=SERVER_ID,
        created=CREATED + 1,
        nonce="nonce-2",
    )
    response = LibResponse(200, request, {"Content-Type": "application/json", **response_fields})

    [result] = lib_verifier(SERVER_ID, SERVER_KEY).verify(
        response,
        max_age=None,
        expect_tag=TAG,
        require_components=RESPONSE_COVERAGE,
        body=RESPONSE_BODY,
    )

    assert list(result.covered_components) == [
        '"@status"',
        '"content-digest"',
        '"@method";req',
        '"@target-uri";req',
        '"signature";req;key="sig1"',
        '"@signature-params"',
    ]
    sig1 = base64.b64encode(signature_of(request.headers)).decode()
    assert result.covered_components['"signature";req;key="sig1"'] == f":{sig1}:"
    # The library also refuses our response when it is shown with another request.
    other = LibRequest("POST", URL, signed_request(body=b"{}"))
    with pytest.raises(InvalidSignature):
        lib_verifier(SERVER_ID, SERVER_KEY).verify(
            LibResponse(200, other, response.headers), max_age=None, expect_tag=TAG
        )


@pytest.mark.parametrize("body", [RESPONSE_BODY, b""])
def test_interop_we_verify_a_library_signed_response(body: bytes) -> None:
    request = LibRequest("GET", URL, signed_request(method="GET", body=b""))
    response = LibResponse(200, request)
    lib_signer(SERVER_ID, SERVER_KEY).sign(
        response,
        key_id=SERVER_ID,
        created=datetime.fromtimestamp(CREATED, tz=UTC),
        nonce="library-nonce",
        label="sig1",
        tag=TAG,
        covered_component_ids=RESPONSE_COVERAGE,
        body=body,
    )

    verified = verify_response(
        status=200,
        headers=response.headers,
        body=body,
        request_method="GET",
        request_url=URL,
        request_signature=signature_of(request.headers),
        resolve_key=resolve,
        now=CREATED,
    )

    assert (verified.key_id, verified.nonce) == (SERVER_ID, "library-nonce")


# --- Round trips --------------------------------------------------------------------------


def test_request_round_trip() -> None:
    headers = signed_request()

    assert set(headers) == {"Signature-Input", "Signature", "Content-Digest"}
    assert headers["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest");created=1700000000;'
        f'keyid="{CLIENT_ID}";nonce="nonce-1";alg="ed25519";tag="topmatch/1"'
    )
    verified = verify(headers)
    assert verified == Verified(
        key_id=CLIENT_ID, created=CREATED, nonce="nonce-1", signature=signature_of(headers)
    )
    assert len(verified.signature) == 64


def test_request_without_body_has_no_content_digest() -> None:
    headers = signed_request(method="GET", body=b"")

    assert "Content-Digest" not in headers
    assert headers["Signature-Input"].startswith('sig1=("@method" "@target-uri");')
    assert verify(headers, method="GET", body=b"").nonce == "nonce-1"


def test_response_round_trip_with_empty_body_still_has_digest() -> None:
    request_signature = verify(signed_request()).signature
    headers = sign_response(
        status=204,
        body=b"",
        request_method="POST",
        request_url=URL,
        request_signature=request_signature,
        key=SERVER_KEY,
        key_id=SERVER_ID,
        created=CREATED,
        nonce="nonce-2",
    )

    assert headers["Content-Digest"] == content_digest(b"")
    assert headers["Signature-Input"].startswith(
        'sig1=("@status" "content-digest" "@method";req "@target-uri";req '
        '"signature";req;key="sig1");'
    )
    verified = verify_response(
        status=204,
        headers=headers,
        body=b"",
        request_method="POST",
        request_url=URL,
        request_signature=request_signature,
        resolve_key=resolve,
        now=CREATED,
    )
    assert (verified.key_id, verified.nonce) == (SERVER_ID, "nonce-2")


@pytest.mark.parametrize("case", [str.lower, str.upper, str.swapcase])
def test_field_names_in_any_case_verify(case: Callable[[str], str]) -> None:
    headers = {case(name): value for name, value in signed_request().items()}

    assert verify(headers).key_id == CLIENT_ID


def test_other_signatures_in_the_same_fields_are_ignored() -> None:
    ours = signed_request()
    # A proxy added its own signature as a second field line (RFC 9421 section 4.3).
    proxy = hand_signed([(METHOD, "POST")], {"created": CREATED}, key=OTHER_KEY, label="proxy")
    headers = {
        **ours,
        "signature-input": proxy["Signature-Input"],
        "signature": proxy["Signature"],
    }

    assert verify(headers).signature == signature_of(ours)


def test_extra_covered_header_field_is_resolved_from_the_message() -> None:
    covered = [
        (METHOD, "POST"),
        (TARGET_URI, URL),
        (CONTENT_DIGEST, content_digest(BODY)),
        (Component("content-type"), "application/json"),
    ]
    headers = {
        **hand_signed(covered, PROFILE_PARAMS),
        "Content-Digest": content_digest(BODY),
        "Content-Type": " application/json ",  # surrounding whitespace is not part of it
    }

    assert verify(headers).nonce == "nonce-1"
    headers["Content-Type"] = "text/plain"
    with pytest.raises(BadSignatureError):
        verify(headers)
    del headers["Content-Type"]
    with pytest.raises(MalformedSignatureError, match="does not have"):
        verify(headers)


# --- Rejections, in the order they are checked ------------------------------------------------


@pytest.mark.parametrize("name", ["Signature-Input", "Signature"])
def test_missing_signature_field(name: str) -> None:
    headers = signed_request()
    del headers[name]

    with pytest.raises(MissingSignatureError) as raised:
        verify(headers)
    assert raised.value.field == name
    assert raised.value.code == "missing_signature"


def test_missing_sig1_label() -> None:
    headers = hand_signed([(METHOD, "POST"), (TARGET_URI, URL)], PROFILE_PARAMS, label="sig2")

    with pytest.raises(MissingSignatureError, match=r"no sig1 member \(labels present: sig2\)"):
        verify(headers, body=b"")


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("Signature-Input", 'sig1=("@method" "@target-uri"', "not a Structured Field"),
        ("Signature-Input", 'sig1="@method";created=1', "must be an Inner List"),
        ("Signature-Input", "sig1=(@method);created=1", "not a Structured Field"),
        ("Signature-Input", "sig1=(method);created=1", "component identifiers are Strings"),
        ("Signature-Input", 'sig1=("@method";req=1)', "Strings or Booleans"),
        ("Signature-Input", 'sig1=("@method"), sig1=("@method")', "duplicate"),
        ("Signature-Input", 'sig1=("@méthod")', "not a Structured Field"),
        ("Signature", 'sig1="not bytes"', "must be a Byte Sequence"),
        ("Signature", "sig1=:AAAA:", "has 3 bytes; an Ed25519 signature has 64"),
    ],
)
def test_malformed_signature_fields(field_name: str, value: str, message: str) -> None:
    headers = signed_request()
    headers[field_name] = value

    with pytest.raises(MalformedSignatureError, match=message) as raised:
        verify(headers)
    assert raised.value.field == field_name


def test_missing_required_component() -> None:
    # A request with a body must cover content-digest, or its body is not protected.
    headers = {
        **hand_signed([(METHOD, "POST"), (TARGET_URI, URL)], PROFILE_PARAMS),
        "Content-Digest": content_digest(BODY),
    }

    with pytest.raises(MalformedSignatureError, match=r'must cover "content-digest"'):
        verify(headers)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alg": "rsa-pss-sha512"}, "requires alg='ed25519'"),
        ({"tag": "other-app"}, "requires tag='topmatch/1'"),
        ({"nonce": None}, "no nonce parameter"),
        ({"keyid": None}, "no keyid parameter"),
        ({"created": None}, "no created parameter"),
        ({"created": "1700000000"}, "created must be an Integer"),
        ({"created": True}, "created must be an Integer"),
        ({"nonce": ""}, "nonce must be a non-empty String"),
        ({"expires": "soon"}, "expires must be an Integer"),
    ],
)
def test_parameters_outside_the_profile(
    change: dict[str, int | str | bool | None], message: str
) -> None:
    params = {**PROFILE_PARAMS, **change}
    kept = {name: value for name, value in params.items() if value is not None}
    headers = hand_signed([(METHOD, "GET"), (TARGET_URI, URL)], kept)

    with pytest.raises(MalformedSignatureError, match=message):
        verify(headers, method="GET", body=b"")


def test_alg_may_be_absent() -> None:
    params = {name: value for name, value in PROFILE_PARAMS.items() if name != "alg"}
    headers = hand_signed([(METHOD, "GET"), (TARGET_URI, URL)], params)

    assert verify(headers, method="GET", body=b"").key_id == CLIENT_ID


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (CREATED + 301, "created 301 s ago, more than the 300 s allowed"),
        (CREATED - 301, "created 301 s in the future, more than the 300 s allowed"),
    ],
)
def test_stale_created(now: int, message: str) -> None:
    with pytest.raises(StaleSignatureError, match=message):
        verify(signed_request(), now=now)


@pytest.mark.parametrize("now", [CREATED - 300, CREATED + 300])
def test_created_at_the_edge_of_the_window_is_fresh(now: int) -> None:
    assert verify(signed_request(), now=now).created == CREATED


def test_expired_signature() -> None:
    params = {**PROFILE_PARAMS, "expires": CREATED + 5}
    headers = hand_signed([(METHOD, "GET"), (TARGET_URI, URL)], params)

    with pytest.raises(StaleSignatureError, match="expired 5 s ago"):
        verify(headers, method="GET", body=b"", now=CREATED + 10)


def test_tampered_body_is_a_digest_mismatch() -> None:
    tampered = b'{"hello": "World"}'
    with pytest.raises(DigestMismatchError) as raised:
        verify(signed_request(), body=tampered)

    assert raised.value.field == "Content-Digest"
    actual = base64.b64encode(hashlib.sha256(tampered).digest()).decode()
    assert raised.value.message == (
        f"Content-Digest sha-256 of the body is {actual}, "
        "header says X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    )


def test_body_without_content_digest_is_missing() -> None:
    headers = signed_request()
    del headers["Content-Digest"]

    with pytest.raises(MissingSignatureError, match="the body has 18 bytes") as raised:
        verify(headers)
    assert raised.value.field == "Content-Digest"


def test_body_on_a_request_signed_without_one_is_not_covered() -> None:
    headers = signed_request(body=b"")  # signed as a body-less request, then a body appears

    with pytest.raises(MalformedSignatureError, match='must cover "content-digest"'):
        verify(headers, body=BODY)


def test_replaced_body_and_digest_fail_the_signature() -> None:
    headers = signed_request()
    forged = b'{"hello": "mallory"}'
    headers["Content-Digest"] = content_digest(forged)

    with pytest.raises(BadSignatureError):
        verify(headers, body=forged)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", URL),
        ("POST", "https://node-b.example/federation/feed?after=4&limit=50"),
        ("POST", "https://node-c.example/federation/feed?after=3&limit=50"),
    ],
)
def test_tampered_method_or_url(method: str, url: str) -> None:
    with pytest.raises(BadSignatureError, match="does not verify with key 'node-a-key-1'"):
        verify(signed_request(), method=method, url=url)


def test_wrong_key() -> None:
    with pytest.raises(BadSignatureError):
        verify(signed_request(), resolve_key=lambda _: OTHER_KEY.public_key())


def test_key_resolver_errors_propagate() -> None:
    headers = hand_signed(
        [(METHOD, "GET"), (TARGET_URI, URL)], {**PROFILE_PARAMS, "keyid": "retired"}
    )

    with pytest.raises(UnknownKeyError, match="no peer key 'retired'"):
        verify(headers, method="GET", body=b"")


def test_order_freshness_then_digest_then_key() -> None:
    asked: list[str] = []

    def spy(key_id: str) -> Ed25519PublicKey:
        asked.append(key_id)
        return resolve(key_id)

    headers = signed_request()
    with pytest.raises(StaleSignatureError):  # stale wins over the tampered body
        verify(headers, body=b"tampered", now=CREATED + 1000, resolve_key=spy)
    with pytest.raises(DigestMismatchError):  # the digest is checked before the key lookup
        verify(headers, body=b"tampered", resolve_key=spy)
    assert asked == []


def test_response_replayed_to_another_request() -> None:
    first = verify(signed_request())
    second = verify(signed_request(created=CREATED + 1))
    headers = sign_response(
        status=200,
        body=RESPONSE_BODY,
        request_method="POST",
        request_url=URL,
        request_signature=first.signature,
        key=SERVER_KEY,
        key_id=SERVER_ID,
        created=CREATED,
        nonce="nonce-2",
    )

    def check(**overrides: object) -> Verified:
        arguments: dict[str, object] = {
            "status": 200,
            "headers": headers,
            "body": RESPONSE_BODY,
            "request_method": "POST",
            "request_url": URL,
            "request_signature": first.signature,
            "resolve_key": resolve,
            "now": CREATED,
        }
        return verify_response(**{**arguments, **overrides})  # type: ignore[arg-type]

    assert check().key_id == SERVER_ID
    with pytest.raises(BadSignatureError):
        check(request_signature=second.signature)
    with pytest.raises(BadSignatureError):
        check(request_url=URL + "0")
    with pytest.raises(BadSignatureError):
        check(request_method="GET")
    with pytest.raises(BadSignatureError):
        check(status=201)
    with pytest.raises(DigestMismatchError):
        check(body=b"{}")
    without_digest = {k: v for k, v in headers.items() if k != "Content-Digest"}
    with pytest.raises(MissingSignatureError, match="no Content-Digest"):
        check(headers=without_digest)


def test_response_must_cover_the_request_binding() -> None:
    digest = content_digest(RESPONSE_BODY)
    unbound = {
        **hand_signed([(STATUS, "200"), (CONTENT_DIGEST, digest)], PROFILE_PARAMS),
        "Content-Digest": digest,
    }

    with pytest.raises(MalformedSignatureError) as raised:
        verify_response(
            status=200,
            headers=unbound,
            body=RESPONSE_BODY,
            request_method="POST",
            request_url=URL,
            request_signature=bytes(64),
            resolve_key=resolve,
            now=CREATED,
        )
    assert raised.value.message.startswith(
        'sig1 must cover "@method";req "@target-uri";req "signature";req;key="sig1"'
    )
    assert [c.serialize() for c in (REQUEST_METHOD, REQUEST_TARGET_URI, REQUEST_SIGNATURE)] == [
        '"@method";req',
        '"@target-uri";req',
        '"signature";req;key="sig1"',
    ]


def test_signature_of_reads_sig1() -> None:
    headers = signed_request()
    with pytest.raises(MissingSignatureError):
        signature_of({})
    assert signature_of({"signature": headers["Signature"]}) == verify(headers).signature


# --- Content-Digest and base details -------------------------------------------------------


def test_check_content_digest() -> None:
    check_content_digest(None, b"")
    check_content_digest(content_digest(b""), b"")
    with pytest.raises(MissingSignatureError, match="the body has 1 bytes"):
        check_content_digest(None, b"x")
    with pytest.raises(MalformedSignatureError, match="Content-Digest is not a Structured"):
        check_content_digest("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", BODY)
    with pytest.raises(MalformedSignatureError, match="must be a 32-byte Byte Sequence"):
        check_content_digest("sha-256=:AAAA:", BODY)


def test_signature_base_refuses_what_section_2_5_forbids() -> None:
    with pytest.raises(ValueError, match="covered twice"):
        signature_base([(METHOD, "GET"), (METHOD, "GET")], {})
    with pytest.raises(ValueError, match="printable ASCII"):
        signature_base([(TARGET_URI, "https://a.example/\nx")], {})
    with pytest.raises(MalformedSignatureError, match="cannot build the signature base"):
        verify(signed_request(method="GET", body=b""), method="GET", body=b"", url=URL + "\n")


def test_error_tree_and_codes() -> None:
    codes = {
        errors.SignatureError: "bad_signature",
        errors.MissingSignatureError: "missing_signature",
        errors.MalformedSignatureError: "malformed_signature",
        errors.StaleSignatureError: "stale_signature",
        errors.DigestMismatchError: "digest_mismatch",
        errors.BadSignatureError: "bad_signature",
        errors.UnknownKeyError: "unknown_key",
        errors.ReplayError: "replayed_nonce",
    }
    for error, code in codes.items():
        assert error.code == code
        assert issubclass(error, SignatureError)
        assert issubclass(error, AuthenticationError)
    assert StaleSignatureError("x", field="Signature-Input").diagnostics() == "Signature-Input: x"


# --- Properties -----------------------------------------------------------------------------

# RFC 3986 pchar without pct-encoded, plus "/": any such path makes a valid absolute URI.
PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"


@given(body=st.binary(max_size=512), path=st.text(PATH_CHARS, max_size=60))
def test_property_sign_then_verify(body: bytes, path: str) -> None:
    url = f"https://node-b.example/{path}"
    headers = signed_request(url=url, body=body)

    assert verify(headers, url=url, body=body).nonce == "nonce-1"


@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_property_any_flipped_body_byte_is_a_digest_mismatch(
    body: bytes, data: st.DataObject
) -> None:
    headers = signed_request(body=body)
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    flipped = bytearray(body)
    flipped[index] ^= 1 << bit

    with pytest.raises(DigestMismatchError):
        verify(headers, body=bytes(flipped))


def test_unknown_digest_algorithms_are_ignored() -> None:
    # RFC 9530 section 2: a recipient may ignore algorithms it does not know.
    check_content_digest(f"unixsum=:AAAA:, {content_digest(BODY)}", BODY)


def test_sign_response_refuses_a_status_that_is_not_three_digits() -> None:
    with pytest.raises(ValueError, match="three digits, got 42"):
        sign_response(
            status=42,
            body=b"",
            request_method="GET",
            request_url=URL,
            request_signature=bytes(64),
            key=SERVER_KEY,
            key_id=SERVER_ID,
            created=CREATED,
            nonce="n",
        )


@pytest.mark.parametrize(
    "component", [Component("@path"), Component("@method", (("req", True),)), STATUS]
)
def test_request_covering_what_we_cannot_resolve_is_malformed(component: Component) -> None:
    headers = hand_signed([(METHOD, "GET"), (TARGET_URI, URL), (component, "x")], PROFILE_PARAMS)

    with pytest.raises(MalformedSignatureError, match="cannot resolve"):
        verify(headers, method="GET", body=b"")
