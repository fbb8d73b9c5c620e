"""Ranked search and client matches over every bureau's openings (in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from tests.factories import BSNS, FrozenClock, client_data, employer_data, vacancy_data
from tests.fednodes import FakePeer, page, vacancy_body
from topmatch import db
from topmatch.audit.models import AuditEvent
from topmatch.federation import replication
from topmatch.matching import service as matching_service
from topmatch.publishing.schemas import FeedPage
from topmatch.settings import Settings

Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


@pytest.fixture
def peer(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


def _peer_openings(engine: Engine, now: datetime, items: list[dict[str, Any]]) -> None:
    upserts = [{"seq": i + 1, "op": "upsert", "summary": body} for i, body in enumerate(items)]
    with db.transaction(engine) as session:
        replication.apply_page(session, FeedPage.model_validate(page("werkpad", 0, upserts)), now)


def _sid(n: int) -> str:
    return f"v-{n:024x}"


@pytest.fixture
def openings(
    client: TestClient, consultant: Headers, engine: Engine, clock: FrozenClock, peer: FakePeer
) -> Iterator[None]:
    now = clock()
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    client.post(
        "/api/v1/vacancies",
        headers=consultant,
        json=vacancy_data(
            employer["id"],
            published=True,
            title="Magazijnmedewerker dagdienst",
            municipality="Waalwijk",
        ),
    )
    client.post(
        "/api/v1/vacancies",
        headers=consultant,
        json=vacancy_data(employer["id"], published=False, title="Geheime magazijnbaan"),
    )
    _peer_openings(
        engine,
        now,
        [
            vacancy_body(
                "werkpad",
                _sid(1),
                1,
                now,
                title="Magazijnmedewerkers gezocht",
                place={"municipality": "Tilburg"},
            ),
            vacancy_body(
                "werkpad",
                _sid(2),
                1,
                now,
                title="Orderpicker magazijn",
                place={"municipality": "Groningen"},
            ),
            vacancy_body(
                "werkpad",
                _sid(3),
                1,
                now,
                title="Kok in restaurant",
                occupation={"label": "Kok", "isco08": "5120"},
                place={"municipality": "Waalwijk"},
                description="Koken voor gasten.",
            ),
        ],
    )


def test_free_text_search_ranks_every_bureau_and_explains(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    result = client.get(
        "/api/v1/search", params={"q": "magazijnmedewerker"}, headers=consultant
    ).json()
    titles = [h["opening"]["title"] for h in result["hits"]]
    assert "Kok in restaurant" not in titles
    assert "Geheime magazijnbaan" not in titles  # not published
    assert set(titles) >= {"Magazijnmedewerker dagdienst", "Magazijnmedewerkers gezocht"}
    bureaus = {h["opening"]["origin"]: h["bureau"] for h in result["hits"]}
    assert bureaus == {"baanbrekers": "Baanbrekers", "werkpad": "Werkpad"}
    assert all(h["explanation"] for h in result["hits"])
    scores = [h["score"] for h in result["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_place_and_radius_filter_by_distance(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    result = client.get(
        "/api/v1/search",
        params={"q": "magazijn", "place": "Waalwijk", "radius_km": 25},
        headers=consultant,
    ).json()
    places = {h["opening"]["place"]["municipality"] for h in result["hits"]}
    assert places == {"Waalwijk", "Tilburg"}
    assert result["place"] == "Waalwijk"
    near = next(h for h in result["hits"] if h["opening"]["place"]["municipality"] == "Tilburg")
    assert any("km" in reason for reason in near["reasons"])


def test_occupation_code_ranks_the_same_job_first(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    result = client.get(
        "/api/v1/search", params={"occupation": "5120", "place": "Waalwijk"}, headers=consultant
    ).json()
    assert result["hits"][0]["opening"]["title"] == "Kok in restaurant"


def _search(client: TestClient, consultant: Headers, q: str) -> dict[str, Any]:
    response = client.get("/api/v1/search", params={"q": q}, headers=consultant)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_place_in_the_text_is_a_place_filter_not_a_word(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    result = _search(client, consultant, "orderpicker Groningen")
    assert result["place"] == "Groningen"
    assert [h["opening"]["title"] for h in result["hits"]] == ["Orderpicker magazijn"]


def test_hours_in_the_text_are_a_wish_not_a_word(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    result = _search(client, consultant, "kok 32 uur")
    assert [h["opening"]["title"] for h in result["hits"]] == ["Kok in restaurant"]
    assert any("uur" in reason for reason in result["hits"][0]["reasons"])


def test_synonyms_and_compounds_expand_the_words(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    # "warehouse" is an English title of the orderpicker and warehouse worker (9333)
    titles = {h["opening"]["title"] for h in _search(client, consultant, "warehouse")["hits"]}
    assert {"Orderpicker magazijn", "Magazijnmedewerkers gezocht"} <= titles
    assert "Kok in restaurant" not in titles


def test_all_words_are_required_with_a_labelled_fallback(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    both = _search(client, consultant, "orderpicker magazijn Groningen")
    assert [h["opening"]["title"] for h in both["hits"]] == ["Orderpicker magazijn"]
    assert both["fallback"] is None
    some = _search(client, consultant, "kok heftruck")  # no opening has both words
    assert "Kok in restaurant" in {h["opening"]["title"] for h in some["hits"]}
    assert some["fallback"] == (
        "Geen resultaten met alle woorden; resultaten met een deel van de woorden."
    )


def test_a_generic_word_is_not_required(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    titles = [h["opening"]["title"] for h in _search(client, consultant, "medewerker kok")["hits"]]
    assert titles == ["Kok in restaurant"]


def test_unknown_place_is_a_422_with_suggestions(client: TestClient, consultant: Headers) -> None:
    response = client.get("/api/v1/search", params={"place": "Walwijk"}, headers=consultant)
    assert response.status_code == 422
    assert "Waalwijk" in response.json()["detail"]


def test_search_needs_a_consultant(client: TestClient, finance: Headers) -> None:
    assert client.get("/api/v1/search").status_code == 401
    assert client.get("/api/v1/search", headers=finance).status_code == 403


@respx.mock(assert_all_called=False)
def test_client_matches_are_computed_locally(
    client: TestClient, consultant: Headers, openings: None, respx_mock: respx.MockRouter
) -> None:
    outbound = respx_mock.route()  # any request leaving the node would hit this
    created = client.post(
        "/api/v1/clients",
        headers=consultant,
        json=client_data(
            municipality="Waalwijk",
            max_travel_km=30,
            skills=["orderpicken"],
            desired_occupations=[{"label": "Magazijnmedewerker", "isco08": "9321"}],
        ),
    ).json()
    result = client.get(f"/api/v1/clients/{created['id']}/matches", headers=consultant).json()
    titles = [h["opening"]["title"] for h in result["hits"]]
    assert titles[0] == "Magazijnmedewerker dagdienst"
    assert "Orderpicker magazijn" not in titles  # Groningen is beyond 30 km
    assert outbound.call_count == 0
    assert client.get("/api/v1/clients/nope/matches", headers=consultant).status_code == 404


# --- Soft constraints and eligibility (issue 15) -----------------------------------------


def _baanopening_body(summary_id: str, now: datetime, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "baanopening",
        "id": summary_id,
        "origin": "werkpad",
        "version": 1,
        "updated_at": now.isoformat(),
        "title": "Medewerker magazijn (baanopening)",
        "hours_min": 36,
        "hours_max": 36,
        "place": {"municipality": "Waalwijk"},
        "tasks": ["Orderpicken", "Dozen vouwen"],
        **overrides,
    }


@pytest.fixture
def nearby(engine: Engine, clock: FrozenClock, peer: FakePeer) -> None:
    """Warehouse openings around Waalwijk: one that fits a 36-hour client with a 10 km
    limit, one with other hours, one 1 km past the limit (Dongen, 11 km), one far past it
    (Breda, 23 km), and a baanopening."""
    now = clock()
    _peer_openings(
        engine,
        now,
        [
            vacancy_body("werkpad", _sid(11), 1, now, title="Past", hours_min=36, hours_max=40,
                         place={"municipality": "Waalwijk"}),
            vacancy_body("werkpad", _sid(12), 1, now, title="Andere uren", hours_min=38,
                         hours_max=40, place={"municipality": "Waalwijk"}),
            vacancy_body("werkpad", _sid(13), 1, now, title="Net te ver", hours_min=36,
                         hours_max=40, place={"municipality": "Dongen"}),
            vacancy_body("werkpad", _sid(14), 1, now, title="Veel te ver", hours_min=36,
                         hours_max=40, place={"municipality": "Breda"}),
            _baanopening_body("b-" + "0" * 23 + "f", now),
        ],
    )  # fmt: skip


def _matches(client: TestClient, consultant: Headers, **changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "municipality": "Waalwijk",
        "hours_min": 36,
        "hours_max": 36,
        "max_travel_km": 10,
        "doelgroepregister": False,
        "desired_occupations": [{"label": "Magazijnmedewerker", "isco08": "9321"}],
    }
    data = client_data(**{**facts, **changes})
    response = client.post("/api/v1/clients", headers=consultant, json=data)
    assert response.status_code == 201, response.text
    created = response.json()
    result: dict[str, Any] = client.get(
        f"/api/v1/clients/{created['id']}/matches", headers=consultant
    ).json()
    return result


def _by_title(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["opening"]["title"]: h for h in result["hits"]}


def test_work_just_outside_the_hours_or_the_limit_is_shown_lower_and_named(
    client: TestClient, consultant: Headers, nearby: None
) -> None:
    hits = _by_title(_matches(client, consultant))
    assert "Veel te ver" not in hits  # 23 km: past the 10 km limit and its 5 km tolerance
    assert hits["Past"]["score"] > hits["Andere uren"]["score"]
    assert hits["Past"]["score"] > hits["Net te ver"]["score"]
    assert "38–40 uur, cliënt wil 36" in hits["Andere uren"]["reasons"]
    assert "1 km verder dan de grens" in hits["Net te ver"]["reasons"]


def test_an_empty_travel_limit_means_ask_not_25_km(
    client: TestClient, consultant: Headers, nearby: None
) -> None:
    hits = _by_title(_matches(client, consultant, max_travel_km=None))
    assert "Veel te ver" in hits
    assert "reisafstand niet opgegeven" in hits["Veel te ver"]["reasons"]


def test_baanopeningen_only_for_register_clients_and_lifted_for_them(
    client: TestClient, consultant: Headers, nearby: None
) -> None:
    outside = _by_title(_matches(client, consultant))
    assert not any(h["opening"]["type"] == "baanopening" for h in outside.values())
    inside = _matches(client, consultant, doelgroepregister=True, bsn=BSNS[1])
    baan = next(h for h in inside["hits"] if h["opening"]["type"] == "baanopening")
    assert "voor het doelgroepregister" in baan["reasons"]
    assert baan["score"] >= _by_title(inside)["Andere uren"]["score"]


def test_a_short_list_is_not_padded_and_says_why(
    client: TestClient, consultant: Headers, nearby: None
) -> None:
    result = _matches(
        client,
        consultant,
        desired_occupations=[{"label": "Kok", "isco08": "5120"}],
        skills=[],
        hours_min=8,
        hours_max=8,
    )
    assert result["min_score"] == matching_service.MIN_CLIENT_SCORE
    assert all(h["score"] >= result["min_score"] for h in result["hits"])
    assert result["left_out"] >= 1
    assert result["short"].endswith("niet aangevuld.")


def test_a_list_short_for_want_of_openings_says_so(
    client: TestClient, consultant: Headers, nearby: None
) -> None:
    result = _matches(client, consultant)  # a good fit for every warehouse opening nearby
    assert result["left_out"] == 0
    assert result["short"] == (
        "Er zijn geen andere openingen binnen bereik (afstand, doelgroepregister)."
    )


def test_a_required_licence_or_dutch_level_the_client_lacks_is_named_and_ranks_lower(
    client: TestClient, consultant: Headers, engine: Engine, peer: FakePeer
) -> None:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    asked: list[tuple[str, dict[str, Any]]] = [
        ("Zonder rijbewijs", {}),
        ("Met rijbewijs C", {"driving_licences": ["C"]}),
        ("Nederlands B1", {"dutch_level": "B1"}),
    ]
    for title, requirements in asked:
        made = client.post(
            "/api/v1/vacancies",
            headers=consultant,
            json=vacancy_data(
                employer["id"],
                published=True,
                title=title,
                municipality="Waalwijk",
                **requirements,
            ),
        )
        assert made.status_code == 201, made.text
    hits = _by_title(_matches(client, consultant, driving_licences=["B"], dutch_level="A2"))
    assert "Nederlands B1 gevraagd" in hits["Nederlands B1"]["reasons"]
    assert hits["Nederlands B1"]["score"] < hits["Zonder rijbewijs"]["score"]
    assert "Rijbewijs C" in hits["Met rijbewijs C"]["opening"]["skills_required"]
    assert "rijbewijs C gevraagd" in hits["Met rijbewijs C"]["reasons"]
    assert "rijbewijs C gevraagd" not in hits["Zonder rijbewijs"]["reasons"]
    assert hits["Met rijbewijs C"]["score"] < hits["Zonder rijbewijs"]["score"]
    holder = _by_title(_matches(client, consultant, driving_licences=["B", "C"], bsn=BSNS[1]))
    assert "rijbewijs C gevraagd" not in holder["Met rijbewijs C"]["reasons"]


def test_no_opening_with_an_unmet_requirement_ranks_above_one_without(
    client: TestClient, consultant: Headers, engine: Engine, peer: FakePeer
) -> None:
    """The issue's rule: a licence the client lacks puts an opening after every opening
    without such a gap, even one that scores higher (here: the client's own occupation
    against other work)."""
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    for title, isco, requirements in (
        ("Magazijnmedewerker met rijbewijs C", "9321", {"driving_licences": ["C"]}),
        ("Schoonmaker", "9112", {}),
    ):
        made = client.post(
            "/api/v1/vacancies",
            headers=consultant,
            json=vacancy_data(
                employer["id"],
                published=True,
                title=title,
                municipality="Waalwijk",
                occupation={"label": title, "isco08": isco},
                **requirements,
            ),
        )
        assert made.status_code == 201, made.text
    hits = _matches(client, consultant, driving_licences=["B"])["hits"]
    titles = [h["opening"]["title"] for h in hits]
    assert titles.index("Schoonmaker") < titles.index("Magazijnmedewerker met rijbewijs C")
    unmet = [any("gevraagd" in r for r in h["reasons"]) for h in hits]
    assert unmet == sorted(unmet)  # every opening with an unmet requirement comes last


def test_without_a_travel_limit_the_nearest_openings_are_retrieved_first(
    client: TestClient,
    consultant: Headers,
    engine: Engine,
    clock: FrozenClock,
    peer: FakePeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = clock()
    older = now - timedelta(days=3)
    _peer_openings(
        engine,
        now,
        [
            vacancy_body("werkpad", _sid(21), 1, older, title="Dichtbij", hours_min=36,
                         hours_max=36, place={"municipality": "Waalwijk"}),
            vacancy_body("werkpad", _sid(22), 1, now, title="Ver weg", hours_min=36,
                         hours_max=36, place={"municipality": "Groningen"}),
            vacancy_body("werkpad", _sid(23), 1, now, title="Nog verder", hours_min=36,
                         hours_max=36, place={"municipality": "Maastricht"}),
        ],
    )  # fmt: skip
    monkeypatch.setattr(matching_service, "CANDIDATES", 1)
    hits = _by_title(_matches(client, consultant, max_travel_km=None))
    assert set(hits) == {"Dichtbij"}  # the older, nearer one, not the newest far away


# --- One opening, and my clients who fit it (issue 15, item 5) ---------------------------


def test_an_opening_opens_with_my_clients_scored_as_on_their_own_lists(
    client: TestClient, consultant: Headers, openings: None, engine: Engine
) -> None:
    fits = client.post(
        "/api/v1/clients",
        headers=consultant,
        json=client_data(municipality="Waalwijk", max_travel_km=30, bsn=BSNS[0]),
    ).json()
    cook = client.post(
        "/api/v1/clients",
        headers=consultant,
        json=client_data(
            municipality="Waalwijk",
            bsn=BSNS[1],
            first_name="Kees",
            desired_occupations=[{"label": "Kok", "isco08": "5120"}],
            skills=["koken"],
        ),
    ).json()
    own_list = client.get(f"/api/v1/clients/{fits['id']}/matches", headers=consultant).json()
    hit = next(h for h in own_list["hits"] if h["opening"]["origin"] == "werkpad")
    address = f"/api/v1/openings/werkpad/{hit['opening']['id']}"
    found = client.get(address, params={"client": cook["id"]}, headers=consultant)
    assert found.status_code == 200, found.text
    details = found.json()
    assert details["bureau"] == "Werkpad"
    assert details["own"] is False
    assert details["opening"] == hit["opening"]
    listed = {c["client_id"]: c for c in details["clients"]}
    assert listed[fits["id"]]["score"] == hit["score"]  # the same ranking as the client's list
    assert listed[fits["id"]]["name"] == "Sanne van Dijk"
    assert details["clients"][0]["client_id"] == fits["id"]  # best first
    assert details["fit"]["client_id"] == cook["id"]  # the client asked about, scored
    assert details["fit"]["score"] < hit["score"]  # a cook fits a warehouse job less
    with Session(engine) as session:  # listing clients is audited, as every listing is
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    assert event.action == "list"
    assert fits["id"] in event.detail["ids"]


def test_an_unknown_opening_or_client_is_a_404_naming_it(
    client: TestClient, consultant: Headers, openings: None, finance: Headers
) -> None:
    missing = client.get(f"/api/v1/openings/werkpad/{_sid(99)}", headers=consultant)
    assert missing.status_code == 404
    assert _sid(99) in missing.json()["detail"]
    nobody = client.get(
        f"/api/v1/openings/werkpad/{_sid(1)}", params={"client": "nope"}, headers=consultant
    )
    assert nobody.status_code == 404
    assert "nope" in nobody.json()["detail"]
    assert client.get(f"/api/v1/openings/werkpad/{_sid(1)}", headers=finance).status_code == 403


def test_the_occupation_filter_takes_a_dutch_name_or_a_code(
    client: TestClient, consultant: Headers, openings: None
) -> None:
    names = client.get("/api/v1/occupations", headers=consultant).json()
    assert {"label": "Kok", "isco08": "5120"} in names
    by_name = client.get(
        "/api/v1/search", params={"occupation": "Kok", "place": "Waalwijk"}, headers=consultant
    ).json()
    by_code = client.get(
        "/api/v1/search", params={"occupation": "5120", "place": "Waalwijk"}, headers=consultant
    ).json()
    assert by_name["hits"][0]["opening"]["title"] == "Kok in restaurant"
    assert by_code["hits"][0]["opening"]["title"] == "Kok in restaurant"


def test_a_malformed_opening_address_is_a_422_naming_the_part(
    client: TestClient, consultant: Headers
) -> None:
    bad_origin = client.get(f"/api/v1/openings/Geen%20Bureau/{_sid(1)}", headers=consultant)
    assert bad_origin.status_code == 422
    assert "origin" in bad_origin.text
    bad_id = client.get(f"/api/v1/openings/werkpad/{'x' * 500}", headers=consultant)
    assert bad_id.status_code == 422
    assert "summary_id" in bad_id.text
    assert client.get(f"/api/v1/openings/werkpad/{_sid(1)}").status_code == 401
