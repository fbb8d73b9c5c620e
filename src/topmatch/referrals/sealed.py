"""End-to-end encryption of a handover to one node: a sealed box. Pure: bytes in, bytes out.

When an introduction is accepted and the client consented, the client's details travel
encrypted to the receiving node's X25519 key, so no relay, proxy or log can read them and
they are never stored in clear outside the receiving card-box.

Construction (the shape of HPKE base mode, RFC 9180, with fixed choices):

- a fresh ephemeral X25519 key pair per message (RFC 7748);
- shared secret = X25519(ephemeral private, recipient public);
- key = HKDF-SHA256(ikm=shared secret, salt=ephemeral public || recipient public,
  info=b"topmatch sealed box v1"), 32 bytes;
- ChaCha20-Poly1305 (RFC 8439) with a zero nonce (the key is never reused: every message
  has its own ephemeral key) and ``context`` as associated data, binding the ciphertext
  to what it is for (sender, recipient, introduction id): moved to another context it
  does not decrypt;
- sealed = b"TMS1" || ephemeral public (32 bytes) || ciphertext with tag.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from topmatch.errors import InputError

MAGIC = b"TMS1"
INFO = b"topmatch sealed box v1"
_NONCE = bytes(12)
_KEY_BYTES = 32


class SealedBoxError(InputError):
    """A sealed box that is malformed, for another recipient or context, or tampered with."""

    code = "sealed_box_invalid"


def raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=ephemeral + recipient, info=INFO
    ).derive(shared)


def seal(plaintext: bytes, *, recipient: X25519PublicKey, context: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only ``recipient``'s private key opens it, in ``context``."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = raw(ephemeral.public_key())
    key = _key(ephemeral.exchange(recipient), ephemeral_raw, raw(recipient))
    return MAGIC + ephemeral_raw + ChaCha20Poly1305(key).encrypt(_NONCE, plaintext, context)


def open_sealed(sealed: bytes, *, recipient: X25519PrivateKey, context: bytes) -> bytes:
    """Decrypt a sealed box addressed to ``recipient`` in ``context``."""
    header = len(MAGIC) + _KEY_BYTES
    if len(sealed) < header + 16 or not sealed.startswith(MAGIC):
        raise SealedBoxError(
            f"not a sealed box: expected {MAGIC!r} and at least "
            f"{header + 16} bytes, got {len(sealed)} bytes"
        )
    ephemeral_raw = sealed[len(MAGIC) : header]
    try:
        ephemeral = X25519PublicKey.from_public_bytes(ephemeral_raw)
        shared = recipient.exchange(ephemeral)
    except ValueError as e:
        raise SealedBoxError(f"invalid ephemeral key: {e}") from e
    key = _key(shared, ephemeral_raw, raw(recipient.public_key()))
    try:
        return ChaCha20Poly1305(key).decrypt(_NONCE, sealed[header:], context)
    except InvalidTag as e:
        raise SealedBoxError(
            "sealed box does not open: another recipient or context, or tampered with"
        ) from e
