"""The roster on the wire: the node's descriptor and roster at well-known URLs (anyone may
read them, no signature needed), and ``POST /federation/v1/roster`` for a peer offering a
newer version (a signed federation request)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Final

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from topmatch.api.deps import NowDep, RosterDep, SessionDep, SettingsDep
from topmatch.federation.inbound import VerifiedPeer
from topmatch.roster import service

#: Short enough that a new version reaches readers soon, long enough to spare the node.
CACHE_CONTROL: Final = "public, max-age=300"
NOT_MODIFIED: Final = 304

router = APIRouter(prefix="/.well-known/topmatch", tags=["roster"])
peer_router = APIRouter(prefix="/federation/v1", tags=["federation (node to node)"])


class RosterAnswer(BaseModel):
    version: int
    changed: bool
    forwarded_to: list[str]


def _cached(request: Request, data: bytes) -> Response:
    """``data`` as JSON with an ETag; 304 when the reader holds it already."""
    etag = '"' + hashlib.sha256(data).hexdigest() + '"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=NOT_MODIFIED, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


@router.get("/node.json")
def well_known_node(request: Request, settings: SettingsDep) -> Response:
    """This node's public descriptor (schemas/peer-descriptor.schema.json)."""
    return _cached(request, service.own_descriptor(settings))


@router.get("/roster.json")
def well_known_roster(request: Request, roster: RosterDep) -> Response:
    """The latest federation roster this node holds (schemas/roster.schema.json); 404
    when it has none."""
    return _cached(request, service.held(roster))


@peer_router.post("/roster")
def receive_roster(
    peer: VerifiedPeer,
    session: SessionDep,
    settings: SettingsDep,
    roster: RosterDep,
    now: NowDep,
) -> RosterAnswer:
    """A newer roster version: verified against the one held (TUF rules,
    docs/adr/0015-federation-roster.md), stored and passed on to the other members; 409 or
    422 naming the rule it breaks, and nothing changes. The version held already: 200,
    ``changed`` false."""
    accepted = service.receive(
        session,
        store=roster,
        body=peer.body,
        me=settings.node_id or "",
        sender=peer.peer.node_id,
        now=now,
        horizon=timedelta(days=settings.outbox_horizon_days),
    )
    return RosterAnswer(
        version=accepted.version, changed=accepted.changed, forwarded_to=accepted.forwarded_to
    )
