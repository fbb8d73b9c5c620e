"""Replicating every peer's feed into our local replica, safely.

A page is checked in full before anything is stored (:func:`check_page`, pure): it must
be a valid feed page of the peer we asked, start after our cursor, have strictly
increasing sequence numbers, and hold only the peer's own openings. Then it is applied in
one transaction (:func:`apply_page`): upserts newer than what we hold replace it,
tombstones mark it deleted, older or equal versions change nothing, and the cursor moves
to the page's last item. A broken or malicious peer can therefore corrupt nothing: at
worst its own openings stop updating, and its sync state says why.

Our own openings go through the same :func:`apply_page`, read straight from our feed
(:func:`mirror_own_feed`), so that one table holds every node's openings.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from topmatch import db
from topmatch.errors import InputError, PeerDataError, PeerTimeoutError
from topmatch.federation.breaker import Breaker, BreakerPolicy, CircuitState
from topmatch.federation.models import PeerSyncState, ReplicaSummary
from topmatch.federation.transport import PeerClient, describe_peer_problem
from topmatch.geography import places
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.matching import text
from topmatch.publishing import feed
from topmatch.publishing.schemas import (
    BaanopeningSummary,
    FeedPage,
    Tombstone,
    Upsert,
    VacancySummary,
)

log = logging.getLogger("topmatch.sync")

FEED_PATH = "/federation/v1/feed"
#: a failing peer is retried after about 5 s, 10 s, 20 s, ... up to 30 minutes
BREAKER = BreakerPolicy(threshold=1, base=timedelta(seconds=5), cap=timedelta(minutes=30))
MAX_PAGES_PER_RUN = 1000
#: the default bound of one peer's pull (settings.peer_round_seconds)
DEFAULT_PULL_SECONDS = 120.0


@dataclass(frozen=True)
class SyncResult:
    node_id: str
    ok: bool
    applied: int
    cursor: int
    error: str | None = None


# --- pure checks -----------------------------------------------------------------------


def check_page(raw: bytes, *, origin: str, after: int) -> FeedPage:
    """Parse and check a feed page from ``origin`` requested with ``after``."""
    try:
        page = FeedPage.model_validate_json(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PeerDataError(
            origin, f"feed page is not valid: {where}: {first['msg']} ({e.error_count()} error(s))"
        ) from e
    if page.origin != origin:
        raise PeerDataError(origin, f"feed page claims origin {page.origin!r}")
    if page.after != after:
        raise PeerDataError(origin, f"feed page answers after={page.after}, we asked {after}")
    if page.latest_seq < after:
        raise PeerDataError(
            origin,
            f"feed went backwards: its latest_seq {page.latest_seq} is "
            f"below our cursor {after} (restored from a backup?)",
        )
    previous = after
    for item in page.items:
        if item.seq <= previous:
            raise PeerDataError(origin, f"feed goes backwards: seq {item.seq} after {previous}")
        previous = item.seq
        claimed = item.summary.origin if isinstance(item, Upsert) else item.origin
        if claimed != origin:
            raise PeerDataError(
                origin,
                f"item seq {item.seq} claims origin {claimed!r}: "
                "a node may only publish its own openings",
            )
    if page.items and page.latest_seq < previous:
        raise PeerDataError(origin, f"latest_seq {page.latest_seq} is below item seq {previous}")
    return page


# --- applying --------------------------------------------------------------------------


def _apply_upsert(session: Session, item: Upsert, now: datetime) -> bool:
    summary = item.summary
    row = session.get(ReplicaSummary, (summary.origin, summary.id))
    if row is not None and row.version >= summary.version:
        return False
    if row is None:
        row = ReplicaSummary(
            origin=summary.origin,
            summary_id=summary.id,
            type=summary.type,
            version=summary.version,
            title="",
            municipality="",
            hours_min=0,
            hours_max=0,
            body={},
            updated_at=summary.updated_at,
            received_at=now,
        )
    row.type = summary.type
    row.version = summary.version
    row.deleted = False
    row.title = summary.title
    row.municipality = summary.place.municipality
    row.contract_type = getattr(summary, "contract_type", None)
    row.hours_min, row.hours_max = summary.hours_min, summary.hours_max
    _index(row, summary)
    row.body = summary.model_dump(mode="json")
    row.updated_at = summary.updated_at
    row.received_at = now
    session.add(row)
    return True


def _index(row: ReplicaSummary, summary: VacancySummary | BaanopeningSummary) -> None:
    """The columns that ranking reads (topmatch.matching), taken from the summary."""
    if isinstance(summary, VacancySummary):
        row.isco08, row.nlqf = summary.occupation.isco08, summary.nlqf
        row.start_date = summary.start_date
        row.skills = [*summary.skills_required, *summary.skills_nice]
        texts = [summary.title, summary.occupation.label, *row.skills, summary.description]
    else:
        row.isco08, row.nlqf, row.start_date = None, None, None
        row.skills = list(summary.tasks)
        texts = [summary.title, *summary.tasks, summary.suitable_profile]
    texts.append(summary.place.municipality)
    row.search_text = text.search_text(*texts)
    row.search_words = " ".join(text.words(" ".join(texts)))
    try:
        place = places.municipality(summary.place.municipality)
    except InputError:  # unknown or ambiguous: searchable, but not by distance
        row.lat = row.lon = None
    else:
        row.lat, row.lon = place.lat, place.lon


def _apply_tombstone(session: Session, item: Tombstone, now: datetime) -> bool:
    row = session.get(ReplicaSummary, (item.origin, item.id))
    if row is None or row.version > item.version or row.deleted:
        return False
    row.version = item.version
    row.deleted = True
    row.received_at = now
    session.add(row)
    return True


def sync_state(session: Session, node_id: str) -> PeerSyncState:
    state = session.get(PeerSyncState, node_id)
    if state is None:
        state = PeerSyncState(node_id=node_id)
        session.add(state)
    return state


def apply_page(session: Session, page: FeedPage, now: datetime) -> int:
    """Apply a checked page and move the cursor; returns how many items changed the replica."""
    changed = 0
    for item in page.items:
        if isinstance(item, Upsert):
            changed += _apply_upsert(session, item, now)
        else:
            changed += _apply_tombstone(session, item, now)
    state = sync_state(session, page.origin)
    if page.items:
        state.cursor = page.items[-1].seq
    session.flush()
    return changed


def mirror_own_feed(session: Session, *, origin: str, now: datetime) -> int:
    """Copy our own new feed items into the replica (same rules as for peers)."""
    changed = 0
    while True:
        cursor = sync_state(session, origin).cursor
        page = feed.feed_page(session=session, origin=origin, after=cursor, limit=500)
        if not page.items:
            return changed
        changed += apply_page(session, page, now)


# --- syncing a peer --------------------------------------------------------------------


def _cursor(engine: Engine, node_id: str) -> int:
    with db.transaction(engine) as session:
        return sync_state(session, node_id).cursor


def _apply(engine: Engine, page: FeedPage, now: datetime) -> int:
    with db.transaction(engine) as session:
        return apply_page(session, page, now)


def breaker_of(state: PeerSyncState) -> Breaker:
    """The circuit breaker kept in a peer's sync record."""
    return Breaker(CircuitState(state.circuit), state.failures, state.next_attempt_at)


