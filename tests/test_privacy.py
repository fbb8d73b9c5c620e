"""The privacy proof: no personal data in any byte a node sends to a peer.

Clients, employers, vacancies and baanopeningen are filled with canaries: unique names,
valid BSNs, birth dates, phone numbers, e-mail addresses, street addresses, postcodes,
KvK numbers and employer names, also planted in every free-text field of the openings.
Then every byte that crosses the node boundary is collected: the feed as peers read it
(bodies and headers of signed responses) and our own outbound sync requests. No canary
may appear in any of it.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from faker import Faker
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import FrozenClock
from tests.fednodes import FakePeer, page, vacancy_body
from topmatch.federation import signatures
from topmatch.publishing.models import PublishedRecord
from topmatch.settings import Settings

PUBLIC = "http://127.0.0.1:8001"
RUNS = itertools.count()
Headers = dict[str, str]


def valid_bsn(rnd: random.Random) -> str:
    """A random nine-digit number passing the elfproef."""
    while True:
        digits = [rnd.randrange(10) for _ in range(8)]
        total = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True))
        last = total % 11
        if last < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(last)


@dataclass
class Canaries:
    """Everything that must never leave the node, with the forms it could leak in."""

    words: set[str] = field(default_factory=set)  # matched case-insensitively
    exact: set[str] = field(default_factory=set)

    def leaks(self, data: bytes) -> list[str]:
        text = data.decode("utf-8", errors="replace")
        folded = text.casefold()
        found = [w for w in self.words if w.casefold() in folded]
        found += [e for e in self.exact if e in text]
        return found


@dataclass
class Person:
    first: str
    last: str
    bsn: str
    born: str
    phone: str
    email: str
    street: str
    postcode: str


def _person(fake: Faker, rnd: random.Random, tag: str) -> Person:
    born = fake.date_of_birth(minimum_age=18, maximum_age=64)
    return Person(
        first=f"{fake.first_name()}{tag}",
        last=f"{fake.last_name()}{tag}x",
        bsn=valid_bsn(rnd),
        born=born.isoformat(),
        phone=f"06-{rnd.randrange(10**7, 10**8)}",
        email=f"{tag}.{fake.user_name()}@example.nl",
        street=f"{fake.street_name()}{tag}",
        postcode=_postcode(fake),
    )


def _postcode(fake: Faker) -> str:
    """A postcode the card-box takes: faker's nl_NL sometimes gives SA, SD or SS, which
    PostNL never issues (and python-stdnum refuses)."""
    while True:
        code = fake.postcode()
        if code[-2:] not in {"SA", "SD", "SS"}:
            return code


def _plant(canaries: Canaries, person: Person) -> None:
    canaries.words |= {person.first, person.last, person.email, person.street}
    canaries.exact |= {
        person.bsn,
        person.born,
        person.phone,
        person.postcode,
        person.phone.replace("-", ""),
        "-".join(reversed(person.born.split("-"))),
    }


def _text(person: Person, employer: str, contact: str, kvk: str, born_nl: str) -> str:
    return (
        f"Bij {employer} ({contact}, {person.email}, tel. {person.phone}) kan "
        f"{person.first} {person.last} (BSN {person.bsn}, geboren {born_nl}) aan de slag. "
        f"Adres {person.street} 12b, {person.postcode}. KvK {kvk}. Orderpicken, 24 uur."
    )


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


@pytest.fixture
def peer(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


@pytest.fixture
def wire(
    client: TestClient, peer: FakePeer, clock: FrozenClock, admin: Headers
) -> Iterator[list[bytes]]:
    """Every byte we send to a peer: feed responses, and our own sync requests."""
    sent: list[bytes] = []

    def peer_feed(request: httpx.Request) -> httpx.Response:
        sent.append(
            request.method.encode()
            + str(request.url).encode()
            + json.dumps(dict(request.headers)).encode()
            + request.content
        )
        return peer.respond(
            request, page("werkpad", int(request.url.params["after"]), []), now=clock()
        )

    with respx.mock(assert_all_called=False) as mock:
        mock.get(url__startswith=str(peer.descriptor.base_url)).mock(side_effect=peer_feed)
        yield sent


def _read_feed(client: TestClient, peer: FakePeer, clock: FrozenClock) -> bytes:
    path = "/federation/v1/feed?after=0&limit=500"
    headers = signatures.sign_request(
        method="GET",
        url=PUBLIC + path,
        body=b"",
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=int(clock().timestamp()),
        nonce=secrets.token_urlsafe(8),
    )
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.content + json.dumps(dict(response.headers)).encode()


@hypothesis_settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_no_canary_in_any_byte_sent_to_a_peer(
    seed: int,
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    peer: FakePeer,
    clock: FrozenClock,
    wire: list[bytes],
) -> None:
    run = next(RUNS)  # hypothesis may replay a seed; the card-box still holds earlier runs
    fake = Faker("nl_NL")
    fake.seed_instance(seed + run)
    rnd = random.Random(f"{seed}-{run}")
    tag = "".join(rnd.choice("qxzjvw") for _ in range(5))
    canaries = Canaries()
    person = _person(fake, rnd, tag)
    _plant(canaries, person)
    employer_token = f"{fake.last_name().split()[-1]}{tag}y"
    employer_name = f"{employer_token} Bouw"
    contact = f"{fake.first_name()}{tag}z"
    kvk = f"{rnd.randrange(10**7, 10**8)}"
    canaries.words |= {employer_name.split(maxsplit=1)[0], contact}
    canaries.exact |= {kvk}
    born_nl = "-".join(reversed(person.born.split("-")))

    client_body = {
        "first_name": person.first,
        "last_name": person.last,
        "bsn": person.bsn,
        "date_of_birth": person.born,
        "phone": person.phone,
        "email": person.email,
        "street": person.street,
        "house_number": "12b",
        "postcode": person.postcode,
        "municipality": "Waalwijk",
        "benefit_type": "wajong",
        "skills": ["heftruck"],
        "consent_share_profile": True,
        "notes": f"Contact via {contact}.",
    }
    assert client.post("/api/v1/clients", json=client_body, headers=consultant).status_code == 201
    employer = client.post(
        "/api/v1/employers",
        headers=consultant,
        json={
            "name": employer_name,
            "kvk_number": kvk,
            "contact_name": contact,
            "contact_phone": f"013-{rnd.randrange(10**6, 10**7)}",
            "contact_email": f"{tag}@{employer_name.split(maxsplit=1)[0].lower()}.nl",
            "sector": "H",
            "municipality": "Tilburg",
            "size_class": "klein",
        },
    ).json()
    text = _text(person, employer_name, contact, kvk, born_nl)
    vacancy: dict[str, Any] = {
        "employer_id": employer["id"],
        "title": f"Magazijn {employer_name} {person.last}",
        "occupation": {"label": "Magazijnmedewerker", "isco08": "9321"},
        "skills_required": [f"orderpicken met {person.first}"],
        "skills_nice": [contact],
        "hours_min": 24,
        "hours_max": 32,
        "contract_type": "tijdelijk",
        "postcode": person.postcode,
        "municipality": "Tilburg",
        "description": text,
        "published": True,
    }
    assert client.post("/api/v1/vacancies", json=vacancy, headers=consultant).status_code == 201
    opening = {
        "employer_id": employer["id"],
        "title": f"Hulp bij {employer_name}",
        "tasks": [text[:300], f"inpakken met {person.first}"],
        "hours_min": 8,
        "hours_max": 16,
        "sector": "H",
        "municipality": "Tilburg",
        "postcode": person.postcode,
        "suitable_profile": text,
        "published": True,
    }
    assert client.post("/api/v1/baanopeningen", json=opening, headers=consultant).status_code == 201

    sync = client.post("/api/v1/peers/sync", headers=admin)
    assert sync.status_code == 200
    assert sync.json()[0]["ok"], sync.json()
    sent = [*wire, _read_feed(client, peer, clock)]
    assert b'"op":"upsert"' in sent[-1]  # the openings themselves did travel
    for data in sent:
        assert canaries.leaks(data) == []


# --- free text between bureaus: introduction notes and decision reasons ----------------

INTRODUCTIONS = "/federation/v1/introductions"
PEER_SUMMARY = "v-" + "e" * 24


@pytest.fixture
def peer_wire(client: TestClient, peer: FakePeer, clock: FrozenClock) -> Iterator[list[bytes]]:
    """Every byte we send to the peer: feed requests, introductions and decisions; the
    peer offers one opening, and acknowledges what we send it."""
    sent: list[bytes] = []

    def record(request: httpx.Request) -> None:
        sent.append(
            request.method.encode()
            + str(request.url).encode()
            + json.dumps(dict(request.headers)).encode()
            + request.content
        )

    def feed(request: httpx.Request) -> httpx.Response:
        record(request)
        after = int(request.url.params["after"])
        items = [
            {"seq": 1, "op": "upsert", "summary": vacancy_body("werkpad", PEER_SUMMARY, 1, clock())}
        ]
        return peer.respond(
            request, page("werkpad", after, items if after < 1 else []), now=clock()
        )

    def message(request: httpx.Request) -> httpx.Response:
        record(request)
        return peer.respond(request, {"id": json.loads(request.content)["id"]}, now=clock())

    with respx.mock(assert_all_called=False) as mock:
        base = str(peer.descriptor.base_url).rstrip("/")
        mock.get(url__startswith=base + "/federation/v1/feed").mock(side_effect=feed)
        mock.post(url__startswith=base + INTRODUCTIONS).mock(side_effect=message)
        yield sent


def _phone(rnd: random.Random, style: str) -> str:
    a, b = rnd.randrange(1000, 10000), rnd.randrange(1000, 10000)
    return style.format(a=a, b=b)


_PHONES = ["06-{a}{b}", "06 {a} {b}", "+31 6 {a} {b}", "06{a}{b}", "(06) {a}{b}"]
_DATES = ["{d:02d}-{m:02d}-{y}", "{y}-{m:02d}-{d:02d}", "{d} {month} {y}", "{d:02d}/{m:02d}/{y}"]
_MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"]  # fmt: skip


def _free_text(
    person: Person, rnd: random.Random, order: list[int], glue: str
) -> tuple[str, set[str]]:
    """A consultant's text about ``person`` with every kind of personal data, in ``order``;
    also the forms its phone number and birth date take in it."""
    year, month, day = (int(x) for x in person.born.split("-"))
    phone = _phone(rnd, rnd.choice(_PHONES))
    born = rnd.choice(_DATES).format(d=day, m=month, y=year, month=_MONTHS[month - 1])
    pieces = [
        f"{person.first} {person.last}",
        f"tel {phone}",
        f"mail {person.email}",
        f"BSN {person.bsn}",
        f"woont {person.street} 12b, {person.postcode}",
        f"geboren {born}",
        f"{person.first.upper()} wil niet",
    ]
    return glue.join(pieces[i] for i in order), {phone, born}


def _signed_post(
    client: TestClient, peer: FakePeer, clock: FrozenClock, path: str, body: bytes
) -> bytes:
    headers = signatures.sign_request(
        method="POST",
        url=PUBLIC + path,
        body=body,
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=int(clock().timestamp()),
        nonce=secrets.token_urlsafe(8),
    )
    response = client.post(
        path, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return response.content + json.dumps(dict(response.headers)).encode()


def _our_summary_id(engine: Engine, vacancy_id: str) -> str:
    with Session(engine) as session:
        row = session.exec(
            select(PublishedRecord).where(PublishedRecord.record_id == vacancy_id)
        ).one()
        return row.summary_id


def _new_client(client: TestClient, consultant: Headers, person: Person) -> dict[str, Any]:
    body = {
        "first_name": person.first,
        "last_name": person.last,
        "bsn": person.bsn,
        "date_of_birth": person.born,
        "phone": person.phone,
        "email": person.email,
        "street": person.street,
        "house_number": "12b",
        "postcode": person.postcode,
        "municipality": "Waalwijk",
        "benefit_type": "wajong",
        "skills": ["heftruck", f"orderpicken met {person.first}"],
        "consent_share_profile": True,
    }
    response = client.post("/api/v1/clients", json=body, headers=consultant)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@hypothesis_settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    order=st.permutations(range(7)),
    glue=st.sampled_from([" ", ", ", "; ", ": ", " / ", " - ", "\n"]),
)
def test_no_canary_in_an_introduction_note_or_decision_reason(
    seed: int,
    order: list[int],
    glue: str,
    client: TestClient,
    engine: Engine,
    consultant: Headers,
    admin: Headers,
    peer: FakePeer,
    clock: FrozenClock,
    peer_wire: list[bytes],
) -> None:
    """The free text consultants type and send to another bureau: the note of an
    introduction we ask for, and the reason we give when we decline one. The reason names
    a client of our card-box who is part of no introduction, with every kind of personal
    data in any order; none of it may reach the peer."""
    run = next(RUNS)
    fake = Faker("nl_NL")
    fake.seed_instance(seed + run)
    rnd = random.Random(f"intro-{seed}-{run}")
    tag = "".join(rnd.choice("qxzjvw") for _ in range(5))
    canaries = Canaries()
    ours, bystander = _person(fake, rnd, tag + "a"), _person(fake, rnd, tag + "b")
    for person in (ours, bystander):
        _plant(canaries, person)
    introduced = _new_client(client, consultant, ours)
    _new_client(client, consultant, bystander)
    note, forms = _free_text(ours, rnd, order, glue)
    reason, more = _free_text(bystander, rnd, order[::-1], glue)
    canaries.exact |= forms | more

    # We ask the peer to introduce our client for its opening, with a note.
    assert client.post("/api/v1/peers/sync", headers=admin).json()[0]["ok"]
    sent = client.post(
        "/api/v1/introductions",
        headers=consultant,
        json={
            "peer": "werkpad",
            "kind": "client_for_opening",
            "summary_id": PEER_SUMMARY,
            "client_id": introduced["id"],
            "note": note,
        },
    )
    assert sent.status_code == 202, sent.text  # queued, then delivered after the commit
    assert _message_state(client, consultant, sent.json()["id"]) == "delivered"

    # The peer asks us for our opening; we decline, naming the bystander.
    employer = client.post(
        "/api/v1/employers",
        headers=consultant,
        json={
            "name": f"Werkgever {tag}",
            "kvk_number": f"{rnd.randrange(10**7, 10**8)}",
            "contact_name": "Balie",
            "sector": "H",
            "municipality": "Tilburg",
            "size_class": "klein",
        },
    ).json()
    vacancy = client.post(
        "/api/v1/vacancies",
        headers=consultant,
        json={
            "employer_id": employer["id"],
            "title": "Magazijn",
            "hours_min": 24,
            "hours_max": 32,
            "contract_type": "tijdelijk",
            "municipality": "Tilburg",
            "occupation": {"label": "Magazijnmedewerker", "isco08": "9321"},
            "description": "Orderpicken.",
            "published": True,
        },
    ).json()
    intro_id = secrets.token_hex(16)
    request = {
        "id": intro_id,
        "kind": "client_for_opening",
        "summary_id": _our_summary_id(engine, vacancy["id"]),
        "client": {
            "handle": "c-" + secrets.token_urlsafe(18),
            "score": 50.0,
            "explanation": "",
            "region": "Midden-Brabant",
            "age_band": "27-35",
        },
    }
    answered = _signed_post(client, peer, clock, INTRODUCTIONS, json.dumps(request).encode())
    declined = client.post(
        f"/api/v1/introductions/{intro_id}/decision",
        headers=consultant,
        json={"accept": False, "reason": reason},
    )
    assert declined.status_code == 200, declined.text
    assert _message_state(client, consultant, intro_id) == "delivered"

    wire = [*peer_wire, answered]
    posted = b"".join(w for w in peer_wire if w.startswith(b"POST"))
    assert b'"note":"' in posted  # the texts did travel
    assert b'"reason":"' in posted
    for data in wire:
        assert canaries.leaks(data) == []


def _message_state(client: TestClient, consultant: Headers, intro_id: str) -> str:
    """Where our newest message about an introduction stands (the outbox)."""
    listed = {i["id"]: i for i in client.get("/api/v1/introductions", headers=consultant).json()}
    state: str = listed[intro_id]["message"]["state"]
    return state
