"""The demo federation's roster, reproduced from fixed seeds (``peers/demo/``).

Three fictional bureaus, the same as ``topmatch demo`` runs. Their Ed25519 and X25519 keys
come from 32-byte seeds derived from fixed text, and Ed25519 signatures are deterministic
(RFC 8032 section 5.1.6), so :func:`files` gives the same bytes on every run:
``scripts/demo_roster.py`` writes them and a test checks that the committed ones match.
THE DEMO PRIVATE KEYS ARE PUBLIC: never use them outside a demo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.roster import edit, verify
from topmatch.roster.models import ALL_PURPOSES, Roster, RosterKey, RosterMember

FEDERATION: Final = "Topmatch demo-federatie"
#: node id, display name: the bureaus of ``topmatch demo``.
BUREAUS: Final = (
    ("baanbrekers", "Baanbrekers Tilburg"),
    ("stapverder", "Stap Verder Zwolle"),
    ("werkpad", "Werkpad Utrecht"),
)
ISSUED_AT: Final = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRES: Final = datetime(2036, 1, 1, tzinfo=UTC)
THRESHOLD: Final = 2
WARNING: Final = (
    "DEMO ONLY. This private key is public (peers/demo/keys in the Topmatch repository);\n"
    "anyone can sign as this demo bureau. Never use it for a real node.\n"
)


def _seed(purpose: str, node_id: str) -> bytes:
    return hashlib.sha256(f"topmatch demo {purpose} key {node_id}".encode()).digest()


def signing_key(node_id: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_seed("ed25519", node_id))


def encryption_key(node_id: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_seed("x25519", node_id))


def default_url(node_id: str) -> str:
    return f"https://{node_id}.demo.topmatch.example"


def _member(node_id: str, name: str, base_url: str) -> RosterMember:
    public = signing_key(node_id).public_key()
    x25519 = encryption_key(node_id).public_key()
    return RosterMember(
        node_id=node_id,
        name=name,
        base_url=base_url,
        keys=[
            RosterKey(
                key_id=keys.key_id(public),
                public_key=keys.b64url(keys.raw_public(public)),
                valid_from=ISSUED_AT,
                purposes=list(ALL_PURPOSES),
            )
        ],
        encryption_key=keys.b64url(
            x25519.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ),
    )


def roster(base_urls: Mapping[str, str] | None = None) -> Roster:
    """Version 1 of the demo federation, signed by all three bureaus (threshold 2).

    ``base_urls`` replaces the fictional addresses (``topmatch demo`` runs the bureaus on
    loopback ports)."""
    urls = base_urls or {}
    draft = edit.genesis(
        federation=FEDERATION,
        members=[_member(n, name, urls.get(n, default_url(n))) for n, name in BUREAUS],
        threshold=THRESHOLD,
        issued_at=ISSUED_AT,
        expires=EXPIRES,
    )
    for node_id, _ in BUREAUS:
        draft = verify.sign(draft, node_id=node_id, key=signing_key(node_id))
    return draft


def with_urls(pinned: Roster, base_urls: Mapping[str, str], *, issued_at: datetime) -> Roster:
    """The version after ``pinned`` in which the bureaus have the addresses ``base_urls``
    (``topmatch demo`` runs them on loopback ports), signed by all three demo keys."""
    names = dict(BUREAUS)
    draft = edit.propose(
        pinned,
        issued_at=issued_at,
        add=[_member(n, names[n], url) for n, url in base_urls.items()],
    )
    for node_id, _ in BUREAUS:
        draft = verify.sign(draft, node_id=node_id, key=signing_key(node_id))
    return draft


def descriptor(node_id: str, base_url: str) -> PeerDescriptor:
    """The demo bureau's ``node.json`` with its demo keys."""
    member = _member(node_id, dict(BUREAUS)[node_id], base_url)
    return PeerDescriptor(
        node_id=member.node_id,
        name=member.name,
        base_url=member.base_url,
        keys=[
            PublicKey(key_id=k.key_id, public_key=k.public_key, valid_from=k.valid_from)
            for k in member.keys
        ],
        encryption_key=member.encryption_key,
    )


def _pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    body = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return WARNING.encode() + body  # OpenSSL skips text before the BEGIN line


@dataclass(frozen=True)
class DemoFile:
    path: str  # relative to peers/demo
    data: bytes


def files() -> list[DemoFile]:
    """Every file of ``peers/demo``: the roster and each bureau's DEMO ONLY private keys."""
    result = [DemoFile("roster.json", verify.dump_roster(roster()))]
    for node_id, _ in BUREAUS:
        result.append(DemoFile(f"keys/{node_id}.pem", _pem(signing_key(node_id))))
        result.append(DemoFile(f"keys/{node_id}-x25519.pem", _pem(encryption_key(node_id))))
    return result
