"""One schedule: a seeded run of the workload over a faulty network with crashes, then the
network heals and the nodes catch up until quiet, then the invariants.

    PYTHONPATH=src python -m tests.simulation --seed 17            # replay one seed
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, func, select

from tests.factories import FrozenClock
from tests.simulation import harness, invariants, workload
from tests.simulation.network import Faults, Network
from topmatch.federation.models import OutboxMessage
from topmatch.federation.outbox import PENDING
from topmatch.ledger.models import PendingProposal

#: most catch-up rounds after the network heals (each two hours apart: past every backoff)
CATCH_UP_ROUNDS = 8


def replay_command(seed: int, steps: int, storm: float = 1.0, nodes: int = 3) -> str:
    extra = f" --storm {storm:g}" if storm != 1.0 else ""
    extra += f" --nodes {nodes}" if nodes != 3 else ""
    return (
        f"PYTHONPATH=src python -m tests.simulation --seed {seed} --steps {steps}{extra} --verbose"
    )


@dataclass
class Outcome:
    seed: int
    steps: int
    storm: float
    nodes: int
    problems: list[str]
    actions: list[str]
    trace: dict[tuple[str, str], list[str]]
    faults: dict[str, int] = field(default_factory=dict)
    introductions: int = 0
    placements: int = 0
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        lines = [f"seed {self.seed}: {len(self.problems)} invariant(s) broken"]
        lines += [f"  - {p}" for p in self.problems]
        lines.append(f"  replay: {replay_command(self.seed, self.steps, self.storm, self.nodes)}")
        return "\n".join(lines)


async def run(seed: int, *, steps: int = 30, storm: float = 1.0, nodes: int = 3) -> Outcome:
    """Run the schedule of ``seed`` in a fresh copy of the baseline federation of
    ``nodes`` nodes, with the default faults ``storm`` times as often."""
    base = await harness.baseline(nodes)
    rng = random.Random(seed)
    clock = FrozenClock()
    clock.advance(hours=1)
    network = Network(seed=seed, faults=Faults().scaled(storm))
    world = workload.World()
    with tempfile.TemporaryDirectory(prefix=f"topmatch-sim-{seed}-") as tmp:
        async with harness.federation(base, Path(tmp) / "nodes", network, clock) as fed:
            await _prologue(fed, world, rng)
            for _ in range(steps):
                await workload.act(fed, world, rng)
                await fed.reap()
            await _finish_work(fed, world, rng)  # still over the faulty network
            await _catch_up(fed, rng)
            await _finish_work(fed, world, rng)  # what was accepted meanwhile
            await _catch_up(fed, rng)
            problems = await invariants.check(fed, world)
    return Outcome(
        seed=seed,
        steps=steps,
        storm=storm,
        nodes=nodes,
        problems=problems,
        actions=world.actions,
        trace=dict(network.trace),
        faults=_fault_counts(network),
        introductions=sum(len(v) for v in world.keys.values()),
        placements=len(world.placements),
        checked=world.checked,
    )


async def _prologue(fed: harness.Federation, world: workload.World, rng: random.Random) -> None:
    """Every bureau publishes an opening and pulls the others' (over the faulty network)."""
    for node in fed.nodes.values():
        await workload.publish(fed, world, rng, node)
    for node in fed.nodes.values():
        await workload.sync(fed, world, rng, node)


async def _finish_work(fed: harness.Federation, world: workload.World, rng: random.Random) -> None:
    """The consultants answer every open request and record every accepted placement
    and something that happened next to a placement (on the nodes that are up), with
    delivery steps in between."""
    for node in fed.nodes.values():
        await workload.decide_all(fed, world, rng, node)
    for node in fed.nodes.values():
        await workload.deliver(fed, world, rng, node)
    for node in fed.nodes.values():
        await workload.place_all(fed, world, rng, node)
    for node in fed.nodes.values():
        await workload.event(fed, world, rng, node)
    await fed.reap()


async def _catch_up(fed: harness.Federation, rng: random.Random) -> None:
    """Heal the network, restart every node, release what was held; then rounds of
    delivery, sync and the ledger until nothing is pending; then one more ledger round
    each, so every log is witnessed at its final size."""
    fed.network.faulty = False
    fed.network.partitions.clear()
    await fed.reap()
    for node in fed.nodes.values():
        if node.app is None:
            await fed.restart(node)
    await fed.network.release(rng)
    for _ in range(CATCH_UP_ROUNDS):
        fed.clock.advance(hours=2)
        for node in fed.nodes.values():
            await fed.call(node, "POST", "/api/v1/outbox/deliver")
            await fed.call(node, "POST", "/api/v1/peers/sync")
            await fed.call(node, "POST", "/api/v1/ledger/round")
        if all(_pending(node) == 0 for node in fed.nodes.values()):
            break
    for node in fed.nodes.values():
        await fed.call(node, "POST", "/api/v1/ledger/round")


def _pending(node: harness.SimNode) -> int:
    """Messages and ledger proposals this node still has to get across."""
    with Session(node.engine()) as session:
        messages = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.state).in_(PENDING))
        ).one()
        proposals = session.exec(
            select(func.count())
            .select_from(PendingProposal)
            .where(col(PendingProposal.status) == "pending")
        ).one()
    return int(messages) + int(proposals)


def _fault_counts(network: Network) -> dict[str, int]:
    counts: dict[str, int] = {}
    for events in network.trace.values():
        for event in events:
            what = event.rsplit(" ", 1)[-1]
            counts[what] = counts.get(what, 0) + 1
    return counts
