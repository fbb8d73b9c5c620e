"""What the bureaus' consultants and admins do in a schedule, through each node's public
API with tokens, while the network misbehaves and nodes crash.

Every choice comes from the schedule's ``random.Random``; each action is tolerant of the
node being down (no answer) and of answers that are still on their way (202).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.factories import client_data, employer_data, vacancy_data
from tests.simulation.harness import Federation, SimNode

FIRST = ["Wubbe", "Hiltje", "Sjoerdje", "Feikje", "Goaitsen", "Tsjitske", "Wopke", "Oebele"]
LAST = ["Hoogterp", "Zwartsenberg", "Kiekebelt", "Wierdsma", "Oostergetel", "Bruinsmeer"]
STREETS = ["Kwikstaartlaan", "Zilverreigerpad", "Grutto-erf", "Tureluurhof"]
DECISIONS_PATH = "/api/v1/introductions/{id}/decision"


def bsn(rng: random.Random) -> str:
    """A random number that passes the 11-proof (elfproef) of a BSN."""
    while True:
        digits = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(7))]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if last < 10:
            return "".join(map(str, [*digits, last]))


@dataclass
class Person:
    """A card-box client's personal data: none of it may ever cross the network."""

    first_name: str
    last_name: str
    bsn: str
    date_of_birth: str
    phone: str
    email: str
    street: str

    def secrets(self) -> list[str]:
        return [
            self.first_name,
            self.last_name,
            self.bsn,
            self.date_of_birth,
            self.phone,
            self.phone.replace("-", ""),
            self.email,
            self.street,
        ]


@dataclass
class World:
    """What the users did (for the invariants): personal data, keys, placements asked."""

    people: list[Person] = field(default_factory=list)
    clients: dict[str, list[tuple[str, Person]]] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)
    placements: set[str] = field(default_factory=set)
    actions: list[str] = field(default_factory=list)
    #: introduction id -> the idempotency key it was made with: what the schedule sorts
    #: by before it chooses (ids are random; the keys come from the seed)
    labels: dict[str, str] = field(default_factory=dict)
    published: int = 0
    #: placements (entry ids) that got an event
    events: set[str] = field(default_factory=set)
    #: what the invariants found to check (counts, for the report)
    checked: dict[str, int] = field(default_factory=dict)


def person(rng: random.Random, n: int) -> Person:
    return Person(
        first_name=rng.choice(FIRST),
        last_name=rng.choice(LAST),
        bsn=bsn(rng),
        date_of_birth=f"19{rng.randint(60, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        phone=f"06-{rng.randint(10_000_000, 99_999_999)}",
        email=f"{rng.choice(FIRST).lower()}.{n}@voorbeeld.nl",
        street=rng.choice(STREETS),
    )


