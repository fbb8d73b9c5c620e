"""An in-process federation: N nodes, each ``create_app`` over its own SQLite file, keys and
peers folder, one shared frozen clock, every peer call through the simulated network.

A *baseline* (identities, accounts, peers, a fee agreement in force among all nodes) is
built once per process, fault-free, and copied for every schedule, so a schedule starts in
milliseconds. No background worker runs: the schedule calls every delivery, sync and ledger
step itself (``run_worker="never"``, ``sync_interval_seconds=0``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import random
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, event

from tests.factories import FrozenClock, agreement_document
from tests.simulation.network import DYING, Network, crashed_node
from topmatch import db
from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role
from topmatch.app import create_app
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import service as identity
from topmatch.settings import Settings, load_settings

NODES = ("alfa", "bravo", "charlie")
ROLES = {"admin": Role.admin, "consultant": Role.consultant, "finance": Role.finance}
_baselines: dict[int, Path] = {}


class CommitRefusedError(RuntimeError):
    """A crashed node's transaction: it never reaches the disk."""


def url_of(node_id: str) -> str:
    return f"http://{node_id}.sim"


def node_settings(data_dir: Path) -> Settings:
    return load_settings(
        data_dir=data_dir,
        peers_dir=data_dir / "peers",
        database_url=f"sqlite:///{data_dir / 'topmatch.db'}",
        sync_interval_seconds=0,
        run_worker="never",
    )


@dataclass
class SimNode:
    """One bureau's node: its files stay, its app comes and goes (crash, restart)."""

    node_id: str
    data_dir: Path
    tokens: dict[str, str]
    app: FastAPI | None = None
    stack: contextlib.AsyncExitStack | None = None
    client: httpx.AsyncClient | None = None
    crashed: bool = False
    restarts: int = 0

    @property
    def up(self) -> bool:
        return self.app is not None and not self.crashed

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def engine(self) -> Engine:
        assert self.app is not None
        engine: Engine = self.app.state.engine
        return engine


