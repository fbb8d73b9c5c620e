"""What consultants and admins see of the federation: peers, their sync state, openings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from topmatch import db
from topmatch.federation import outbox, replication
from topmatch.federation.breaker import CircuitState
from topmatch.federation.models import PeerSyncState, ReplicaSummary
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.status import PeerState, lag_threshold, peer_health
from topmatch.federation.transport import PeerClient
from topmatch.identity.descriptor import PeerStatus
from topmatch.publishing.schemas import BaanopeningSummary, VacancySummary


class PeerStatusPublic(BaseModel):
    node_id: str
    name: str
    base_url: str
    status: str
    key_ids: list[str]
    cursor: int
    openings: int
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    failures: int = Field(description="failed attempts in a row (0 after a success)")
    next_attempt_at: datetime | None = Field(
        description="while the circuit is open: when the worker tries the peer again"
    )
    circuit: CircuitState = Field(
        description="the peer's circuit breaker: closed (called every round), open (left "
        "alone until next_attempt_at after failures) or half_open (one probe under way)"
    )
    state: PeerState = Field(
        description="reachable, lagging (last success too long ago), unreachable (last "
        "attempt failed), suspended (by our admin) or pending (never tried)"
    )
    state_since: datetime | None = Field(
        description="for lagging and unreachable peers: the last success (None: never)"
    )
    queued: int = Field(
        default=0, description="our messages to this peer waiting in the outbox or under way"
    )
    oldest_queued_at: datetime | None = Field(
        default=None, description="when the oldest of those messages was queued"
    )
    next_delivery_at: datetime | None = Field(
        default=None, description="when the outbox next tries the head of this peer's queue"
    )


class PeersOverview(BaseModel):
    peers: list[PeerStatusPublic]
    problems: dict[str, str] = Field(description="peer files that could not be loaded")


Opening = Annotated[VacancySummary | BaanopeningSummary, Field(discriminator="type")]


class OpeningsPage(BaseModel):
    items: list[Opening]
    total: int
    limit: int
    offset: int


def visible_origins(registry: PeerRegistry, own_node_id: str) -> frozenset[str]:
    """Whose openings consultants see: ours and those of active peers."""
    return frozenset({own_node_id, *(p.node_id for p in registry.active())})


def peers_overview(
    *,
    session: Session,
    registry: PeerRegistry,
    now: datetime | None = None,
    lag_after: timedelta | None = None,
) -> PeersOverview:
    """Every peer with its sync record and its state (:mod:`topmatch.federation.status`)
    at ``now`` (default: the wall clock), lagging after ``lag_after`` (default: for the
    default sync interval of a minute)."""
    now = now or datetime.now(UTC)
    lag_after = lag_after or lag_threshold(60)
    states = {s.node_id: s for s in session.exec(select(PeerSyncState)).all()}
    counts = dict(
        session.exec(
            select(ReplicaSummary.origin, func.count())
            .where(col(ReplicaSummary.deleted).is_(False))
            .group_by(col(ReplicaSummary.origin))
        ).all()
    )
    queues = outbox.queues(session)
    peers = []
    for peer in registry.all():
        state = states.get(peer.node_id) or PeerSyncState(node_id=peer.node_id)
        queue = queues.get(peer.node_id) or outbox.PeerQueue(0, None, None)
        health = peer_health(
            active=peer.status == PeerStatus.active,
            failures=state.failures,
            last_success_at=state.last_success_at,
            now=now,
            lag_after=lag_after,
        )
        peers.append(
            PeerStatusPublic(
                node_id=peer.node_id,
                name=peer.name,
                base_url=str(peer.base_url),
                status=peer.status.value,
                key_ids=[k.key_id for k in peer.keys],
                cursor=state.cursor,
                openings=counts.get(peer.node_id, 0),
                last_success_at=state.last_success_at,
                last_error_at=state.last_error_at,
                last_error=state.last_error,
                failures=state.failures,
                next_attempt_at=state.next_attempt_at,
                circuit=CircuitState(state.circuit or CircuitState.closed),
                state=health.state,
                state_since=health.since,
                queued=queue.queued,
                oldest_queued_at=queue.oldest_at,
                next_delivery_at=queue.next_attempt_at,
            )
        )
    return PeersOverview(peers=peers, problems=registry.problems)


def list_openings(
    *,
    session: Session,
    limit: int,
    offset: int,
    type: Literal["vacancy", "baanopening"] | None = None,
    origin: str | None = None,
    municipality: str | None = None,
    contract_type: str | None = None,
    q: str | None = None,
    min_hours: int | None = None,
    origins: frozenset[str] | None = None,
) -> OpeningsPage:
    """Every node's live openings (ours included), newest first, with simple filters."""
    query = select(ReplicaSummary).where(col(ReplicaSummary.deleted).is_(False))
    if type:
        query = query.where(ReplicaSummary.type == type)
    if origin:
        query = query.where(ReplicaSummary.origin == origin)
    if origins is not None:  # suspended or removed peers' openings are not shown
        query = query.where(col(ReplicaSummary.origin).in_(origins))
    if municipality:
        query = query.where(func.lower(ReplicaSummary.municipality) == municipality.lower())
    if contract_type:
        query = query.where(ReplicaSummary.contract_type == contract_type)
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(ReplicaSummary.title).like(f"%{escaped}%", escape="\\"))
    if min_hours is not None:
        query = query.where(ReplicaSummary.hours_max >= min_hours)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(ReplicaSummary.updated_at).desc(), col(ReplicaSummary.summary_id))
        .offset(offset)
        .limit(limit)
    ).all()
    items: list[VacancySummary | BaanopeningSummary] = [
        VacancySummary.model_validate(r.body)
        if r.type == "vacancy"
        else BaanopeningSummary.model_validate(r.body)
        for r in rows
    ]
    return OpeningsPage(items=items, total=total, limit=limit, offset=offset)


async def sync_now(
    *,
    registry: PeerRegistry,
    client: PeerClient,
    engine: Engine,
    clock: Callable[[], datetime],
    budget: float,
) -> list[replication.SyncResult]:
    """Pull every active peer's feed now, ignoring back-off (an admin asked): all peers at
    once, each within ``budget`` seconds. Refreshes the planner's statistics when anything
    was applied."""
    results = await replication.sync_all(
        peers=registry.active(),
        client=client,
        engine=engine,
        clock=clock,
        respect_backoff=False,
        budget=budget,
    )
    if any(r.applied for r in results):
        await asyncio.to_thread(db.refresh_statistics, engine)
    return results
