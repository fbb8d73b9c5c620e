"""The node's background work: the sync worker loop, its round (outbox delivery, our own
feed, every peer's feed) and the ledger round (fee agreements, witnessing). Ledger
proposals are outbox messages: the round's outbox delivery sends them.

Everything here takes a :class:`Node`, the collaborators the app factory builds
(:func:`topmatch.app.create_app`), typed, so no round reaches into ``app.state``. One
process per database runs the loop (:mod:`topmatch.workerlock`); ``topmatch worker`` runs it
without HTTP. Every peer's share of a round runs at once with the others' and within
``peer_round_seconds``, so a stalled peer delays no other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import Engine

from topmatch import db, workerlock
from topmatch.clock import Clock
from topmatch.federation import outbox, replication
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, describe_peer_problem
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.identity.service import NodeIdentity
from topmatch.ledger import flows
from topmatch.ledger.keybook import KeyBook
from topmatch.matching import candidates
from topmatch.publishing import service as publishing
from topmatch.publishing.service import Publisher
from topmatch.settings import Settings
from topmatch.settlement import exchange

log = logging.getLogger("topmatch")

T = TypeVar("T")

#: how often a process without the worker lock tries to take it (seconds)
LOCK_RETRY_SECONDS = 15.0
#: the whole sync round gets this many times settings.peer_round_seconds
ROUND_PHASES = 3


class FailureCounter(Protocol):
    """Where failed calls to peers are counted (``topmatch.api.metrics.Metrics``)."""

    def peer_failures(self, task: str, failures: int) -> None: ...


@dataclass(frozen=True)
class Node:
    """What the background rounds need, built once by the app factory in its lifespan."""

    settings: Settings
    engine: Engine
    clock: Clock
    peers: PeerRegistry
    client: PeerClient
    courier: outbox.Courier
    publisher: Publisher
    identity: NodeIdentity
    metrics: FailureCounter


async def supervise_worker(
    node: Node,
    lock: workerlock.WorkerLock,
    stop: asyncio.Event,
    *,
    retry: float = LOCK_RETRY_SECONDS,
) -> None:
    """Run the sync worker while this process holds the worker lock; otherwise try to
    take the lock every ``retry`` seconds (the holder may die). One process per database
    runs the worker (:mod:`topmatch.workerlock`)."""
    while not stop.is_set():
        if await asyncio.to_thread(lock.acquire):
            log.info("this process runs the sync worker (%s)", lock.describe())
            try:
                await sync_worker(
                    node, node.settings.sync_interval_seconds, stop, still_ours=lock.held
                )
            finally:
                await asyncio.to_thread(lock.release)
            if not stop.is_set():
                log.warning("lost the worker lock (%s); trying to take it again", lock.describe())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=retry)


async def sync_worker(
    node: Node,
    interval: float,
    stop: asyncio.Event,
    *,
    still_ours: Callable[[], bool] = lambda: True,
) -> None:
    """Background loop: keep our own feed current, pull every active peer's feed, run the
    ledger round (:func:`sync_round`).

    Stops between rounds when ``stop`` is set, so that shutdown never cuts a transaction,
    and when ``still_ours`` says this process lost the worker lock.
    """
    while not stop.is_set():
        if not await asyncio.to_thread(still_ours):
            return
        try:
            await sync_round(node)
        except Exception:  # the loop must survive anything; the cause is logged
            log.exception("sync round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def sync_round(node: Node) -> None:
    """One round: deliver the outbox, publish, pull every due peer's feed (at once, each
    within ``peer_round_seconds``), then the ledger round with the peers that answered.
    The whole round is bound to ``ROUND_PHASES`` times ``peer_round_seconds``."""
    budget = node.settings.peer_round_seconds
    try:
        async with asyncio.timeout(budget * ROUND_PHASES):
            await deliver_outbox(node)
            await asyncio.to_thread(refresh_own, node.engine, node.publisher, node.clock())
            results = await replication.sync_all(
                peers=node.peers.active(),
                client=node.client,
                engine=node.engine,
                clock=node.clock,
                budget=budget,
            )
            node.metrics.peer_failures("feed_sync", sum(not r.ok for r in results))
            if any(r.applied for r in results):
                await asyncio.to_thread(db.refresh_statistics, node.engine)
            # A peer whose circuit is open, or whose pull just failed, is left alone.
            answered = {r.node_id for r in results if r.ok}
            chosen = [p for p in node.peers.active() if p.node_id in answered]
            await ledger_round(node, peers=chosen)
    except TimeoutError:
        log.error(  # noqa: TRY400 - the cause is the deadline, not a traceback
            "sync round stopped after %g s (%d times peer_round_seconds)",
            budget * ROUND_PHASES,
            ROUND_PHASES,
        )


async def deliver_outbox(node: Node) -> list[outbox.Delivery]:
    """The outbox's delivery step (every peer's queue at once), within one
    ``peer_round_seconds``; what is cut off is claimed until its lease ends, then retried."""
    budget = node.settings.peer_round_seconds
    try:
        async with asyncio.timeout(budget):
            done = await outbox.deliver(node.courier)
    except TimeoutError:
        log.warning("outbox delivery stopped after %g s; the rest waits for the next round", budget)
        return []
    node.metrics.peer_failures("outbox", sum(d.state in {"queued", "failed"} for d in done))
    return done


def due_now(node: Node, peer: str) -> int:
    """Make ``peer``'s waiting messages due now (an admin knows it is back). How many."""
    with db.transaction(node.engine) as session:
        return outbox.due_now(session, peer=peer, now=node.clock())


