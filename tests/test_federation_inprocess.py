"""Three nodes in one process (tests/simulation/harness.py, the network fault-free):
publishing in one, syncing the others; tombstones; a node that goes down and comes back;
a suspended peer; a key rotation.

These were real-process tests in tests/test_multinode.py; nothing in them needs a real
server (the sync, the signatures and the peers folder are the same code either way), and
in process they take a fraction of the time. The CLI steps call what the CLI calls
(``PeerRegistry.set_status``, ``PeerRegistry.add``, ``identity.rotate_key``) on the
node's own files, with the federation's clock.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factories import FrozenClock, employer_data, vacancy_data
from tests.simulation import harness
from tests.simulation.harness import Federation, SimNode
from tests.simulation.network import Network
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerStatus

pytestmark = pytest.mark.skipif(
    "TOPMATCH_TEST_DATABASE_URL" in os.environ,
    reason="the in-process nodes use SQLite files of their own: run once, in the SQLite pass",
)

Scenario = Callable[[Federation], Awaitable[None]]


def _run(scenario: Scenario) -> None:
    """``scenario`` on a fresh copy of the three-node baseline, faults off."""

    async def go() -> None:
        base = await harness.baseline()
        clock = FrozenClock()
        clock.advance(hours=1)
        with tempfile.TemporaryDirectory() as tmp:
            network = Network(seed=0, faulty=False)
            async with harness.federation(base, Path(tmp) / "nodes", network, clock) as fed:
                await scenario(fed)

    asyncio.run(go())


async def _ok(fed: Federation, node: SimNode, method: str, path: str, body: Any = None) -> Any:
    response = await fed.call(node, method, path, json=body)
    assert response is not None, f"{node.node_id} did not answer"
    assert response.status_code in {200, 201, 202}, response.text
    return response.json()


async def _sync(fed: Federation, node: SimNode) -> dict[str, Any]:
    return {r["node_id"]: r for r in await _ok(fed, node, "POST", "/api/v1/peers/sync")}


async def _titles(fed: Federation, node: SimNode) -> set[tuple[str, str]]:
    items = (await _ok(fed, node, "GET", "/api/v1/openings"))["items"]
    return {(o["origin"], o["title"]) for o in items}


async def _publish(fed: Federation, node: SimNode, title: str) -> Any:
    kvk = f"{sum(map(ord, node.node_id + title)) % 10**8:08d}"
    employer = await _ok(fed, node, "POST", "/api/v1/employers", employer_data(kvk_number=kvk))
    vacancy = vacancy_data(employer["id"], title=title, published=True)
    return await _ok(fed, node, "POST", "/api/v1/vacancies", vacancy)


def _registry(node: SimNode) -> PeerRegistry:
    """The node's peers folder, as ``topmatch peers ...`` opens it."""
    return PeerRegistry(node.data_dir / "peers", own_node_id=node.node_id)


async def _publish_sync_tombstone_and_peer_down(fed: Federation) -> None:
    alfa, bravo, charlie = (fed.nodes[n] for n in harness.NODES)
    vacancy = await _publish(fed, alfa, "Heftruckchauffeur")
    await _publish(fed, bravo, "Kok")
    results = await _sync(fed, charlie)
    assert results["alfa"]["ok"], results
    assert results["bravo"]["ok"], results
    assert await _titles(fed, charlie) == {("alfa", "Heftruckchauffeur"), ("bravo", "Kok")}

    await _ok(fed, alfa, "PATCH", f"/api/v1/vacancies/{vacancy['id']}", {"status": "filled"})
    assert (await _sync(fed, charlie))["alfa"]["ok"]
    assert {t for _, t in await _titles(fed, charlie)} == {"Kok"}

    # alfa goes down: bravo keeps its replica and records the failure
    await _publish(fed, alfa, "Schoonmaker")
    assert (await _sync(fed, bravo))["alfa"]["ok"]
    fed.crash("alfa")
    await fed.reap()
    failed = (await _sync(fed, bravo))["alfa"]
    assert not failed["ok"]
    assert failed["error"].startswith(f"alfa ({harness.url_of('alfa')}): onbereikbaar: ")
    assert ("alfa", "Schoonmaker") in await _titles(fed, bravo)
    listed = await _ok(fed, bravo, "GET", "/api/v1/peers")
    peers = {p["node_id"]: p for p in listed["peers"]}
    assert peers["alfa"]["failures"] == 1
    assert peers["alfa"]["last_error"]
    await fed.restart(alfa)
    assert (await _sync(fed, bravo))["alfa"]["ok"]


def test_publish_sync_tombstone_and_peer_down() -> None:
    _run(_publish_sync_tombstone_and_peer_down)


async def _suspended_peer_and_key_rotation(fed: Federation) -> None:
    alfa, bravo, charlie = (fed.nodes[n] for n in harness.NODES)
    await _publish(fed, alfa, "Hovenier")
    # alfa suspends charlie (`topmatch peers suspend charlie`, the app running): charlie's
    # signed requests are refused from now on
    _registry(alfa).set_status("charlie", PeerStatus.suspended)
    refused = (await _sync(fed, charlie))["alfa"]
    assert not refused["ok"]
    assert "suspended" in refused["error"]
    assert (await _sync(fed, bravo))["alfa"]["ok"]
    _registry(alfa).set_status("charlie", PeerStatus.active)
    assert (await _sync(fed, charlie))["alfa"]["ok"]

    # alfa rotates its key while stopped (`topmatch keys rotate --overlap-days 0`); bravo
    # learns the new descriptor (`topmatch peers add`), charlie not yet
    await fed.stop(alfa)
    settings = harness.node_settings(alfa.data_dir)
    identity.rotate_key(settings=settings, now=fed.clock(), overlap=timedelta(0))
    await fed.start(alfa)
    await _publish(fed, alfa, "Kapper")
    _registry(bravo).add(alfa.data_dir / "node.json")
    assert (await _sync(fed, bravo))["alfa"]["ok"]
    stale = (await _sync(fed, charlie))["alfa"]
    assert not stale["ok"]
    assert "unknown key id" in stale["error"]
    shutil.copy(alfa.data_dir / "node.json", charlie.data_dir / "incoming.json")
    _registry(charlie).add(charlie.data_dir / "incoming.json")
    assert (await _sync(fed, charlie))["alfa"]["ok"]
    assert ("alfa", "Kapper") in await _titles(fed, charlie)


def test_suspended_peer_and_key_rotation() -> None:
    _run(_suspended_peer_and_key_rotation)
