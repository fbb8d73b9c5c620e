"""The signed feed endpoint, in-process: who may read it, and what it contains."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories import FrozenClock, baanopening_data, client_data, employer_data, vacancy_data
from tests.fednodes import FakePeer, page, vacancy_body
from topmatch import db
from topmatch.federation import replication, signatures
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PeerStatus
from topmatch.publishing.schemas import FeedPage
from topmatch.settings import Settings

PUBLIC = "http://127.0.0.1:8001"
Headers = dict[str, str]


@pytest.fixture
def peer(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers", "sync_interval_seconds": 0})


def signed(
    peer: FakePeer,
    clock: FrozenClock,
    path: str,
    *,
    created: int | None = None,
    nonce: str | None = None,
) -> Headers:
    return signatures.sign_request(
        method="GET",
        url=PUBLIC + path,
        body=b"",
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=created or int(clock().timestamp()),
        nonce=nonce or secrets.token_urlsafe(8),
    )


def own_descriptor(settings: Settings) -> PeerDescriptor:
    return PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())


def read_feed(
    client: TestClient,
    peer: FakePeer,
    clock: FrozenClock,
    path: str = "/federation/v1/feed?after=0&limit=200",
) -> Any:
    response = client.get(path, headers=signed(peer, clock, path))
    assert response.status_code == 200, response.text
    return response.json()


def _publish_vacancy(client: TestClient, consultant: Headers, **overrides: Any) -> Any:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    data = vacancy_data(employer["id"], published=True, **overrides)
    created = client.post("/api/v1/vacancies", json=data, headers=consultant)
    assert created.status_code == 201, created.text
    return created.json()


def test_signed_request_gets_a_signed_response_bound_to_it(
    client: TestClient, peer: FakePeer, clock: FrozenClock, settings: Settings
) -> None:
    path = "/federation/v1/feed?after=0&limit=10"
    headers = signed(peer, clock, path)
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    key = own_descriptor(settings).keys[0]
    public = keys.public_from_raw(keys.b64url_decode(key.public_key))
    verified = signatures.verify_response(
        status=200,
        headers=response.headers,
        body=response.content,
        request_method="GET",
        request_url=PUBLIC + path,
        request_signature=signatures.signature_of(headers),
        resolve_key=lambda _key_id: public,
        now=int(clock().timestamp()),
    )
    assert verified.key_id == key.key_id


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        ("unsigned", "missing_signature"),
        ("stale", "stale_signature"),
        ("tampered", "bad_signature"),
        ("unknown", "unknown_key"),
    ],
)
def test_requests_that_fail_verification_are_401(
    client: TestClient, peer: FakePeer, clock: FrozenClock, mutate: str, code: str
) -> None:
    path = "/federation/v1/feed?after=0"
    headers = signed(peer, clock, path)
    if mutate == "unsigned":
        headers = {}
    elif mutate == "stale":
        headers = signed(peer, clock, path, created=int(clock().timestamp()) - 301)
    elif mutate == "tampered":
        path = "/federation/v1/feed?after=5"
    elif mutate == "unknown":
        headers = signed(FakePeer.make("stranger", clock()), clock, path)
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert "signature" not in {k.lower() for k in response.headers}


def test_a_replayed_request_is_refused(
    client: TestClient, peer: FakePeer, clock: FrozenClock
) -> None:
    path = "/federation/v1/feed?after=0"
    headers = signed(peer, clock, path)
    assert client.get(path, headers=headers).status_code == 200
    replay = client.get(path, headers=headers)
    assert replay.status_code == 401
    assert replay.json()["code"] == "replayed_nonce"


def test_a_suspended_peer_is_refused_at_once(
    client: TestClient, peer: FakePeer, clock: FrozenClock, settings: Settings
) -> None:
    suspended = peer.descriptor.model_copy(update={"status": PeerStatus.suspended})
    (settings.peers_dir / "werkpad.json").write_text(suspended.model_dump_json())
    path = "/federation/v1/feed"
    response = client.get(path, headers=signed(peer, clock, path))
    assert response.status_code == 401
    assert "suspended" in response.json()["detail"]


def test_feed_publishes_only_chosen_openings_scrubbed(
    client: TestClient, peer: FakePeer, clock: FrozenClock, consultant: Headers
) -> None:
    client.post("/api/v1/clients", json=client_data(), headers=consultant)
    vacancy = _publish_vacancy(
        client,
        consultant,
        description="Vraag naar Marieke Jansen (06-12345678) van Bakkerij De Korenaar. "
        "Sanne werkte hier al.",
    )
    employer_id = vacancy["employer_id"]
    client.post(
        "/api/v1/vacancies", json=vacancy_data(employer_id, published=False), headers=consultant
    )
    client.post(
        "/api/v1/baanopeningen",
        json=baanopening_data(employer_id, published=True),
        headers=consultant,
    )
    feed = read_feed(client, peer, clock)
    assert [i["summary"]["type"] for i in feed["items"]] == ["vacancy", "baanopening"]
    summary = feed["items"][0]["summary"]
    assert summary["origin"] == "baanbrekers"
    assert summary["id"].startswith("v-")
    assert summary["description"] == (
        "Vraag naar [naam] [naam] ([telefoon]) van [naam] De [naam]. [naam] werkte hier al."
    )
    text = json.dumps(feed)
    for secret in ["Korenaar", "12345678", "Marieke", "5141 AB", vacancy["id"], employer_id]:
        assert secret not in text
    assert summary["place"]["municipality"] == "Waalwijk"


def test_changes_become_upserts_and_closing_becomes_a_tombstone(
    client: TestClient, peer: FakePeer, clock: FrozenClock, consultant: Headers
) -> None:
    vacancy = _publish_vacancy(client, consultant)
    path = f"/api/v1/vacancies/{vacancy['id']}"

    def items() -> list[tuple[int, str, int]]:
        feed = read_feed(client, peer, clock)["items"]
        return [(i["seq"], i["op"], (i.get("summary") or i)["version"]) for i in feed]

    assert items() == [(1, "upsert", 1)]
    client.patch(path, json={"hours_max": 36}, headers=consultant)
    client.patch(path, json={"hours_max": 36}, headers=consultant)  # no change: no item
    # The feed is compacted: only the latest state of each opening is served.
    assert items() == [(2, "upsert", 2)]
    client.patch(path, json={"status": "filled"}, headers=consultant)
    assert items() == [(3, "tombstone", 3)]
    later = read_feed(client, peer, clock, "/federation/v1/feed?after=2")
    assert [(i["seq"], i["reason"]) for i in later["items"]] == [(3, "filled")]
    assert later["latest_seq"] == 3


def test_own_openings_are_listed_for_consultants(client: TestClient, consultant: Headers) -> None:
    _publish_vacancy(client, consultant)
    openings = client.get("/api/v1/openings", headers=consultant).json()
    assert openings["total"] == 1
    assert openings["items"][0]["origin"] == "baanbrekers"
    peers = client.get("/api/v1/peers", headers=consultant).json()
    assert peers["peers"] == []


def test_feed_rejects_bad_parameters_with_a_signed_422(
    client: TestClient, peer: FakePeer, clock: FrozenClock
) -> None:
    path = "/federation/v1/feed?after=-1"
    response = client.get(path, headers=signed(peer, clock, path))
    assert response.status_code == 422
    assert "signature" in {k.lower() for k in response.headers}


def test_an_erased_clients_name_stays_scrubbed(
    client: TestClient, peer: FakePeer, clock: FrozenClock, consultant: Headers
) -> None:
    created = client.post(
        "/api/v1/clients", json=client_data(first_name="Zorabel"), headers=consultant
    ).json()
    _publish_vacancy(client, consultant, description="Zorabel heeft hier stage gelopen.")
    assert "Zorabel" not in json.dumps(read_feed(client, peer, clock))
    assert client.delete(f"/api/v1/clients/{created['id']}", headers=consultant).status_code == 204
    employer = client.get("/api/v1/employers", headers=consultant).json()["items"][0]
    client.patch(
        f"/api/v1/employers/{employer['id']}", json={"contact_name": "Piet"}, headers=consultant
    )
    feed = json.dumps(read_feed(client, peer, clock))
    assert "Zorabel" not in feed
    assert "[naam] heeft hier stage gelopen" in feed


def test_unknown_municipality_is_refused_at_the_card_box(
    client: TestClient, consultant: Headers
) -> None:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    response = client.post(
        "/api/v1/vacancies",
        headers=consultant,
        json=vacancy_data(employer["id"], municipality="Jan de Vries 0612"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "municipality"
    fixed = client.post(
        "/api/v1/vacancies",
        headers=consultant,
        json=vacancy_data(employer["id"], municipality="den bosch"),
    )
    assert fixed.json()["municipality"] == "'s-Hertogenbosch"


def test_a_too_long_nonce_is_refused(
    client: TestClient, peer: FakePeer, clock: FrozenClock
) -> None:
    path = "/federation/v1/feed"
    response = client.get(path, headers=signed(peer, clock, path, nonce="n" * 65))
    assert response.status_code == 401
    assert response.json()["code"] == "malformed_signature"


def test_suspended_peers_openings_are_hidden(
    client: TestClient,
    peer: FakePeer,
    consultant: Headers,
    settings: Settings,
    engine: Engine,
    clock: FrozenClock,
) -> None:
    body = {
        "seq": 1,
        "op": "upsert",
        "summary": vacancy_body("werkpad", "v-" + "c" * 24, 1, clock()),
    }
    with db.transaction(engine) as session:
        replication.apply_page(
            session, FeedPage.model_validate(page("werkpad", 0, [body])), clock()
        )
    assert client.get("/api/v1/openings", headers=consultant).json()["total"] == 1
    PeerRegistry(settings.peers_dir, own_node_id="baanbrekers").set_status(
        "werkpad", PeerStatus.suspended
    )
    assert client.get("/api/v1/openings", headers=consultant).json()["total"] == 0
    assert (
        client.get("/api/v1/search", params={"q": "magazijn"}, headers=consultant).json()["hits"]
        == []
    )
