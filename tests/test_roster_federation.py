"""A roster update travelling between nodes in one process (tests/simulation/harness.py,
faults off): accepted by one node, passed on through its outbox, verified and stored by
the others; an update below the threshold is refused by every node."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from tests.factories import FrozenClock
from tests.simulation import harness
from tests.simulation.harness import Federation, SimNode
from tests.simulation.network import Network
from topmatch import db
from topmatch.federation.models import OutboxMessage
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.roster import edit, files, verify
from topmatch.roster import service as roster_service
from topmatch.roster.errors import RosterThresholdError
from topmatch.roster.models import Roster

pytestmark = pytest.mark.skipif(
    "TOPMATCH_TEST_DATABASE_URL" in os.environ,
    reason="the in-process nodes use SQLite files of their own: run once, in the SQLite pass",
)


def _sign(roster: Roster, *nodes: SimNode) -> Roster:
    for node in nodes:
        key = identity.load_identity(harness.node_settings(node.data_dir)).private_key
        roster = verify.sign(roster, node_id=node.node_id, key=key)
    return roster


async def _held(fed: Federation, node: SimNode) -> int:
    response = await fed.call(node, "GET", "/.well-known/topmatch/roster.json")
    assert response is not None
    assert response.status_code == 200, response.text
    return verify.parse_roster(response.content).signed.version


async def _pin(fed: Federation) -> Roster:
    """Version 1 from the nodes' node.json, threshold 2, pinned by every node (restarted)."""
    descriptors = [
        PeerDescriptor.model_validate_json((n.data_dir / "node.json").read_text())
        for n in fed.nodes.values()
    ]
    draft = edit.genesis(
        federation="Sim",
        members=[edit.member_from_descriptor(d) for d in descriptors],
        threshold=2,
        issued_at=fed.clock(),
        expires=fed.clock() + timedelta(days=90),
    )
    v1 = _sign(draft, fed.nodes["alfa"], fed.nodes["bravo"])
    pinned = fed.root / "roster-v1.json"
    files.write_roster(pinned, v1)
    for node in fed.nodes.values():
        with (node.data_dir / "topmatch.toml").open("a") as config:
            config.write(f'roster_file = "{pinned}"\n')
        await fed.restart(node)
    return v1


def _accept(node: SimNode, roster: Roster, now_clock: FrozenClock) -> list[str]:
    """What ``topmatch roster accept`` does, on the running node's store."""
    assert node.app is not None
    store = node.app.state.peers.roster
    with db.transaction(node.engine()) as session:
        accepted = roster_service.receive(
            session,
            store=store,
            body=verify.dump_roster(roster),
            me=node.node_id,
            sender=None,
            now=now_clock(),
            horizon=timedelta(days=7),
        )
    return accepted.forwarded_to


async def _deliver(fed: Federation, node: SimNode) -> list[dict[str, object]]:
    response = await fed.call(node, "POST", "/api/v1/outbox/deliver")
    assert response is not None
    assert response.status_code == 200, response.text
    attempts: list[dict[str, object]] = response.json()
    return attempts


async def _update_travels(fed: Federation) -> None:
    alfa, bravo, charlie = (fed.nodes[n] for n in harness.NODES)
    v1 = await _pin(fed)
    peers = await fed.call(alfa, "GET", "/api/v1/peers")
    assert peers is not None
    assert [p["node_id"] for p in peers.json()["peers"]] == ["bravo", "charlie"]

    fed.clock.advance(minutes=1)
    v2 = _sign(edit.propose(v1, issued_at=fed.clock(), threshold=3), alfa, bravo, charlie)
    assert _accept(alfa, v2, fed.clock) == ["bravo", "charlie"]
    attempts = await _deliver(fed, alfa)
    assert {(a["peer"], a["state"]) for a in attempts} == {
        ("bravo", "delivered"),
        ("charlie", "delivered"),
    }
    assert [await _held(fed, n) for n in (alfa, bravo, charlie)] == [2, 2, 2]

    # version 3 with two signatures where version 2 needs three: alfa refuses it, and
    # when alfa's outbox carries it anyway (a node that skips the check), bravo refuses it
    fed.clock.advance(minutes=1)
    v3 = _sign(edit.propose(v2, issued_at=fed.clock()), alfa, charlie)
    with pytest.raises(RosterThresholdError, match="valid signatures by 2: alfa, charlie"):
        _accept(alfa, v3, fed.clock)
    with db.transaction(alfa.engine()) as session:
        roster_service.forward(
            session, roster=v3, skip={"alfa", "charlie"}, now=fed.clock(), horizon=timedelta(1)
        )
    attempts = await _deliver(fed, alfa)
    assert [(a["peer"], a["state"]) for a in attempts] == [("bravo", "failed")]
    with db.transaction(alfa.engine()) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.state == "failed")).one()
    assert "needs signatures of 3 of the 3 members of version 2" in (failed.last_error or "")
    assert [await _held(fed, n) for n in (alfa, bravo, charlie)] == [2, 2, 2]


def test_a_roster_update_travels_and_one_below_threshold_is_refused() -> None:
    async def go() -> None:
        base = await harness.baseline()
        clock = FrozenClock()
        clock.advance(hours=1)
        with tempfile.TemporaryDirectory() as tmp:
            network = Network(seed=0, faulty=False)
            async with harness.federation(base, Path(tmp) / "nodes", network, clock) as fed:
                await _update_travels(fed)

    asyncio.run(go())
