"""The privacy proof between real nodes: every byte on the wire, recorded by proxies.

Three nodes run as real processes, each behind a recording TCP proxy that is its public
URL, so everything peers send each other passes a proxy. The card-boxes hold clients with
canaries in every personal field; the nodes sync, search, match a client and ask each
other for candidates. No canary may appear in anything the proxies saw, and a bureau
with fewer fitting clients than the minimum group answers with none.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from tests.factories import employer_data, vacancy_data
from tests.recording_proxy import RecordingProxy
from tests.test_multinode import NODES, Node, _database_urls, _eventually
from tests.test_privacy import Canaries, _person, _plant
from tests.test_serve import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def proxied(
    tmp_path: Path, database_url: str
) -> Iterator[tuple[dict[str, Node], list[RecordingProxy]]]:
    urls_iter = _database_urls(database_url)
    urls = next(urls_iter)
    nodes: dict[str, Node] = {}
    proxies: list[RecordingProxy] = []
    for node_id in NODES:
        port = free_port()
        proxy = RecordingProxy(port)
        proxy.start()
        proxies.append(proxy)
        data_dir = tmp_path / node_id
        env = {
            **os.environ,
            "TOPMATCH_DATA_DIR": str(data_dir),
            "TOPMATCH_PEERS_DIR": str(data_dir / "peers"),
            "TOPMATCH_SYNC_INTERVAL_SECONDS": "0",
            "TOPMATCH_CANDIDATE_DEADLINE_SECONDS": "20",
        }
        env.pop("TOPMATCH_TEST_DATABASE_URL", None)
        if node_id in urls:
            env["TOPMATCH_DATABASE_URL"] = urls[node_id]
        node = Node(node_id, port, env, data_dir)
        public = f"http://127.0.0.1:{proxy.port}"
        assert (
            node.setup(
                "init", "--node-id", node_id, "--name", f"Bureau {node_id}", "--url", public
            ).returncode
            == 0
        )
        node.token = (
            node.setup("users", "add", "admin", "--role", "admin").stdout.strip().splitlines()[-1]
        )
        nodes[node_id] = node
    for node in nodes.values():
        for other in nodes.values():
            if other is not node:
                assert node.setup("peers", "add", str(other.data_dir / "node.json")).returncode == 0
    for node in nodes.values():
        node.launch()
    try:
        for node in nodes.values():
            node.wait_started()
        yield nodes, proxies
    finally:
        for node in nodes.values():
            node.stop()
        for proxy in proxies:
            proxy.stop()
        next(urls_iter, None)


def _client(
    node: Node,
    fake: Faker,
    rnd: random.Random,
    canaries: Canaries,
    tag: str,
    *,
    consent: bool = True,
) -> Any:
    person = _person(fake, rnd, tag)
    _plant(canaries, person)
    return node.post(
        "/api/v1/clients",
        {
            "first_name": person.first,
            "last_name": person.last,
            "bsn": person.bsn,
            "date_of_birth": person.born,
            "phone": person.phone,
            "email": person.email,
            "street": person.street,
            "house_number": "3",
            "postcode": person.postcode,
            "municipality": "Tilburg",
            "benefit_type": "participatiewet",
            "max_travel_km": 40,
            "skills": ["orderpicken", f"heftruck ({person.first})"],
            "hours_per_week": 24,
            "desired_occupations": [{"label": "Magazijnmedewerker", "isco08": "9321"}],
            "education_level": "mbo-2",
            "consent_share_profile": consent,
            "notes": f"Bellen via {person.phone}, BSN {person.bsn}, woont {person.street}.",
        },
    )


def test_no_canary_crosses_any_node_boundary(
    proxied: tuple[dict[str, Node], list[RecordingProxy]],
) -> None:
    nodes, proxies = proxied
    alfa, bravo, charlie = (nodes[n] for n in NODES)
    fake = Faker("nl_NL")
    fake.seed_instance(4)
    rnd = random.Random(4)
    canaries = Canaries()
    bravos = [_client(bravo, fake, rnd, canaries, f"bq{i}jx") for i in range(4)]
    _client(bravo, fake, rnd, canaries, "bnojx", consent=False)
    for i in range(2):  # fewer than the minimum group of 3
        _client(charlie, fake, rnd, canaries, f"cq{i}jx")
    own = _client(alfa, fake, rnd, canaries, "aownjx")
    employer = alfa.post("/api/v1/employers", employer_data(municipality="Tilburg"))
    vacancy = alfa.post(
        "/api/v1/vacancies",
        vacancy_data(
            employer["id"],
            municipality="Tilburg",
            published=True,
            description=f"Vraag naar {own['first_name']} {own['last_name']} of bel {own['phone']}.",
        ),
    )
    canaries.words |= {"Korenaar"}
    canaries.exact |= {"12345678"}

    for node in nodes.values():
        assert all(r["ok"] for r in node.sync().values())
    for node in nodes.values():
        assert node.get("/api/v1/search", q="magazijn", place="Tilburg")["hits"]
    matches = alfa.get(f"/api/v1/clients/{own['id']}/matches")
    assert matches["hits"][0]["opening"]["title"] == vacancy["title"]
    asked = alfa.post(f"/api/v1/vacancies/{vacancy['id']}/candidate-query")
    status = {p["node_id"]: (p["status"], p["candidates"]) for p in asked["peers"]}
    assert status == {"bravo": ("answered", 4), "charlie": ("too_few", 0)}
    assert {c["origin"] for c in asked["candidates"]} == {"bravo"}

    # Alfa asks bravo for a candidate with a note about its own client; bravo declines
    # with a reason that names another of its clients, who is part of no introduction.
    sent = alfa.post(
        "/api/v1/introductions",
        {
            "peer": "bravo",
            "kind": "candidate_for_vacancy",
            "handle": asked["candidates"][0]["candidate"]["handle"],
            "vacancy_id": vacancy["id"],
            "note": f"{own['first_name']} {own['last_name']} ({own['phone']}, {own['email']}) "
            f"kent deze kandidaat; BSN {own['bsn']}, {own['street']} 3, {own['postcode']}.",
        },
    )
    # Queued in alfa's outbox and delivered right after the commit.
    _eventually(
        lambda: {i["id"] for i in bravo.get("/api/v1/introductions")} & {sent["id"]} or None
    )
    other = bravos[3]
    decided = bravo.post(
        f"/api/v1/introductions/{sent['id']}/decision",
        {
            "accept": False,
            "reason": f"Nee: {other['first_name']} {other['last_name']} ({other['phone']}) "
            f"wil niet, geboren {other['date_of_birth']}, mail {other['email']}",
        },
    )
    assert decided["state"] == "declined", decided
    _eventually(
        lambda: (
            {i["id"]: i["state"] for i in alfa.get("/api/v1/introductions")}[sent["id"]]
            == "declined"
            or None
        )
    )

    wire = b"".join(p.recorded() for p in proxies)
    assert b"topmatch.candidate-answer/1" in wire  # the proxies did see the traffic
    assert b"topmatch.feed/1" in wire
    assert b'"kind":"candidate_for_vacancy"' in wire  # and the note with it
    assert b'"decision":"declined","reason":"Nee: ' in wire  # the reason travelled
    assert canaries.leaks(wire) == []
