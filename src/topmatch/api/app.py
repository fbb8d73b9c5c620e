"""The application factory: ``uvicorn --factory topmatch.api.app:app_from_env``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, TypeVar

import httpx
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from topmatch import __version__, db, logs, workerlock
from topmatch.accounts.models import Role
from topmatch.api import docs, errors, metrics
from topmatch.api.deps import AdminUser, CurrentUser, SessionDep
from topmatch.api.limits import BodySizeLimit, check_request_text
from topmatch.audit import service as audit
from topmatch.bounds import WholeNumber
from topmatch.cardbox import api as cardbox_api
from topmatch.cardbox.crypto import BsnVault
from topmatch.clock import Clock, shifted_clock
from topmatch.errors import ConfigurationError
from topmatch.federation import api as federation_api
from topmatch.federation import outbox, replication
from topmatch.federation.inbound import SignResponses
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, SignatureAuth, describe_peer_problem
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import api as ledger_api
from topmatch.ledger import flows
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import PendingProposal
from topmatch.matching import api as matching_api
from topmatch.matching import candidates
from topmatch.publishing import service as publishing
from topmatch.publishing.service import Publisher, derive_publishing_secret
from topmatch.referrals import api as referrals_api
from topmatch.referrals import service as referrals_service
from topmatch.settings import Settings, load_settings
from topmatch.settlement import api as settlement_api
from topmatch.settlement import exchange
from topmatch.web import app as web

log = logging.getLogger("topmatch")

T = TypeVar("T")

#: how often a process without the worker lock tries to take it (seconds)
LOCK_RETRY_SECONDS = 15.0
#: the whole sync round gets this many times settings.peer_round_seconds
ROUND_PHASES = 3


class Health(BaseModel):
    status: str
    node_id: str
    version: str


class OutboxAttempt(BaseModel):
    message_id: str
    peer: str
    kind: str
    state: str
    detail: str | None


class Me(BaseModel):
    name: str
    role: Role


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, object]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build a node's app. Identity and the card-box secret are loaded here, so a node with
    missing or unreadable keys fails at start with a message, not at the first request.
    ``transport`` carries every call to a peer (default: the network); the simulation
    (tests/simulation) routes it to other nodes' apps in the same process."""
    clock = clock or shifted_clock(settings.clock_offset_days)
    if not settings.node_id:
        raise ConfigurationError("node_id is not set: run `topmatch init` or set TOPMATCH_NODE_ID")
    if settings.public_url is None:
        raise ConfigurationError(
            "public_url is not set: peers sign requests to it, so it must be the URL they "
            "reach this node at (TOPMATCH_PUBLIC_URL, or run `topmatch init`)"
        )
    node_identity = identity.load_identity(settings)
    secret = identity.load_cardbox_secret(settings)
    vault = BsnVault(secret)
    registry = PeerRegistry(settings.peers_dir, own_node_id=settings.node_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.make_engine(settings.resolved_database_url())
        if migrate:
            db.upgrade(engine)
        db.refresh_statistics(engine)
        app.state.engine = engine
        async with httpx.AsyncClient(
            auth=SignatureAuth(node_identity, clock),
            timeout=settings.peer_timeout_seconds,
            follow_redirects=False,
            transport=transport,
        ) as http:
            app.state.peer_client = PeerClient(
                http=http,
                registry=registry,
                clock=clock,
                max_response_bytes=settings.max_peer_response_bytes,
                deadline_seconds=settings.peer_deadline_seconds,
            )
            app.state.courier = outbox.Courier(
                engine=engine,
                client=app.state.peer_client,
                registry=registry,
                clock=clock,
                on_delivered=referrals_service.ON_DELIVERED,
            )
            stop = asyncio.Event()
            worker = None
            if settings.sync_interval_seconds > 0 and settings.run_worker != "never":
                lock = workerlock.worker_lock(engine, settings.resolved_database_url())
                worker = asyncio.create_task(supervise_worker(app, lock, stop))
            try:
                yield
            finally:
                stop.set()
                if worker is not None:
                    await _finish(worker)
                engine.dispose()

    app = FastAPI(
        title=f"Topmatch node {settings.display_name or settings.node_id}",
        version=__version__,
        lifespan=lifespan,
        description="A bureau's Topmatch node: private card-box, federation, ledger.",
        docs_url=None,  # docs.install serves /docs and /redoc without a CDN
        redoc_url=None,
        dependencies=[Depends(check_request_text)],  # no NUL in any query, path or form
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.vault = vault
    app.state.identity = node_identity
    app.state.peers = registry
    app.state.publisher = Publisher(
        origin=settings.node_id, secret=derive_publishing_secret(secret)
    )
    app.add_middleware(SignResponses, identity=node_identity, clock=clock)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    docs.install(app)
    metrics.install(app, settings)  # after errors and every other middleware
    for module in (
        cardbox_api,
        federation_api,
        matching_api,
        ledger_api,
        referrals_api,
        settlement_api,
    ):
        app.include_router(module.router)
        if hasattr(module, "peer_router"):
            app.include_router(module.peer_router)

    _node_routes(app, settings.node_id)
    web.install(app)
    return app


def _node_routes(app: FastAPI, node_id: str) -> None:
    """Health, who-am-I, the audit trail and the manual ledger round."""

    @app.get("/healthz", tags=["node"])
    def healthz() -> Health:
        return Health(status="ok", node_id=node_id, version=__version__)

    @app.get("/api/v1/me", tags=["node"])
    def me(user: CurrentUser) -> Me:
        return Me(name=user.name, role=user.role)

    @app.post("/api/v1/ledger/round", tags=["ledger"])
    async def run_ledger_round(_: AdminUser) -> list[flows.WitnessResult]:
        """Resend pending proposals and witness every peer now (admin)."""
        return await ledger_round(app)

    @app.post("/api/v1/outbox/deliver", tags=["node"])
    async def deliver_outbox_now(_: AdminUser) -> list[OutboxAttempt]:
        """Deliver every due message in the outbox now (admin); the worker does this
        every round (docs/adr/0013-outbox.md)."""
        return [OutboxAttempt(**vars(d)) for d in await deliver_outbox(app)]

    @app.get("/api/v1/outbox/failed", tags=["node"])
    def failed_messages(session: SessionDep, _: AdminUser) -> list[OutboxAttempt]:
        """The alarm: messages the outbox gave up on (past the horizon, or refused)."""
        return [
            OutboxAttempt(
                message_id=m.message_id,
                peer=m.peer,
                kind=m.kind,
                state=m.state,
                detail=m.last_error,
            )
            for m in outbox.failed(session)
        ]

    @app.get("/api/v1/audit", tags=["node"])
    def audit_events(
        session: SessionDep,
        _: AdminUser,
        entity_id: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(), WholeNumber(1, 1000)] = 100,
        offset: Annotated[int, Query(), WholeNumber(0)] = 0,
    ) -> list[AuditEventPublic]:
        rows = audit.events(session=session, entity_id=entity_id, limit=limit, offset=offset)
        return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]


