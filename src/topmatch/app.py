"""The application factory: ``uvicorn --factory topmatch.app:app_from_env``.

A composition root: it builds the collaborators (engine, signing peer client, outbox
courier, publisher, the background worker's :class:`topmatch.worker.Node`), puts each in
``app.state`` for the typed dependencies of :mod:`topmatch.api.deps` and
:mod:`topmatch.api.cardbox_deps` to read, and wires the routers. It holds no use case;
nothing but the CLI and the tests imports it (an import-linter contract).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI

from topmatch import __version__, db, logs, workerlock
from topmatch import worker as background
from topmatch.api import docs, errors, metrics
from topmatch.api import node as node_api
from topmatch.api.limits import BodySizeLimit, check_request_text
from topmatch.cardbox import api as cardbox_api
from topmatch.cardbox.crypto import BsnVault
from topmatch.clock import Clock, shifted_clock
from topmatch.errors import ConfigurationError
from topmatch.federation import api as federation_api
from topmatch.federation import outbox
from topmatch.federation.inbound import SignResponses
from topmatch.federation.peers import PeerRegistry, registry_for
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import service as identity
from topmatch.ledger import api as ledger_api
from topmatch.ledger import flows
from topmatch.ledger.keybook import KeyBook
from topmatch.matching import api as matching_api
from topmatch.publishing.service import Publisher, derive_publishing_secret
from topmatch.referrals import api as referrals_api
from topmatch.referrals import service as referrals_service
from topmatch.roster import api as roster_api
from topmatch.settings import Settings, load_settings
from topmatch.settlement import api as settlement_api
from topmatch.web import app as web

log = logging.getLogger("topmatch")

#: the routers, each with its ``router`` and, if peers call it, its ``peer_router``
ROUTERS = (
    cardbox_api,
    federation_api,
    matching_api,
    ledger_api,
    referrals_api,
    settlement_api,
    roster_api,
)


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
    node_id = _require_node_settings(settings)
    node_identity = identity.load_identity(settings)
    secret = identity.load_cardbox_secret(settings)
    vault = BsnVault(secret)
    registry = registry_for(settings, clock=clock)
    publisher = Publisher(origin=node_id, secret=derive_publishing_secret(secret))

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
            client = PeerClient(
                http=http,
                registry=registry,
                clock=clock,
                max_response_bytes=settings.max_peer_response_bytes,
                deadline_seconds=settings.peer_deadline_seconds,
            )
            courier = outbox.Courier(
                engine=engine,
                client=client,
                registry=registry,
                clock=clock,
                on_delivered=referrals_service.ON_DELIVERED,
                on_answer=ledger_hooks(settings, registry),
            )
            node = background.Node(
                settings=settings,
                engine=engine,
                clock=clock,
                peers=registry,
                client=client,
                courier=courier,
                publisher=publisher,
                identity=node_identity,
                metrics=app_metrics,
            )
            # read back only through the typed dependencies (api/deps.py, api/cardbox_deps.py)
            app.state.peer_client, app.state.courier, app.state.worker = client, courier, node
            stop = asyncio.Event()
            worker = None
            if settings.sync_interval_seconds > 0 and settings.run_worker != "never":
                lock = workerlock.worker_lock(engine, settings.resolved_database_url())
                worker = asyncio.create_task(background.supervise_worker(node, lock, stop))
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
    app.state.publisher = publisher
    app.add_middleware(SignResponses, identity=node_identity, clock=clock)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    docs.install(app)
    app_metrics = metrics.install(app, settings)  # after errors and every other middleware
    for module in ROUTERS:
        app.include_router(module.router)
        if hasattr(module, "peer_router"):
            app.include_router(module.peer_router)
    app.include_router(node_api.router_for(node_id))
    web.install(app)
    return app


def _require_node_settings(settings: Settings) -> str:
    """The node id; refuses settings a node cannot start with."""
    if not settings.node_id:
        raise ConfigurationError("node_id is not set: run `topmatch init` or set TOPMATCH_NODE_ID")
    if settings.public_url is None:
        raise ConfigurationError(
            "public_url is not set: peers sign requests to it, so it must be the URL they "
            "reach this node at (TOPMATCH_PUBLIC_URL, or run `topmatch init`)"
        )
    return settings.node_id


async def _finish(worker: asyncio.Task[None], grace: float = 30) -> None:
    """Let the worker end its round; cancel it only if it overruns the grace period."""
    try:
        await asyncio.wait_for(asyncio.shield(worker), timeout=grace)
    except TimeoutError:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


def ledger_hooks(settings: Settings, registry: PeerRegistry) -> outbox.OnAnswer:
    """The ledger's answer hooks: the countersigned entry a peer answers a proposal with is
    appended in the transaction that settles the message (federation imports no ledger)."""
    own = background.own_descriptor(settings)
    return flows.answer_hooks(
        me=settings.node_id or "", book=lambda: KeyBook([own, *registry.active()])
    )


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment and config file.

    It takes over logging in both formats, as ``topmatch serve`` does (see
    :mod:`topmatch.logs`): uvicorn's own access log writes query strings, which may hold
    a name someone searched for.
    """
    settings = load_settings()
    logs.configure(settings)
    return create_app(settings)