def _keep(state: PeerSyncState, breaker: Breaker) -> None:
    state.circuit = breaker.state.value
    state.failures = breaker.failures
    state.next_attempt_at = breaker.next_attempt_at


def _record(engine: Engine, node_id: str, now: datetime, error: str | None) -> None:
    with db.transaction(engine) as session:
        state = sync_state(session, node_id)
        state.last_attempt_at = now
        breaker = breaker_of(state)
        if error is None:
            state.last_success_at = now
            _keep(state, breaker.succeeded())
            return
        state.last_error_at, state.last_error = now, error[:500]
        # Jitter, not secrecy: peers that lost the same node must not all return at once.
        _keep(state, breaker.failed(now, BREAKER, random.random()))  # noqa: S311


@dataclass
class _Pull:
    """How far one pull got (kept when the pull fails or runs out of time)."""

    applied: int = 0
    pages: list[int] = field(default_factory=list)


async def _pull(
    *,
    peer: PeerDescriptor,
    client: PeerClient,
    engine: Engine,
    clock: Callable[[], datetime],
    page_size: int,
    progress: _Pull,
) -> None:
    cursor = await run_in_threadpool(_cursor, engine, peer.node_id)
    for _ in range(MAX_PAGES_PER_RUN):
        response = await client.call(
            peer, "GET", FEED_PATH, params={"after": cursor, "limit": page_size}
        )
        if response.status != 200:  # noqa: PLR2004
            raise PeerDataError(
                peer.node_id,
                f"feed answered HTTP {response.status}: "
                f"{response.body[:300].decode(errors='replace')}",
            )
        page = check_page(response.body, origin=peer.node_id, after=cursor)
        progress.applied += await run_in_threadpool(_apply, engine, page, clock())
        progress.pages.append(cursor)
        if not page.items or page.items[-1].seq >= page.latest_seq:
            return
        cursor = page.items[-1].seq


