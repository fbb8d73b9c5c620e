"""Ed25519 keys (RFC 8032) and their ids. Pure: bytes in, bytes out, no I/O.

A key id is the RFC 7638 JWK thumbprint of the public key as an RFC 8037 OKP JWK:
``base64url(SHA-256('{"crv":"Ed25519","kty":"OKP","x":"<base64url(raw key)>"}'))``.
Any JOSE library computes the same id from the same key, so peers need not trust ours.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from topmatch.errors import ConfigurationError


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5), as JOSE uses it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_raw(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:  # noqa: PLR2004 - RFC 8032: an Ed25519 public key is 32 bytes
        raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: members in lexicographic order, no whitespace."""
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw_public(key))}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())


def private_pem(key: Ed25519PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_private_pem(pem: bytes, passphrase: bytes | None) -> Ed25519PrivateKey:
    """Parse a PEM private key, with errors that say what to do about them."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError as e:
        # cryptography says TypeError for "encrypted but no password" and the reverse.
        if passphrase is None:
            raise ConfigurationError(
                "the node key is encrypted: set TOPMATCH_KEY_PASSPHRASE or "
                "TOPMATCH_KEY_PASSPHRASE_FILE"
            ) from e
        raise ConfigurationError(
            "a passphrase is set but the node key is not encrypted: unset it"
        ) from e
    except (ValueError, UnsupportedAlgorithm) as e:
        hint = "wrong passphrase or " if passphrase else ""
        raise ConfigurationError(f"cannot read the node key: {hint}not a PEM private key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"the node key must be Ed25519, got {type(key).__name__.removeprefix('_')}"
        )
    return key