@dataclass
class Federation:
    """The nodes of one schedule and the network between them."""

    root: Path
    clock: FrozenClock
    network: Network
    nodes: dict[str, SimNode] = field(default_factory=dict)
    #: node id -> the source of its outbox's backoff jitter
    jitter: dict[str, random.Random] = field(default_factory=dict)

    async def start(self, node: SimNode) -> None:
        """Build a new app over the node's files and run its lifespan (no worker)."""
        settings = node_settings(node.data_dir)
        app = create_app(
            settings,
            clock=self.clock,
            migrate=False,
            transport=self.network.transport_for(node.node_id),
        )
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(app.router.lifespan_context(app))
        node.app, node.stack, node.crashed = app, stack, False
        self.network.doomed.discard(node.node_id)
        _refuse_commits_after_crash(app.state.engine, node)
        if node.node_id in self.jitter:
            _seed_jitter(app, self.jitter[node.node_id])
        node.client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=url_of(node.node_id))
        )
        self.network.apps[node.node_id] = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def crash(self, node_id: str) -> None:
        """From now on nothing of this node commits, sends or answers."""
        self.nodes[node_id].crashed = True
        self.network.apps.pop(node_id, None)

    async def reap(self) -> None:
        """End of a step: let what still runs of it finish (a delivery to one peer that
        outlived its sibling's crash), then crash the nodes the network doomed in it and
        discard the apps of crashed nodes (nothing in memory survives)."""
        await _drain()
        for node_id in sorted(self.network.doomed):
            self.crash(node_id)
        self.network.doomed.clear()
        for node in self.nodes.values():
            if node.crashed and node.app is not None:
                await self.stop(node)

    async def stop(self, node: SimNode) -> None:
        self.network.apps.pop(node.node_id, None)
        if node.stack is not None:
            with contextlib.suppress(Exception):
                await node.stack.aclose()
        node.app, node.stack, node.client = None, None, None

    async def restart(self, node: SimNode) -> None:
        if node.app is not None:
            await self.stop(node)
        node.restarts += 1
        await self.start(node)

    async def call(
        self,
        node: SimNode,
        method: str,
        path: str,
        *,
        role: str = "admin",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response | None:
        """A user's call to ``node``'s API; None when the node is down or crashed during
        it (the user's browser gets no answer)."""
        if not node.up or node.client is None:
            return None
        try:
            response = await node.client.request(
                method, path, headers={**node.headers(role), **(headers or {})}, **kw
            )
        except BaseException as e:
            if crashed_node(e) != node.node_id:
                raise
            response = None
        if node.node_id in self.network.doomed or node.crashed:
            await self.reap()
            return None
        return response

    async def close(self) -> None:
        for node in self.nodes.values():
            if node.app is not None:
                await self.stop(node)


def _seed_jitter(app: FastAPI, rng: random.Random) -> None:
    """The outbox's backoff jitter from the seed, for the handlers' kicks and the
    worker's rounds alike (both hold the courier)."""
    courier = dataclasses.replace(app.state.courier, rand=rng.random)
    app.state.courier = courier
    worker = getattr(app.state, "worker", None)
    if worker is not None and hasattr(worker, "courier"):
        app.state.worker = dataclasses.replace(worker, courier=courier)


def _refuse_commits_after_crash(engine: Engine, node: SimNode) -> None:
    """A crashed process commits nothing more: its open transactions fail at the commit."""

    def before_commit(_conn: Any) -> None:
        if node.crashed or DYING.get() == node.node_id:
            raise CommitRefusedError(f"{node.node_id} crashed before this commit")

    event.listen(engine, "commit", before_commit)


async def _drain() -> None:
    """Wait for every task but this one (orphans of a gather that a crash cut short)."""
    while others := [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
        await asyncio.gather(*others, return_exceptions=True)


# --- the baseline, built once per process ---------------------------------------------


def _make_node(root: Path, node_id: str, clock: FrozenClock) -> SimNode:
    data_dir = root / node_id
    settings = node_settings(data_dir)
    identity.create_identity(
        settings=settings,
        node_id=node_id,
        name=f"Bureau {node_id}",
        url=url_of(node_id),
        now=clock(),
        force=False,
    )
    engine = db.make_engine(node_settings(data_dir).resolved_database_url())
    try:
        db.upgrade(engine)
        tokens = {}
        with db.transaction(engine) as session:
            for name, role in ROLES.items():
                _, tokens[name] = accounts.add_user(
                    session=session, name=f"{name}-{node_id}", role=role, now=clock()
                )
    finally:
        engine.dispose()
    (data_dir / "tokens.txt").write_text("\n".join(f"{k}={v}" for k, v in tokens.items()))
    return SimNode(node_id, data_dir, tokens)


def _introduce_peers(nodes: list[SimNode]) -> None:
    for node in nodes:
        registry = PeerRegistry(node.data_dir / "peers", own_node_id=node.node_id)
        for other in nodes:
            if other is not node:
                registry.add(other.data_dir / "node.json")


def _expect(response: httpx.Response | None, status: int) -> httpx.Response:
    assert response is not None, "the node did not answer"
    assert response.status_code == status, response.text
    return response


async def _agree(fed: Federation) -> None:
    """The first node proposes the fee agreement; the others fetch and sign it."""
    first, *others = fed.nodes.values()
    members = list(fed.nodes)
    made = await fed.call(first, "POST", "/api/v1/agreements", json=agreement_document(members))
    _expect(made, 201)
    for node in others:
        await fed.call(node, "POST", "/api/v1/ledger/round")
        _expect(await fed.call(node, "POST", "/api/v1/agreements/2026-1/signature"), 200)
    for node in fed.nodes.values():
        await fed.call(node, "POST", "/api/v1/ledger/round")
    for node in fed.nodes.values():
        shown = _expect(await fed.call(node, "GET", "/api/v1/agreements/2026-1"), 200)
        assert shown.json()["in_force"], shown.text


async def baseline(size: int = len(NODES)) -> Path:
    """A folder with ``size`` ready nodes (migrated, peered, agreement in force)."""
    if size in _baselines:
        return _baselines[size]
    root = Path(tempfile.mkdtemp(prefix="topmatch-sim-baseline-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    clock = FrozenClock()
    ids = [*NODES, *(f"node{i}" for i in range(len(NODES), size))][:size]
    nodes = [_make_node(root, n, clock) for n in ids]
    _introduce_peers(nodes)
    network = Network(seed=0, faulty=False, hosts={f"{n}.sim": n for n in ids})
    fed = Federation(root, clock, network, {n.node_id: n for n in nodes})
    try:
        for node in nodes:
            await fed.start(node)
        await _agree(fed)
    finally:
        await fed.close()
    _baselines[size] = root
    return root


@contextlib.asynccontextmanager
async def federation(
    base: Path, workdir: Path, network: Network, clock: FrozenClock
) -> AsyncIterator[Federation]:
    """A fresh copy of the baseline in ``workdir``, every node started."""
    shutil.copytree(base, workdir)
    nodes = {}
    for data_dir in sorted(p for p in workdir.iterdir() if p.is_dir()):
        lines = (data_dir / "tokens.txt").read_text().splitlines()
        tokens = dict(line.split("=", 1) for line in lines)
        nodes[data_dir.name] = SimNode(data_dir.name, data_dir, tokens)
    network.hosts = {f"{n}.sim": n for n in nodes}
    fed = Federation(workdir, clock, network, nodes)
    fed.jitter = {n: random.Random(f"{network.seed}/{n}/jitter") for n in nodes}
    try:
        for node in nodes.values():
            await fed.start(node)
        yield fed
    finally:
        await fed.close()