async def sync_peer(
    *,
    peer: PeerDescriptor,
    client: PeerClient,
    engine: Engine,
    clock: Callable[[], datetime],
    page_size: int = 200,
    budget: float = DEFAULT_PULL_SECONDS,
) -> SyncResult:
    """Pull ``peer``'s feed from our cursor to its end, one verified page per transaction,
    within ``budget`` seconds in all (each call also has the client's own deadline)."""
    progress = _Pull()
    try:
        try:
            async with asyncio.timeout(budget):
                await _pull(
                    peer=peer,
                    client=client,
                    engine=engine,
                    clock=clock,
                    page_size=page_size,
                    progress=progress,
                )
        except TimeoutError as e:
            raise PeerTimeoutError(
                peer.node_id,
                f"feed niet binnen de tijdslimiet van {budget:g} s opgehaald "
                f"({len(progress.pages)} pagina's gelukt)",
            ) from e
    except Exception as e:  # any failure stays this peer's, and is recorded
        reason = describe_peer_problem(peer, e)
        log.warning("sync failed: %s", reason)
        await run_in_threadpool(_record, engine, peer.node_id, clock(), reason)
        cursor = await run_in_threadpool(_cursor, engine, peer.node_id)
        return SyncResult(
            peer.node_id, ok=False, applied=progress.applied, cursor=cursor, error=reason
        )
    await run_in_threadpool(_record, engine, peer.node_id, clock(), None)
    cursor = await run_in_threadpool(_cursor, engine, peer.node_id)
    return SyncResult(peer.node_id, ok=True, applied=progress.applied, cursor=cursor)


def due_peers(
    engine: Engine, peers: list[PeerDescriptor], now: datetime, probe: timedelta
) -> list[PeerDescriptor]:
    """The peers whose circuit lets a call through at ``now``. For an open circuit whose
    wait is over, the one probe is claimed here (half open for ``probe``)."""
    due = []
    with db.transaction(engine) as session:
        states = {s.node_id: s for s in session.exec(select(PeerSyncState)).all()}
        for peer in peers:
            state = states.get(peer.node_id)
            if state is None:
                due.append(peer)
                continue
            breaker = breaker_of(state)
            if breaker.allows(now):
                _keep(state, breaker.probe(now, probe))
                session.add(state)
                due.append(peer)
    return due


async def sync_all(
    *,
    peers: list[PeerDescriptor],
    client: PeerClient,
    engine: Engine,
    clock: Callable[[], datetime],
    respect_backoff: bool = True,
    budget: float = DEFAULT_PULL_SECONDS,
) -> list[SyncResult]:
    """Sync every given peer concurrently, each within ``budget`` seconds: one failing or
    stalling peer never stops or slows the others. With ``respect_backoff``, only peers
    whose circuit breaker lets a call through (:func:`due_peers`)."""
    if respect_backoff:
        peers = await run_in_threadpool(
            due_peers, engine, peers, clock(), timedelta(seconds=budget)
        )
    results = await asyncio.gather(
        *(
            sync_peer(peer=p, client=client, engine=engine, clock=clock, budget=budget)
            for p in peers
        )
    )
    return list(results)
