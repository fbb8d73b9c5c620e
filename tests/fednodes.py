"""Helpers for federation tests: node identities, descriptors and signed fake peers."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from topmatch.federation import signatures
from topmatch.federation.signatures import signature_of
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.identity.service import NodeIdentity


@dataclass
class FakePeer:
    """A peer we impersonate in tests: its key, its descriptor, its signed answers."""

    node_id: str
    identity: NodeIdentity
    descriptor: PeerDescriptor

    @classmethod
    def make(cls, node_id: str, now: datetime, base_url: str | None = None) -> FakePeer:
        key = keys.generate()
        public = key.public_key()
        key_id = keys.key_id(public)
        descriptor = PeerDescriptor(
            node_id=node_id,
            name=node_id.title(),
            base_url=base_url or f"http://{node_id}.test",  # type: ignore[arg-type]
            keys=[
                PublicKey(
                    key_id=key_id,
                    public_key=keys.b64url(keys.raw_public(public)),
                    valid_from=now - timedelta(days=1),
                )
            ],
        )
        return cls(node_id, NodeIdentity(private_key=key, key_id=key_id), descriptor)

    def install(self, peers_dir: Path) -> None:
        peers_dir.mkdir(parents=True, exist_ok=True)
        (peers_dir / f"{self.node_id}.json").write_text(self.descriptor.model_dump_json())

    def respond(
        self,
        request: httpx.Request,
        body: Any,
        *,
        status: int = 200,
        now: datetime,
        raw: bytes | None = None,
    ) -> httpx.Response:
        """A response signed by this peer and bound to ``request``."""
        content = raw if raw is not None else json.dumps(body).encode()
        headers = signatures.sign_response(
            status=status,
            body=content,
            request_method=request.method,
            request_url=str(request.url),
            request_signature=signature_of(request.headers),
            key=self.identity.private_key,
            key_id=self.identity.key_id,
            created=int(now.timestamp()),
            nonce=secrets.token_urlsafe(8),
        )
        return httpx.Response(
            status, content=content, headers={"content-type": "application/json", **headers}
        )


def vacancy_body(
    origin: str, summary_id: str, version: int, now: datetime, **overrides: Any
) -> dict[str, Any]:
    return {
        "type": "vacancy",
        "id": summary_id,
        "origin": origin,
        "version": version,
        "updated_at": now.isoformat(),
        "title": "Magazijnmedewerker",
        "hours_min": 24,
        "hours_max": 32,
        "sector": "H",
        "place": {"municipality": "Tilburg"},
        "occupation": {"label": "Magazijnmedewerker", "isco08": "9321"},
        "contract_type": "tijdelijk",
        "description": "Orderpicken.",
        **overrides,
    }


def page(
    origin: str, after: int, items: list[dict[str, Any]], latest: int | None = None
) -> dict[str, Any]:
    last = items[-1]["seq"] if items else after
    return {
        "format": "topmatch.feed/1",
        "origin": origin,
        "after": after,
        "items": items,
        "latest_seq": latest if latest is not None else last,
    }


def install_agreement(
    engine: Any, document: dict[str, Any], *signers: FakePeer, now: datetime
) -> None:
    """Store a fee agreement signed by ``signers`` (all members: in force)."""
    from topmatch import db  # noqa: PLC0415
    from topmatch.settlement import service as settlement  # noqa: PLC0415

    with db.transaction(engine) as session:
        first, *rest = signers
        settlement.propose_agreement(
            session, document, me=first.node_id, node=first.identity, now=now
        )
        for peer in rest:
            settlement.sign_agreement(
                session, document["version"], me=peer.node_id, node=peer.identity, now=now
            )
