"""Which key may sign for which bureau, and when. Pure: built from peer descriptors.

An entry's signatures are checked against the keys its parties' descriptors list, and a
key counts only for entries dated within its validity window. Retired keys stay in the
descriptors forever, so entries they signed while valid still verify years later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger.errors import EntrySignatureError


class KeyBook:
    def __init__(self, descriptors: Iterable[PeerDescriptor]) -> None:
        self.descriptors = {d.node_id: d for d in descriptors}

    def resolver(self, at: datetime | None) -> Callable[[str, str], Ed25519PublicKey]:
        """A key resolver for an entry dated ``at``; with None, any key a member ever had
        counts (a fee agreement stays signed after a key rotation)."""

        def resolve(party: str, key_id: str) -> Ed25519PublicKey:
            descriptor = self.descriptors.get(party)
            if descriptor is None:
                raise EntrySignatureError(f"no descriptor of {party}: its keys are unknown")
            for key in descriptor.keys:
                if key.key_id != key_id:
                    continue
                if at is not None and not _valid_at(key.valid_from, key.valid_until, at):
                    until = key.valid_until.isoformat() if key.valid_until else "open end"
                    raise EntrySignatureError(
                        f"key {key_id} of {party} was not valid at {at.isoformat()} "
                        f"(valid {key.valid_from.isoformat()} to {until})"
                    )
                return keys.public_from_raw(keys.b64url_decode(key.public_key))
            raise EntrySignatureError(f"key {key_id} is not one of {party}'s keys")

        return resolve

    def public_keys(self, node_id: str) -> list[Ed25519PublicKey]:
        descriptor = self.descriptors.get(node_id)
        if descriptor is None:
            return []
        return [keys.public_from_raw(keys.b64url_decode(k.public_key)) for k in descriptor.keys]


def _valid_at(valid_from: datetime, valid_until: datetime | None, at: datetime) -> bool:
    return valid_from <= at and (valid_until is None or at < valid_until)
