"""The card-box HTTP API: happy paths, validation, roles, conflicts, erasure, audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    BSNS,
    agreement_document,
    baanopening_data,
    client_data,
    employer_data,
    vacancy_data,
)

Headers = dict[str, str]


def _create(client: TestClient, headers: Headers, path: str, data: dict[str, Any]) -> Any:
    response = client.post(f"/api/v1/{path}", json=data, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _employer(client: TestClient, headers: Headers, **overrides: Any) -> Any:
    return _create(client, headers, "employers", employer_data(**overrides))


def _audit(client: TestClient, admin: Headers, entity_id: str | None = None) -> list[Any]:
    params = {"entity_id": entity_id} if entity_id else {}
    response = client.get("/api/v1/audit", params=params, headers=admin)
    assert response.status_code == 200
    result: list[Any] = response.json()
    return result


# --- happy paths -----------------------------------------------------------------------


def test_client_life_cycle(client: TestClient, consultant: Headers, admin: Headers) -> None:
    created = _create(client, consultant, "clients", client_data())
    assert created["bsn"] == BSNS[0]
    assert created["nlqf"] == 2
    assert created["version"] == 1
    client_id = created["id"]

    read = client.get(f"/api/v1/clients/{client_id}", headers=consultant)
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json()["desired_occupations"] == [
        {"label": "Magazijnmedewerker", "isco08": "9321", "esco_uri": None}
    ]

    patched = client.patch(
        f"/api/v1/clients/{client_id}",
        json={"hours_per_week": 32},
        headers={**consultant, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["hours_per_week"] == 32
    assert patched.json()["version"] == 2
    assert patched.headers["ETag"] == '"2"'

    actions = [(e["action"], e["actor"]) for e in _audit(client, admin, client_id)]
    assert actions == [
        ("update", "jobcoach-anna"),
        ("read", "jobcoach-anna"),
        ("create", "jobcoach-anna"),
    ]


def test_lists_paginate_filter_and_never_show_bsn_or_contact(
    client: TestClient, consultant: Headers
) -> None:
    for i, bsn in enumerate(BSNS):
        _create(
            client,
            consultant,
            "clients",
            client_data(
                bsn=bsn,
                last_name=f"Dijk{i}",
                municipality="Tilburg" if i % 2 else "Waalwijk",
                consent_share_profile=i < 2,
            ),
        )
    page = client.get("/api/v1/clients", params={"limit": 2}, headers=consultant).json()
    assert (page["total"], len(page["items"]), page["limit"]) == (5, 2, 2)
    second = client.get(
        "/api/v1/clients", params={"limit": 2, "offset": 4}, headers=consultant
    ).json()
    assert len(second["items"]) == 1
    body = json.dumps(page)
    for secret in [*BSNS, "sanne@example.nl", "06-12345678", "Grotestraat"]:
        assert secret not in body
    tilburg = client.get(
        "/api/v1/clients", params={"municipality": "tilburg"}, headers=consultant
    ).json()
    assert tilburg["total"] == 2
    consenting = client.get(
        "/api/v1/clients", params={"consent": "true"}, headers=consultant
    ).json()
    assert consenting["total"] == 2
    by_name = client.get("/api/v1/clients", params={"q": "van dijk3"}, headers=consultant).json()
    assert [c["last_name"] for c in by_name["items"]] == ["Dijk3"]


def test_page_size_is_capped(client: TestClient, consultant: Headers) -> None:
    response = client.get("/api/v1/clients", params={"limit": 100_000}, headers=consultant)
    assert response.json()["limit"] == 200


def test_lookup_by_exact_bsn_in_the_body(
    client: TestClient, consultant: Headers, admin: Headers
) -> None:
    created = _create(client, consultant, "clients", client_data())
    found = client.post("/api/v1/clients/lookup", json={"bsn": "1112.22.333"}, headers=consultant)
    assert found.status_code == 200
    assert found.json()["id"] == created["id"]
    missing = client.post("/api/v1/clients/lookup", json={"bsn": BSNS[1]}, headers=consultant)
    assert missing.status_code == 404
    assert json.dumps(_audit(client, admin)).count(BSNS[0]) == 0


def test_employer_vacancy_and_baanopening(client: TestClient, consultant: Headers) -> None:
    employer = _employer(client, consultant)
    vacancy = _create(client, consultant, "vacancies", vacancy_data(employer["id"]))
    assert vacancy["occupation"]["isco08"] == "9321"
    opening = _create(client, consultant, "baanopeningen", baanopening_data(employer["id"]))
    assert opening["tasks"][0] == "dozen vouwen"

    closed = client.patch(
        f"/api/v1/vacancies/{vacancy['id']}",
        json={"status": "filled", "version": 1},
        headers=consultant,
    )
    assert closed.json()["status"] == "filled"
    open_only = client.get("/api/v1/vacancies", params={"status": "open"}, headers=consultant)
    assert open_only.json()["total"] == 0
    by_employer = client.get(
        "/api/v1/baanopeningen", params={"employer_id": employer["id"]}, headers=consultant
    )
    assert by_employer.json()["total"] == 1
    renamed = client.patch(
        f"/api/v1/employers/{employer['id']}", json={"contact_name": "Piet"}, headers=consultant
    )
    assert renamed.json()["contact_name"] == "Piet"
    assert (
        client.get(f"/api/v1/baanopeningen/{opening['id']}", headers=consultant).status_code == 200
    )


# --- validation: 422 naming the field, nothing written ---------------------------------


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"bsn": "123456789"}, "bsn", "not a valid BSN"),
        ({"postcode": "12345"}, "postcode", "postcode"),
        ({"email": "not-an-email"}, "email", "email"),
        ({"hours_per_week": 80}, "hours_per_week", "less than or equal to 60"),
        ({"benefit_type": "pensioen"}, "benefit_type", "ww"),
        ({"education_level": "hbo-9"}, "education_level", "mbo-2"),
        ({"driving_licences": ["Z"]}, "driving_licences.0", "B"),
        ({"date_of_birth": "2030-01-01"}, "date_of_birth", "in the past"),
        ({"consent_date": "2030-01-01"}, "consent_date", "future"),
        ({"nickname": "Sanne"}, "nickname", "unknown field"),
        ({"skills": "heftruck"}, "skills", "list"),
    ],
)
def test_invalid_clients_are_refused_naming_the_field(
    client: TestClient, consultant: Headers, override: dict[str, Any], field: str, message: str
) -> None:
    response = client.post("/api/v1/clients", json=client_data(**override), headers=consultant)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert message.lower() in problem["errors"][0]["message"].lower()
    assert client.get("/api/v1/clients", headers=consultant).json()["total"] == 0


def test_malformed_json_is_a_clear_422(client: TestClient, consultant: Headers) -> None:
    response = client.post(
        "/api/v1/clients",
        content=b'{"first_name": "Sanne",',
        headers={**consultant, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "body",
            "message": "the body is not valid JSON: Expecting property name enclosed in "
            "double quotes at line 1 column 24",
        }
    ]


def test_malformed_json_says_the_line_and_column(client: TestClient, consultant: Headers) -> None:
    response = client.post(
        "/api/v1/employers",
        content=b'{\n  "name": "Bakkerij De Korenaar",\n  "sector": \n}',
        headers={**consultant, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "body: the body is not valid JSON: Expecting value at line 4 column 1"
    )


def test_a_wrong_sector_lists_the_sbi_sections_in_words(
    client: TestClient, consultant: Headers
) -> None:
    response = client.post("/api/v1/employers", json=employer_data(sector="Z"), headers=consultant)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "sector"
    assert "SBI 2008" in error["message"]
    assert "A (Landbouw, bosbouw en visserij)" in error["message"]
    assert "Q (Gezondheids- en welzijnszorg)" in error["message"]
    assert "U (Extraterritoriale organisaties en lichamen)" in error["message"]


@pytest.mark.parametrize(
    ("occupation", "field", "words"),
    [
        ("kok", "occupation", "not an object"),
        ({"isco08": "5120"}, "occupation.label", "required"),
        ({"label": "Kok", "isco08": "51"}, "occupation.isco08", "4 digits"),
    ],
)
def test_a_wrong_occupation_says_its_shape(
    client: TestClient, consultant: Headers, occupation: object, field: str, words: str
) -> None:
    employer = _employer(client, consultant)
    data = {**vacancy_data(employer["id"]), "occupation": occupation}
    response = client.post("/api/v1/vacancies", json=data, headers=consultant)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    if field != "occupation.isco08":
        assert '"label"' in error["message"]
        assert "ISCO-08" in error["message"]
    assert "pattern" not in error["message"]


def test_invalid_kvk_and_unknown_employer(client: TestClient, consultant: Headers) -> None:
    bad = client.post(
        "/api/v1/employers", json=employer_data(kvk_number="1234"), headers=consultant
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "kvk_number"
    orphan = client.post("/api/v1/vacancies", json=vacancy_data("0" * 32), headers=consultant)
    assert orphan.status_code == 422
    assert orphan.json()["errors"] == [
        {"field": "employer_id", "message": f"no employer with id {'0' * 32}"}
    ]


def test_partial_update_is_validated_as_a_whole(client: TestClient, consultant: Headers) -> None:
    employer = _employer(client, consultant)
    vacancy = _create(client, consultant, "vacancies", vacancy_data(employer["id"]))
    response = client.patch(
        f"/api/v1/vacancies/{vacancy['id']}", json={"hours_min": 36}, headers=consultant
    )
    assert response.status_code == 422
    assert "hours_min (36) is more than hours_max (32)" in response.json()["detail"]
    unchanged = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=consultant).json()
    assert (unchanged["hours_min"], unchanged["version"]) == (24, 1)


def test_duplicates_conflict(client: TestClient, consultant: Headers) -> None:
    _create(client, consultant, "clients", client_data())
    again = client.post("/api/v1/clients", json=client_data(first_name="Other"), headers=consultant)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "bsn_index"
    _employer(client, consultant)
    twin = client.post("/api/v1/employers", json=employer_data(name="Other"), headers=consultant)
    assert twin.status_code == 409
    assert "KvK number" in twin.json()["detail"]


def test_oversized_body_is_413_and_writes_nothing(client: TestClient, consultant: Headers) -> None:
    huge = client_data(notes="x" * 1_100_000)
    response = client.post("/api/v1/clients", json=huge, headers=consultant)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert client.get("/api/v1/clients", headers=consultant).json()["total"] == 0


def test_unknown_ids_are_404(client: TestClient, consultant: Headers) -> None:
    for path in ["clients", "employers", "vacancies", "baanopeningen"]:
        response = client.get(f"/api/v1/{path}/{'f' * 32}", headers=consultant)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


# --- authentication and roles ----------------------------------------------------------


def test_no_or_bad_token_is_401(client: TestClient) -> None:
    assert client.get("/api/v1/clients").status_code == 401
    bad = client.get("/api/v1/clients", headers={"Authorization": "Bearer tm_nope"})
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == "Bearer"
    basic = client.get("/api/v1/clients", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


def test_wrong_role_is_403(client: TestClient, finance: Headers, consultant: Headers) -> None:
    response = client.get("/api/v1/clients", headers=finance)
    assert response.status_code == 403
    assert "consultant" in response.json()["detail"]
    assert client.get("/api/v1/audit", headers=consultant).status_code == 403


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200


def test_me(client: TestClient, finance: Headers) -> None:
    assert client.get("/api/v1/me", headers=finance).json() == {
        "name": "financien",
        "role": "finance",
    }


# --- concurrency -----------------------------------------------------------------------


def test_stale_if_match_is_412_and_stale_body_version_is_409(
    client: TestClient, consultant: Headers
) -> None:
    created = _create(client, consultant, "clients", client_data())
    path = f"/api/v1/clients/{created['id']}"
    assert client.patch(path, json={"city": "Tilburg"}, headers=consultant).status_code == 200
    stale_header = client.patch(
        path, json={"city": "Breda"}, headers={**consultant, "If-Match": '"1"'}
    )
    assert stale_header.status_code == 412
    assert "version 1" in stale_header.json()["detail"]
    stale_body = client.patch(path, json={"city": "Breda", "version": 1}, headers=consultant)
    assert stale_body.status_code == 409
    assert client.get(path, headers=consultant).json()["city"] == "Tilburg"
    garbage = client.patch(path, json={"city": "Breda"}, headers={**consultant, "If-Match": "x"})
    assert garbage.status_code == 422


# --- erasure and audit -----------------------------------------------------------------


def test_erasure_removes_the_client_and_leaves_an_audit_record_without_personal_data(
    client: TestClient, consultant: Headers, admin: Headers
) -> None:
    created = _create(client, consultant, "clients", client_data())
    client_id = created["id"]
    assert client.delete(f"/api/v1/clients/{client_id}", headers=consultant).status_code == 204
    assert client.get(f"/api/v1/clients/{client_id}", headers=consultant).status_code == 404
    lookup = client.post("/api/v1/clients/lookup", json={"bsn": BSNS[0]}, headers=consultant)
    assert lookup.status_code == 404
    trail = _audit(client, admin, client_id)
    assert trail[0]["action"] == "erase"
    text = json.dumps(_audit(client, admin))
    for personal in [
        "Sanne",
        "Dijk",
        BSNS[0],
        "1999-04-12",
        "sanne@example.nl",
        "06-12345678",
        "Grotestraat",
        "5141 JA",
        "logistiek",
    ]:
        assert personal not in text
    # The same BSN may be registered again after erasure (e.g. the person comes back).
    _create(client, consultant, "clients", client_data())


def test_audit_of_an_update_names_fields_not_values(
    client: TestClient, consultant: Headers, admin: Headers
) -> None:
    created = _create(client, consultant, "clients", client_data())
    client.patch(
        f"/api/v1/clients/{created['id']}",
        json={"notes": "Heeft schulden bij de Belastingdienst"},
        headers=consultant,
    )
    update = _audit(client, admin, created["id"])[0]
    assert update["detail"] == {"fields": ["notes"]}
    assert "Belastingdienst" not in json.dumps(_audit(client, admin))


def test_a_bad_node_id_is_explained_in_words(client: TestClient, admin: Headers) -> None:
    document = agreement_document(members=["baanbrekers", "Stap Verder!"])
    response = client.post("/api/v1/agreements", json=document, headers=admin)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "members.1"
    assert (
        "a node id is 2 to 63 characters: lower-case letters a-z, digits and hyphens"
        in (error["message"])
    )
    assert "pattern" not in error["message"]


def test_client_hours_are_a_range_and_the_old_figure_still_reads(
    client: TestClient, consultant: Headers
) -> None:
    data = {k: v for k, v in client_data().items() if k not in {"hours_min", "hours_max"}}
    made = client.post("/api/v1/clients", json={**data, "hours_per_week": 36}, headers=consultant)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["hours_min"], body["hours_max"], body["hours_per_week"]) == (36, 36, 36)
    patched = client.patch(
        f"/api/v1/clients/{body['id']}",
        json={"hours_min": None, "hours_max": 16},
        headers={**consultant, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["hours_min"], patched.json()["hours_max"]) == (None, 16)
    assert patched.json()["hours_per_week"] is None  # the range replaced it
    wrong = client.patch(
        f"/api/v1/clients/{body['id']}", json={"hours_min": 20}, headers=consultant
    )
    assert wrong.status_code == 422
    assert "hours_min (20) is more than hours_max (16)" in wrong.text
