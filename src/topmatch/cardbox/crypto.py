"""Protection of the BSN at rest. Pure: no I/O.

A BSN is stored twice, neither time in clear: AES-256-GCM ciphertext (to show it on a
client's own page) and an HMAC-SHA256 blind index (to find a client by exact BSN without
decrypting every row). Both keys are derived with HKDF-SHA256 from the node's 32-byte
card-box secret, so the database alone (a backup, a dump) reveals no BSN.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from topmatch.errors import ConfigurationError

NONCE_BYTES = 12
_AAD = b"topmatch.cardbox.bsn/1"


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class BsnVault:
    """Encrypts, decrypts and indexes BSNs with keys derived from one secret."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(_derive(secret, b"topmatch bsn encryption"))
        self._index_key = _derive(secret, b"topmatch bsn blind index")

    def index(self, bsn: str) -> str:
        return hmac.new(self._index_key, bsn.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, bsn: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, bsn.encode(), _AAD)

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _AAD).decode()
        except InvalidTag as e:
            raise ConfigurationError(
                "a stored BSN does not decrypt with this node's card-box secret: "
                "restore the cardbox.secret that belongs to this database"
            ) from e
