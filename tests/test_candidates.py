"""Candidate queries: anonymised answers, minimum groups, quotas, and the fan-out."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import BSNS, FrozenClock, client_data, employer_data, vacancy_data
from tests.fednodes import FakePeer
from topmatch.federation import signatures
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import keys
from topmatch.identity.service import NodeIdentity
from topmatch.matching import candidates
from topmatch.matching.models import CandidateHandle
from topmatch.matching.schemas import CandidateAnswer, CandidateQuery, VacancyProfile
from topmatch.publishing.schemas import OccupationRef, Place
from topmatch.settings import Settings

PUBLIC = "http://127.0.0.1:8001"
Headers = dict[str, str]
PATH = "/federation/v1/candidate-queries"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"peers_dir": tmp_path / "peers", "candidate_rate_per_minute": 3}
    )


@pytest.fixture
def peer(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


def _query(origin: str = "werkpad", **overrides: Any) -> CandidateQuery:
    profile = VacancyProfile(
        occupation=OccupationRef(label="Magazijnmedewerker", isco08="9321"),
        skills_required=["orderpicken"],
        hours_min=16,
        hours_max=32,
        contract_type="tijdelijk",
        place=Place(municipality="Tilburg"),
    )
    return CandidateQuery(
        query_id=secrets.token_urlsafe(18), origin=origin, vacancy=profile, **overrides
    )


def _ask(
    client: TestClient, peer: FakePeer, clock: FrozenClock, query: CandidateQuery
) -> httpx.Response:
    body = query.model_dump_json().encode()
    headers = signatures.sign_request(
        method="POST",
        url=PUBLIC + PATH,
        body=body,
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=int(clock().timestamp()),
        nonce=secrets.token_urlsafe(8),
    )
    return client.post(PATH, content=body, headers={**headers, "Content-Type": "application/json"})


@pytest.fixture
def clients(client: TestClient, consultant: Headers) -> list[str]:
    ids = []
    for i, bsn in enumerate(BSNS):
        created = client.post(
            "/api/v1/clients",
            headers=consultant,
            json=client_data(
                bsn=bsn,
                first_name=f"Naam{i}",
                municipality="Waalwijk",
                max_travel_km=30,
                consent_share_profile=i != 4,  # the last one did not consent
                skills=["orderpicken", f"Naam{i} kan alles"],
                notes="Schulden, zie dossier.",
            ),
        )
        ids.append(created.json()["id"])
    return ids


def test_answers_with_anonymised_profiles_only(
    client: TestClient,
    peer: FakePeer,
    clock: FrozenClock,
    clients: list[str],
    admin: Headers,
) -> None:
    response = _ask(client, peer, clock, _query())
    assert response.status_code == 200, response.text
    answer = CandidateAnswer.model_validate_json(response.content)
    assert answer.status == "answered"
    assert len(answer.candidates) == 4  # the fifth did not consent
    text = response.text
    for private in [
        *BSNS,
        "Sanne",
        "Dijk",
        "Grotestraat",
        "5141 JA",
        "1999-04-12",
        "sanne@example.nl",
        "06-12345678",
        "Schulden",
        "Naam0",
        *clients,
    ]:
        assert private not in text
    first = answer.candidates[0]
    assert first.region == "Midden-Brabant"
    assert first.age_band == "27-35"
    assert first.handle.startswith("c-")
    again = CandidateAnswer.model_validate_json(_ask(client, peer, clock, _query()).content)
    assert {c.handle for c in again.candidates}.isdisjoint({c.handle for c in answer.candidates})
    stats = client.get("/api/v1/candidate-queries/stats", headers=admin).json()
    assert stats[0]["asking_peer"] == "werkpad"
    assert (stats[0]["total"], stats[0]["profiles_sent"]) == (2, 8)


def test_too_small_a_group_is_not_answered(
    client: TestClient, peer: FakePeer, clock: FrozenClock, consultant: Headers
) -> None:
    for bsn in BSNS[:2]:
        client.post(
            "/api/v1/clients",
            headers=consultant,
            json=client_data(bsn=bsn, municipality="Waalwijk", skills=["orderpicken"]),
        )
    answer = _ask(client, peer, clock, _query()).json()
    assert (answer["status"], answer["candidates"], answer["min_group_size"]) == ("too_few", [], 3)


def test_rate_limit_and_forged_origin(
    client: TestClient, peer: FakePeer, clock: FrozenClock, clients: list[str], admin: Headers
) -> None:
    for _ in range(3):
        assert _ask(client, peer, clock, _query()).status_code == 200
    refused = _ask(client, peer, clock, _query())
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "signature" in {k.lower() for k in refused.headers}  # still a signed answer
    clock.advance(minutes=2)
    assert _ask(client, peer, clock, _query()).status_code == 200
    forged = _ask(client, peer, clock, _query(origin="rival"))
    assert forged.status_code == 403
    stats = client.get("/api/v1/candidate-queries/stats", headers=admin).json()[0]
    assert stats["refused"] == 1


def test_malformed_query_is_422_and_unsigned_is_401(
    client: TestClient, peer: FakePeer, clock: FrozenClock
) -> None:
    query = json.loads(_query().model_dump_json())
    query["vacancy"]["employer"] = "Bakkerij"
    body = json.dumps(query).encode()
    headers = signatures.sign_request(
        method="POST",
        url=PUBLIC + PATH,
        body=body,
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=int(clock().timestamp()),
        nonce="n-1234567",
    )
    response = client.post(
        PATH, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert client.post(PATH, json=json.loads(_query().model_dump_json())).status_code == 401


# --- the asking side -------------------------------------------------------------------


@pytest.fixture
def asking(clock: FrozenClock, tmp_path: Path) -> Iterator[tuple[PeerClient, list[FakePeer]]]:
    peers = [FakePeer.make(name, clock()) for name in ("alfa", "traag", "dood")]
    for p in peers:
        p.install(tmp_path / "asking-peers")
    key = keys.generate()
    me = NodeIdentity(private_key=key, key_id=keys.key_id(key.public_key()))
    http = httpx.AsyncClient(auth=SignatureAuth(me, clock), timeout=5)
    registry = PeerRegistry(tmp_path / "asking-peers", own_node_id="me")
    yield PeerClient(http=http, registry=registry, clock=clock, max_response_bytes=100_000), peers
    asyncio.run(http.aclose())


@respx.mock
def test_fan_out_reports_each_peer_and_never_waits_past_the_deadline(
    asking: tuple[PeerClient, list[FakePeer]], clock: FrozenClock
) -> None:
    client, (alfa, slow, dead) = asking
    query = _query(origin="me")
    answer = CandidateAnswer(
        query_id=query.query_id, origin="alfa", status="answered", min_group_size=3, candidates=[]
    )

    def answering(request: httpx.Request) -> httpx.Response:
        return alfa.respond(request, json.loads(answer.model_dump_json()), now=clock())

    async def sleeping(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return slow.respond(request, {}, now=clock())

    respx.post("http://alfa.test" + PATH).mock(side_effect=answering)
    respx.post("http://traag.test" + PATH).mock(side_effect=sleeping)
    respx.post("http://dood.test" + PATH).mock(side_effect=httpx.ConnectError("refused"))
    result = asyncio.run(
        candidates.ask_peers(
            peers=[alfa.descriptor, slow.descriptor, dead.descriptor],
            client=client,
            query=query,
            deadline=0.5,
            names={},
        )
    )
    status = {p.node_id: p.status for p in result.peers}
    assert status == {"alfa": "answered", "traag": "timed_out", "dood": "error"}
    assert result.candidates == []


@respx.mock
def test_an_answer_for_another_query_is_an_error(
    asking: tuple[PeerClient, list[FakePeer]], clock: FrozenClock
) -> None:
    client, (alfa, _, _) = asking
    other = CandidateAnswer(query_id="x" * 24, origin="alfa", status="too_few", min_group_size=3)
    respx.post("http://alfa.test" + PATH).mock(
        side_effect=lambda r: alfa.respond(r, json.loads(other.model_dump_json()), now=clock())
    )
    result = asyncio.run(
        candidates.ask_peers(
            peers=[alfa.descriptor], client=client, query=_query(origin="me"), deadline=2, names={}
        )
    )
    assert result.peers[0].status == "error"


def test_reversed_hours_and_garbage_get_clear_errors_after_verification(
    client: TestClient, peer: FakePeer, clock: FrozenClock
) -> None:
    query = json.loads(_query().model_dump_json())
    query["vacancy"]["hours_min"], query["vacancy"]["hours_max"] = 32, 16
    body = json.dumps(query).encode()
    headers = signatures.sign_request(
        method="POST",
        url=PUBLIC + PATH,
        body=body,
        key=peer.identity.private_key,
        key_id=peer.identity.key_id,
        created=int(clock().timestamp()),
        nonce="n-7654321",
    )
    response = client.post(
        PATH, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "hours_min (32) is more than hours_max (16)" in response.json()["detail"]
    assert "signature" in {k.lower() for k in response.headers}
    garbage = client.post(
        PATH, content=b"\x00not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 401  # the signature is checked before the body is read


def test_erasure_forgets_the_clients_handles(
    client: TestClient,
    peer: FakePeer,
    clock: FrozenClock,
    clients: list[str],
    consultant: Headers,
    engine: Any,
) -> None:
    _ask(client, peer, clock, _query())
    with Session(engine) as session:
        assert session.exec(
            select(CandidateHandle).where(CandidateHandle.client_id == clients[0])
        ).all()
    assert client.delete(f"/api/v1/clients/{clients[0]}", headers=consultant).status_code == 204
    with Session(engine) as session:
        assert (
            session.exec(
                select(CandidateHandle).where(CandidateHandle.client_id == clients[0])
            ).all()
            == []
        )


def test_only_open_vacancies_are_offered_for_candidates(
    client: TestClient, consultant: Headers
) -> None:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    vacancy = client.post(
        "/api/v1/vacancies", headers=consultant, json=vacancy_data(employer["id"], status="filled")
    ).json()
    response = client.post(f"/api/v1/vacancies/{vacancy['id']}/candidate-query", headers=consultant)
    assert response.status_code == 409
    assert "only open vacancies" in response.json()["detail"]


def test_candidate_answers_read_occupations_with_the_vocabulary(
    client: TestClient, peer: FakePeer, clock: FrozenClock, consultant: Headers
) -> None:
    """A client who wants "Productiemedewerker" (no code recorded) is the same occupation
    as a peer's "Medewerker productie" (no code either): compounds are split and the
    vocabulary gives both the unit group, as in the client's own matches (issue 15)."""
    for bsn in BSNS[:3]:
        created = client.post(
            "/api/v1/clients",
            headers=consultant,
            json=client_data(
                bsn=bsn,
                municipality="Tilburg",
                desired_occupations=[{"label": "Productiemedewerker"}],
                skills=["inpakken"],
            ),
        )
        assert created.status_code == 201, created.text
    query = CandidateQuery(
        query_id=secrets.token_urlsafe(18),
        origin="werkpad",
        vacancy=VacancyProfile(
            occupation=OccupationRef(label="Medewerker productie"),
            skills_required=[],
            hours_min=16,
            hours_max=32,
            contract_type="tijdelijk",
            place=Place(municipality="Tilburg"),
        ),
    )
    answer = CandidateAnswer.model_validate_json(_ask(client, peer, clock, query).content)
    assert answer.status == "answered"
    assert len(answer.candidates) == 3
    assert all("zelfde beroep" in c.explanation for c in answer.candidates)


def test_a_client_seen_from_the_card_box_row_and_the_public_view_seeks_the_same() -> None:
    """The candidate side (card-box row) and the client's own matches (public view) build
    what a client looks for in one place; only the register is left out for peers."""
    from topmatch.cardbox.models import Client  # noqa: PLC0415
    from topmatch.cardbox.schemas import ClientPublic  # noqa: PLC0415
    from topmatch.matching import service  # noqa: PLC0415

    data = client_data(
        desired_occupations=[{"label": "Heftruckchauffeur", "isco08": None}], dutch_level="A2"
    )
    stamps = {
        "id": "c1",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    row = Client.model_validate({**data, **stamps, "bsn_encrypted": "x", "bsn_index": "y"})
    public = ClientPublic.model_validate({**data, **stamps, "version": 1, "nlqf": 2})
    from_row = candidates.client_sought(row)
    from_public = service.Seeker.of(public).sought(service.Seeker.of(public).where())
    assert from_row.isco08 == from_public.isco08 == ("8344",)
    assert from_row.occupation_words == from_public.occupation_words
    assert from_public.register is True
    assert from_row.register is None
    assert from_public.dutch_level == "A2"
    assert from_row.dutch_level is None  # a peer could read it from scores otherwise