async def publish(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """A consultant records an employer and a published vacancy."""
    kvk = f"{rng.randint(10_000_000, 99_999_999)}"
    made = await fed.call(node, "POST", "/api/v1/employers", role="consultant",
                          json=employer_data(kvk_number=kvk))  # fmt: skip
    if made is None or made.status_code != 201:
        return
    world.published += 1
    title = f"Vacature {world.published:04d}"
    body = vacancy_data(made.json()["id"], title=title, published=True)
    await fed.call(node, "POST", "/api/v1/vacancies", role="consultant", json=body)


async def _new_client(
    fed: Federation, world: World, rng: random.Random, node: SimNode
) -> tuple[str, Person] | None:
    who = person(rng, len(world.people))
    world.people.append(who)
    data = client_data(
        first_name=who.first_name,
        last_name=who.last_name,
        name_prefix="",
        bsn=who.bsn,
        date_of_birth=who.date_of_birth,
        phone=who.phone,
        email=who.email,
        street=who.street,
    )
    made = await fed.call(node, "POST", "/api/v1/clients", role="consultant", json=data)
    if made is None or made.status_code != 201:
        return None
    client = (str(made.json()["id"]), who)
    world.clients.setdefault(node.node_id, []).append(client)
    return client


async def introduce(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """A consultant introduces a new client to another bureau's opening; the note names
    the client (the wire gate must scrub it); sometimes the form is sent twice."""
    seen = await fed.call(node, "GET", "/api/v1/openings", role="consultant")
    if seen is None or seen.status_code != 200:
        return
    items = sorted(seen.json()["items"], key=lambda o: (o["origin"], o["title"], o["id"]))
    theirs = [o for o in items if o["origin"] != node.node_id]
    if not theirs:
        return
    opening = rng.choice(theirs)
    client = await _new_client(fed, world, rng, node)
    if client is None:
        return
    client_id, who = client
    key = str(uuid.UUID(int=rng.getrandbits(128)))
    world.keys.setdefault(node.node_id, set()).add(key)
    body = {
        "peer": opening["origin"],
        "kind": "client_for_opening",
        "summary_id": opening["id"],
        "client_id": client_id,
        "note": f"{who.first_name} {who.last_name} past goed, bel {who.phone}",
    }
    for _ in range(rng.choice((1, 1, 2))):  # a double click now and then
        made = await fed.call(node, "POST", "/api/v1/introductions", role="consultant",
                              json=body, headers={"Idempotency-Key": key})  # fmt: skip
        if made is not None and made.status_code == 202:
            world.labels[made.json()["id"]] = key


async def _introductions(fed: Federation, world: World, node: SimNode) -> list[dict[str, Any]]:
    """The node's introductions in an order the seed decides (not their random ids)."""
    listed = await fed.call(node, "GET", "/api/v1/introductions", role="consultant")
    if listed is None or listed.status_code != 200:
        return []
    rows: list[dict[str, Any]] = listed.json()
    return sorted(rows, key=lambda r: (world.labels.get(r["id"], "~"), r["id"]))


async def _asked(fed: Federation, world: World, node: SimNode) -> list[dict[str, Any]]:
    return [
        i
        for i in await _introductions(fed, world, node)
        if i["role"] == "responder" and i["state"] == "requested"
    ]


async def decide(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """A consultant accepts or declines an introduction asked of this bureau."""
    asked = await _asked(fed, world, node)
    if asked:
        await _decide(fed, world, rng, node, rng.choice(asked))


async def decide_all(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    for intro in await _asked(fed, world, node):
        await _decide(fed, world, rng, node, intro)


async def _decide(
    fed: Federation, world: World, rng: random.Random, node: SimNode, intro: dict[str, Any]
) -> None:
    """Accept (mostly) or decline; the reason names one of this bureau's own clients
    (it must not leave the node)."""
    ours = world.clients.get(node.node_id) or []
    named = rng.choice(ours)[1].last_name if ours else "niemand"
    accept = rng.random() < 0.75
    body = {"accept": accept, "client_consents": True, "reason": f"Besproken met {named}"}
    path = DECISIONS_PATH.format(id=intro["id"])
    await fed.call(node, "POST", path, role="consultant", json=body)


async def _accepted(fed: Federation, world: World, node: SimNode) -> list[dict[str, Any]]:
    return [
        i
        for i in await _introductions(fed, world, node)
        if i["role"] == "requester" and i["state"] == "accepted" and i["client_id"]
    ]


async def place(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """A consultant records the placement of our client at another bureau's opening."""
    accepted = await _accepted(fed, world, node)
    if accepted:
        await _place(fed, world, rng, node, rng.choice(accepted))


async def place_all(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    for intro in await _accepted(fed, world, node):
        await _place(fed, world, rng, node, intro)


async def _place(
    fed: Federation, world: World, rng: random.Random, node: SimNode, intro: dict[str, Any]
) -> None:
    body = {
        "counterparty": intro["peer"],
        "we_are": "payer",  # the bureau whose client is placed pays
        "introduction_id": intro["id"],
        "summary_id": intro["summary_id"],
        "client_id": intro["client_id"],
        "start_date": "2026-12-01",
        "contract_type": rng.choice(("tijdelijk", "vast")),
        "hours_per_week": rng.choice((16, 24, 32)),
    }
    made = await fed.call(node, "POST", "/api/v1/ledger/placements", role="consultant", json=body)
    if made is not None and made.status_code in {200, 202}:
        world.placements.add(intro["id"])


async def event(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """What happened next to a placement at our opening (retained, voided, disputed),
    co-signed like the placement; the reason names one of our clients (the wire gate
    must scrub it). One event per placement, by the bureau that brought the opening: two
    bureaus recording conflicting events at once is refused by design (409), not lost."""
    listed = await fed.call(node, "GET", "/api/v1/ledger/entries?limit=1000", role="consultant")
    if listed is None or listed.status_code != 200:
        return
    placements = sorted(
        (
            e["entry"]
            for e in listed.json()
            if e["entry"]["type"] == "placement.started"
            and e["entry"]["payee"] == node.node_id
            and e["entry"]["entry_id"] not in world.events
        ),
        key=lambda e: (world.labels.get(e["placement"]["introduction_id"], "~"), e["entry_id"]),
    )
    if not placements:
        return
    ours = world.clients.get(node.node_id) or []
    named = rng.choice(ours)[1].first_name if ours else "niemand"
    placement = rng.choice(placements)
    body = {
        "refers_to": placement["entry_id"],
        "type": rng.choice(("placement.retained", "placement.voided", "placement.disputed")),
        "reason": f"Gesproken met {named} over het werk",
    }
    made = await fed.call(node, "POST", "/api/v1/ledger/events", role="consultant", json=body)
    if made is not None and made.status_code in {200, 202}:
        world.events.add(placement["entry_id"])


async def cancel(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """A consultant withdraws an introduction whose request still waits in the outbox
    (as far as this node knows: the peer may have received it and its answer got lost)."""
    waiting = [
        i
        for i in await _introductions(fed, world, node)
        if i["role"] == "requester"
        and i["state"] == "requested"
        and (i["message"] or {}).get("state") == "queued"
    ]
    if waiting:
        intro = rng.choice(waiting)
        path = f"/api/v1/introductions/{intro['id']}/cancel"
        await fed.call(node, "POST", path, role="consultant")


async def deliver(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    await fed.call(node, "POST", "/api/v1/outbox/deliver")


async def sync(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    await fed.call(node, "POST", "/api/v1/peers/sync")


async def ledger_round(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    await fed.call(node, "POST", "/api/v1/ledger/round")


async def tick(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """Time passes: a few seconds to an hour and a half."""
    fed.clock.advance(seconds=rng.choice((5, 60, 600, 1800, 5400)))


async def crash(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """The node dies between two requests (the network crashes nodes mid-request)."""
    if node.app is not None:
        fed.crash(node.node_id)
        await fed.reap()


async def restart(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    for down in fed.nodes.values():
        if down.app is None:
            await fed.restart(down)


async def partition(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    other = rng.choice([n for n in fed.nodes if n != node.node_id])
    fed.network.partitions.add(frozenset((node.node_id, other)))


async def heal(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    fed.network.partitions = {p for p in fed.network.partitions if node.node_id not in p}


async def release(fed: Federation, world: World, rng: random.Random, node: SimNode) -> None:
    """Held messages arrive late, in a new order."""
    await fed.network.release(rng, share=rng.random())


Action = Callable[[Federation, World, random.Random, SimNode], Awaitable[None]]
#: each action with its weight in a schedule
ACTIONS: dict[str, tuple[Action, int]] = {
    "publish": (publish, 3),
    "introduce": (introduce, 6),
    "decide": (decide, 5),
    "place": (place, 4),
    "event": (event, 2),
    "cancel": (cancel, 1),
    "deliver": (deliver, 5),
    "sync": (sync, 4),
    "ledger_round": (ledger_round, 3),
    "tick": (tick, 4),
    "crash": (crash, 1),
    "restart": (restart, 2),
    "partition": (partition, 1),
    "heal": (heal, 1),
    "release": (release, 2),
}


async def act(fed: Federation, world: World, rng: random.Random) -> None:
    """One random step by one random node."""
    names = list(ACTIONS)
    name = rng.choices(names, weights=[ACTIONS[n][1] for n in names])[0]
    node = fed.nodes[rng.choice(sorted(fed.nodes))]
    world.actions.append(f"{name}@{node.node_id}")
    await ACTIONS[name][0](fed, world, rng, node)