async def supervise_worker(
    app: FastAPI,
    lock: workerlock.WorkerLock,
    stop: asyncio.Event,
    *,
    retry: float = LOCK_RETRY_SECONDS,
) -> None:
    """Run the sync worker while this process holds the worker lock; otherwise try to
    take the lock every ``retry`` seconds (the holder may die). One process per database
    runs the worker (:mod:`topmatch.workerlock`)."""
    settings: Settings = app.state.settings
    while not stop.is_set():
        if await run_in_threadpool(lock.acquire):
            log.info("this process runs the sync worker (%s)", lock.describe())
            try:
                await sync_worker(app, settings.sync_interval_seconds, stop, still_ours=lock.held)
            finally:
                await run_in_threadpool(lock.release)
            if not stop.is_set():
                log.warning("lost the worker lock (%s); trying to take it again", lock.describe())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=retry)


async def sync_worker(
    app: FastAPI,
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
        if not await run_in_threadpool(still_ours):
            return
        try:
            await sync_round(app)
        except Exception:  # the loop must survive anything; the cause is logged
            log.exception("sync round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def sync_round(app: FastAPI) -> None:
    """One round: publish, pull every due peer's feed (at once, each within
    ``peer_round_seconds``), then the ledger round with the peers that answered. The
    whole round is bound to ``ROUND_PHASES`` times ``peer_round_seconds``."""
    state = app.state
    settings: Settings = state.settings
    budget = settings.peer_round_seconds
    try:
        async with asyncio.timeout(budget * ROUND_PHASES):
            await deliver_outbox(app)
            await run_in_threadpool(refresh_own, state.engine, state.publisher, state.clock())
            results = await replication.sync_all(
                peers=state.peers.active(),
                client=state.peer_client,
                engine=state.engine,
                clock=state.clock,
                budget=budget,
            )
            state.metrics.peer_failures("feed_sync", sum(not r.ok for r in results))
            if any(r.applied for r in results):
                await run_in_threadpool(db.refresh_statistics, state.engine)
            # A peer whose circuit is open, or whose pull just failed, is left alone.
            answered = {r.node_id for r in results if r.ok}
            chosen = [p for p in state.peers.active() if p.node_id in answered]
            await ledger_round(app, peers=chosen)
    except TimeoutError:
        log.error(  # noqa: TRY400 - the cause is the deadline, not a traceback
            "sync round stopped after %g s (%d times peer_round_seconds)",
            budget * ROUND_PHASES,
            ROUND_PHASES,
        )


async def deliver_outbox(app: FastAPI) -> list[outbox.Delivery]:
    """The outbox's delivery step (every peer's queue at once), within one
    ``peer_round_seconds``; what is cut off is claimed until its lease ends, then retried."""
    budget = app.state.settings.peer_round_seconds
    try:
        async with asyncio.timeout(budget):
            done = await outbox.deliver(app.state.courier)
    except TimeoutError:
        log.warning("outbox delivery stopped after %g s; the rest waits for the next round", budget)
        return []
    app.state.metrics.peer_failures("outbox", sum(d.state in {"queued", "failed"} for d in done))
    return done


async def _finish(worker: asyncio.Task[None], grace: float = 30) -> None:
    """Let the worker end its round; cancel it only if it overruns the grace period."""
    try:
        await asyncio.wait_for(asyncio.shield(worker), timeout=grace)
    except TimeoutError:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


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


async def ledger_round(
    app: FastAPI, *, peers: Iterable[PeerDescriptor] | None = None
) -> list[flows.WitnessResult]:
    """Collect fee agreement signatures, resend pending proposals, then witness each of
    ``peers`` (default: every active peer). Every peer's share runs at once with the
    others' and within ``peer_round_seconds``, so a stalled peer delays no other."""
    state = app.state
    settings: Settings = state.settings
    chosen = list(state.peers.active() if peers is None else peers)
    book = KeyBook([ledger_api.own_descriptor(settings), *state.peers.active()])
    await _agreements(app, chosen, book)
    await _resend_pending(app, chosen, book)
    witnessed = list(
        await asyncio.gather(
            *(
                _bounded(
                    peer,
                    flows.witness_peer(
                        peer=peer,
                        client=state.peer_client,
                        engine=state.engine,
                        own=ledger_api.own_descriptor(settings),
                        node=state.identity,
                        clock=state.clock,
                    ),
                    budget=settings.peer_round_seconds,
                    task="getuigen",
                    on_timeout=functools.partial(_witness_timeout, peer),
                )
                for peer in chosen
            )
        )
    )
    state.metrics.peer_failures("witness", sum(not w.ok for w in witnessed))
    return witnessed


def _witness_timeout(peer: PeerDescriptor, detail: str) -> flows.WitnessResult:
    return flows.WitnessResult(node_id=peer.node_id, ok=False, detail=detail)


async def _agreements(app: FastAPI, peers: list[PeerDescriptor], book: KeyBook) -> None:
    """Fetch every peer's fee agreements (each call within the client's deadline)."""
    state = app.state
    settings: Settings = state.settings
    for result in await exchange.pull_agreements(
        peers=peers,
        client=state.peer_client,
        engine=state.engine,
        me=settings.node_id or "",
        book=book,
        clock=state.clock,
    ):
        if not result.ok:
            log.warning("fee agreements: %s", result.detail)  # names the peer and its URL
            state.metrics.peer_failures("fee_agreements", 1)


async def _resend_pending(app: FastAPI, peers: list[PeerDescriptor], book: KeyBook) -> None:
    """Send pending proposals again: one peer's after the other, all peers at once."""
    by_peer: dict[str, list[PendingProposal]] = {p.node_id: [] for p in peers}
    for pending in await run_in_threadpool(_pending, app.state.engine):
        if pending.counterparty in by_peer:
            by_peer[pending.counterparty].append(pending)
    budget = app.state.settings.peer_round_seconds
    await asyncio.gather(
        *(
            _bounded(
                peer,
                _resend_to(app, peer, by_peer[peer.node_id], book),
                budget=budget,
                task="voorstellen opnieuw versturen",
                on_timeout=lambda _detail: None,
            )
            for peer in peers
            if by_peer[peer.node_id]
        )
    )


async def _resend_to(
    app: FastAPI, peer: PeerDescriptor, proposals: list[PendingProposal], book: KeyBook
) -> None:
    state = app.state
    for pending in proposals:
        try:
            await ledger_api.deliver(
                pending, peer=peer, state=state, settings=state.settings, book=book
            )
        except Exception:  # one stuck proposal never stops the others or witnessing
            log.exception("resending proposal %s failed", pending.entry_id)
            state.metrics.peer_failures("ledger_proposal", 1)


def _pending(engine: Engine) -> list[PendingProposal]:
    with db.transaction(engine) as session:
        return list(
            session.exec(select(PendingProposal).where(PendingProposal.status == "pending")).all()
        )


def refresh_own(engine: Engine, publisher: Publisher, now: datetime) -> None:
    """Re-check every record (closing dates pass; new client names must be scrubbed)."""
    with db.transaction(engine) as session:
        publishing.refresh(session=session, publisher=publisher, now=now)
        replication.mirror_own_feed(session, origin=publisher.origin, now=now)
        candidates.purge_handles(session, now=now)  # expired handles refer to no one


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment and config file.

    It takes over logging in both formats, as ``topmatch serve`` does (see
    :mod:`topmatch.logs`): uvicorn's own access log writes query strings, which may hold
    a name someone searched for.
    """
    settings = load_settings()
    logs.configure(settings)
    return create_app(settings)
