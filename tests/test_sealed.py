"""The sealed box for encrypted handovers."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from topmatch.referrals.sealed import SealedBoxError, open_sealed, seal

CONTEXT = b"topmatch handover v1\nalfa\nbravo\nintro-0001"


@given(st.binary(max_size=4096))
def test_round_trip(plaintext: bytes) -> None:
    key = X25519PrivateKey.generate()
    sealed = seal(plaintext, recipient=key.public_key(), context=CONTEXT)
    assert open_sealed(sealed, recipient=key, context=CONTEXT) == plaintext


def test_ciphertext_reveals_nothing_and_is_fresh_each_time() -> None:
    key = X25519PrivateKey.generate()
    secret = b'{"bsn": "111222333", "name": "Sanne van Dijk"}'
    one = seal(secret, recipient=key.public_key(), context=CONTEXT)
    two = seal(secret, recipient=key.public_key(), context=CONTEXT)
    assert one != two
    assert b"111222333" not in one
    assert b"Sanne" not in one


def test_other_recipient_context_or_tampering_fails() -> None:
    key = X25519PrivateKey.generate()
    sealed = seal(b"gegevens", recipient=key.public_key(), context=CONTEXT)
    with pytest.raises(SealedBoxError, match="does not open"):
        open_sealed(sealed, recipient=X25519PrivateKey.generate(), context=CONTEXT)
    with pytest.raises(SealedBoxError, match="does not open"):
        open_sealed(sealed, recipient=key, context=CONTEXT + b"-other")
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    with pytest.raises(SealedBoxError, match="does not open"):
        open_sealed(bytes(flipped), recipient=key, context=CONTEXT)
    with pytest.raises(SealedBoxError, match="not a sealed box"):
        open_sealed(b"TMS1short", recipient=key, context=CONTEXT)