def refresh_own(engine: Engine, publisher: Publisher, now: datetime) -> None:
    """Re-check every record (closing dates pass; new client names must be scrubbed)."""
    with db.transaction(engine) as session:
        publishing.refresh(session=session, publisher=publisher, now=now)
        replication.mirror_own_feed(session, origin=publisher.origin, now=now)
        candidates.purge_handles(session, now=now)  # expired handles refer to no one


async def _bounded(
    peer: PeerDescriptor,
    work: Awaitable[T],
    *,
    budget: float,
    task: str,
    on_timeout: Callable[[str], T],
) -> T:
    """``work`` for one peer, within ``budget`` seconds; past it, ``on_timeout`` with a
    message that names the peer, its address and the budget."""
    try:
        async with asyncio.timeout(budget):
            return await work
    except TimeoutError:
        detail = describe_peer_problem(
            peer, f"{task} niet binnen de tijdslimiet van {budget:g} s klaar"
        )
        log.warning("%s", detail)
        return on_timeout(detail)


def own_descriptor(settings: Settings) -> PeerDescriptor:
    """Our own descriptor, as peers hold it (written by ``topmatch init``)."""
    return PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())


# --- the ledger round ------------------------------------------------------------------


async def ledger_round(
    node: Node, *, peers: Iterable[PeerDescriptor] | None = None
) -> list[flows.WitnessResult]:
    """Collect fee agreement signatures, then witness each of ``peers`` (default: every
    active peer). Proposals are not sent here: they are outbox messages, delivered by
    :func:`deliver_outbox` (docs/adr/0013-outbox.md). Every peer's share runs at once with
    the others' and within ``peer_round_seconds``, so a stalled peer delays no other."""
    settings = node.settings
    chosen = list(node.peers.active() if peers is None else peers)
    book = KeyBook([own_descriptor(settings), *node.peers.active()])
    await _agreements(node, chosen, book)
    witnessed = list(
        await asyncio.gather(
            *(
                _bounded(
                    peer,
                    flows.witness_peer(
                        peer=peer,
                        client=node.client,
                        engine=node.engine,
                        own=own_descriptor(settings),
                        node=node.identity,
                        clock=node.clock,
                    ),
                    budget=settings.peer_round_seconds,
                    task="getuigen",
                    on_timeout=functools.partial(_witness_timeout, peer),
                )
                for peer in chosen
            )
        )
    )
    node.metrics.peer_failures("witness", sum(not w.ok for w in witnessed))
    return witnessed


def _witness_timeout(peer: PeerDescriptor, detail: str) -> flows.WitnessResult:
    return flows.WitnessResult(node_id=peer.node_id, ok=False, detail=detail)


async def _agreements(node: Node, peers: list[PeerDescriptor], book: KeyBook) -> None:
    """Fetch every peer's fee agreements (each call within the client's deadline)."""
    for result in await exchange.pull_agreements(
        peers=peers,
        client=node.client,
        engine=node.engine,
        me=node.settings.node_id or "",
        book=book,
        clock=node.clock,
    ):
        if not result.ok:
            log.warning("fee agreements: %s", result.detail)  # names the peer and its URL
            node.metrics.peer_failures("fee_agreements", 1)
