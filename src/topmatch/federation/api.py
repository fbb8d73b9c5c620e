"""Federation endpoints: the signed feed for peers, and peers/openings for our own users."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from topmatch.api.deps import (
    AdminUser,
    ClockDep,
    ConsultantUser,
    EngineDep,
    PeerClientDep,
    PeersDep,
    SessionDep,
    SettingsDep,
)
from topmatch.bounds import WholeNumber
from topmatch.federation import service, status
from topmatch.federation.inbound import VerifiedPeer
from topmatch.publishing import feed
from topmatch.publishing.schemas import MAX_PAGE_ITEMS, FeedPage
from topmatch.vocabulary import ContractType

peer_router = APIRouter(prefix="/federation/v1", tags=["federation (node to node)"])
router = APIRouter(prefix="/api/v1", tags=["federation"])


@peer_router.get("/feed", response_model=FeedPage)
def get_feed(
    peer: VerifiedPeer,  # noqa: ARG001 - the dependency verifies the caller; any peer may read
    session: SessionDep,
    settings: SettingsDep,
    after: Annotated[int, Query(description="last sequence number you hold"), WholeNumber(0)] = 0,
    limit: Annotated[int, Query(), WholeNumber(1, MAX_PAGE_ITEMS)] = 200,
) -> Response:
    """Our own published changes after ``after``, oldest first (signed request required)."""
    assert settings.node_id is not None  # noqa: S101 - create_app refuses to start without
    page = feed.feed_page(session=session, origin=settings.node_id, after=after, limit=limit)
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/peers", response_model=service.PeersOverview)
def list_peers(
    registry: PeersDep,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: ConsultantUser,
) -> service.PeersOverview:
    """Every peer with its status, its sync record (cursor, last success, last error) and
    its state: reachable, lagging, unreachable (since its last success), suspended or
    pending."""
    return service.peers_overview(
        session=session,
        registry=registry,
        now=clock(),
        lag_after=status.lag_threshold(settings.sync_interval_seconds),
    )


@router.post("/peers/sync", response_model=list[dict[str, object]])
async def sync_now(
    registry: PeersDep,
    client: PeerClientDep,
    engine: EngineDep,
    clock: ClockDep,
    settings: SettingsDep,
    _: AdminUser,
) -> list[dict[str, object]]:
    """Sync every active peer now, ignoring back-off (admin). Every peer is pulled at
    once, each within ``peer_round_seconds``, so the answer comes within that time."""
    results = await service.sync_now(
        registry=registry,
        client=client,
        engine=engine,
        clock=clock,
        budget=settings.peer_round_seconds,
    )
    return [r.__dict__ for r in results]


@router.get("/openings", response_model=service.OpeningsPage)
def list_openings(
    registry: PeersDep,
    session: SessionDep,
    settings: SettingsDep,
    _: ConsultantUser,
    type: Literal["vacancy", "baanopening"] | None = None,
    origin: Annotated[str | None, Query(max_length=63)] = None,
    municipality: Annotated[str | None, Query(max_length=100)] = None,
    contract_type: ContractType | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    min_hours: Annotated[Annotated[int, WholeNumber(0, 60)] | None, Query()] = None,
    limit: Annotated[int, Query(), WholeNumber(1)] = 50,
    offset: Annotated[int, Query(), WholeNumber(0)] = 0,
) -> service.OpeningsPage:
    """Openings of every bureau (ours too), from the local replica: works with peers down."""
    return service.list_openings(
        session=session,
        limit=min(limit, settings.max_page_size),
        offset=offset,
        type=type,
        origin=origin,
        municipality=municipality,
        contract_type=contract_type,
        q=q,
        min_hours=min_hours,
        origins=service.visible_origins(registry, settings.node_id or ""),
    )
