"""Errors of node-to-node message authentication (RFC 9421 signatures, RFC 9530 digests).

All of them are authentication failures (HTTP 401): the peer, or something between it and
us, sent a message we cannot attribute to a known key. They are "the data is bad" errors:
retrying the same bytes gives the same answer.

    AuthenticationError (topmatch.errors)
    └── SignatureError              bad_signature        root of this tree
        ├── MissingSignatureError   missing_signature    no Signature/Signature-Input/sig1, or no
        │                                                Content-Digest although there is a body
        ├── MalformedSignatureError malformed_signature  unparseable fields, or a signature that
        │                                                does not follow the Topmatch profile
        │                                                (coverage, parameters, algorithm)
        ├── StaleSignatureError     stale_signature      ``created`` too far from now, or expired
        ├── DigestMismatchError     digest_mismatch      Content-Digest does not match the body
        ├── BadSignatureError       bad_signature        Ed25519 verification failed
        ├── UnknownKeyError         unknown_key          raised by the caller's key resolver
        └── ReplayError             replayed_nonce       raised by the caller's nonce store

Each message states what was expected and what was found; ``field`` names the HTTP field
at fault when there is one.
"""

from __future__ import annotations

from topmatch.errors import AuthenticationError


class SignatureError(AuthenticationError):
    code = "bad_signature"


class MissingSignatureError(SignatureError):
    code = "missing_signature"


class MalformedSignatureError(SignatureError):
    code = "malformed_signature"


class StaleSignatureError(SignatureError):
    code = "stale_signature"


class DigestMismatchError(SignatureError):
    code = "digest_mismatch"


class BadSignatureError(SignatureError):
    code = "bad_signature"


class UnknownKeyError(SignatureError):
    code = "unknown_key"


class ReplayError(SignatureError):
    code = "replayed_nonce"
