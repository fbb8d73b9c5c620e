"""Bad input gets a 4xx that names the problem and writes nothing (issue 13, item 6).

Out-of-range integers (query, body, a peer's feed page), control characters in text
(body, query, web form), an over-limit body sent chunked, JSON that is not UTF-8 or nested
too deeply, and a sign-in form posted without its token or from another site. Every case
checks the status, that the message names the problem, and that no table changed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from tests.factories import FrozenClock, client_data, employer_data, vacancy_data, web_sign_in
from tests.fednodes import FakePeer, page, vacancy_body
from topmatch.bounds import MAX_DB_INT, control_characters
from topmatch.federation import replication
from topmatch.federation.models import PeerSyncState, ReplicaSummary
from topmatch.federation.peers import PeerRegistry
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import keys
from topmatch.identity.service import NodeIdentity
from topmatch.models import metadata
from topmatch.publishing.anonymise import Scrubber
from topmatch.wire_schemas import WIRE_MODELS

Headers = dict[str, str]
TOO_BIG = [2**63, 2**70, 10**40]
NEGATIVE = -5


def rows(engine: Engine) -> dict[str, int]:
    """How many rows every table holds."""
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def _only_error(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert len(body["errors"]) == 1, body
    error: dict[str, str] = body["errors"][0]
    return error


def _new_client(client: TestClient, consultant: Headers, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/clients", json=client_data(**overrides), headers=consultant)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- integers ----------------------------------------------------------------------------

#: (path, parameter, its lowest accepted value, its highest), of every list endpoint
LIST_PARAMETERS = [
    ("/api/v1/ledger/entries", "after", -1, MAX_DB_INT),
    ("/api/v1/ledger/entries", "limit", 1, 1000),
    ("/api/v1/audit", "offset", 0, MAX_DB_INT),
    ("/api/v1/audit", "limit", 1, 1000),
    ("/api/v1/openings", "offset", 0, MAX_DB_INT),
    ("/api/v1/openings", "limit", 1, MAX_DB_INT),
    ("/api/v1/openings", "min_hours", 0, 60),
    ("/api/v1/clients", "offset", 0, 10_000_000),
    ("/api/v1/clients", "limit", 1, MAX_DB_INT),
    ("/api/v1/employers", "offset", 0, 10_000_000),
    ("/api/v1/vacancies", "limit", 1, MAX_DB_INT),
    ("/api/v1/baanopeningen", "offset", 0, 10_000_000),
    ("/api/v1/search", "limit", 1, 100),
    ("/api/v1/search", "hours", 1, 60),
]


@pytest.mark.parametrize(("path", "name", "lo", "hi"), LIST_PARAMETERS)
@pytest.mark.parametrize("value", [*TOO_BIG, NEGATIVE])
def test_an_out_of_range_integer_parameter_is_422_naming_it_and_its_range(
    client: TestClient,
    admin: Headers,
    engine: Engine,
    path: str,
    name: str,
    lo: int,
    hi: int,
    value: int,
) -> None:
    before = rows(engine)
    response = client.get(path, params={name: str(value)}, headers=admin)
    if lo <= value <= hi:  # e.g. 2**63 is within no range, -5 within none either
        pytest.fail(f"{value} is in range for {path} {name}")
    assert response.status_code == 422, response.text
    error = _only_error(response)
    assert error["field"] == name
    assert error["message"].startswith(f"must be a whole number from {lo} to {hi}")
    assert rows(engine) == before


def test_every_integer_parameter_of_every_route_is_bounded(client: TestClient) -> None:
    """A new endpoint cannot forget the bound: OpenAPI names a maximum for each integer."""
    unbounded = []
    for path, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for schema in _schemas(parameter["schema"]):
                    if schema.get("type") == "integer" and not (
                        -(2**63) <= schema.get("minimum", -(2**64)) <= MAX_DB_INT
                        and schema.get("maximum", 2**64) <= MAX_DB_INT
                    ):
                        unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert unbounded == []


def test_every_integer_of_every_wire_model_is_bounded() -> None:
    unbounded = [
        f"{name}: {where}"
        for name, model in WIRE_MODELS.items()
        for where, schema in _walk(model.model_json_schema(mode="validation"))
        if schema.get("type") == "integer"
        and not ("maximum" in schema or "exclusiveMaximum" in schema)
    ]
    assert unbounded == []


def _schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *[s for key in ("anyOf", "oneOf") for s in schema.get(key, [])]]


def _walk(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}.{index}")


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    choice=st.sampled_from(LIST_PARAMETERS),
    value=st.one_of(st.integers(), st.integers(min_value=-(2**80), max_value=2**80)),
)
def test_no_integer_in_a_list_parameter_gives_a_server_error(
    client: TestClient, admin: Headers, choice: tuple[str, str, int, int], value: int
) -> None:
    path, name, lo, hi = choice
    response = client.get(path, params={name: str(value)}, headers=admin)
    assert response.status_code < 500, response.text
    assert response.status_code == (200 if lo <= value <= hi else 422), response.text


@pytest.mark.parametrize("after", [2**31 - 1, 2**31, MAX_DB_INT])
def test_a_ledger_cursor_past_32_bits_is_an_empty_page(
    client: TestClient, admin: Headers, after: int
) -> None:
    """The sequence column is 32-bit; a cursor the API accepts must not overflow it
    (PostgreSQL refused to cast 2**31, found by the property test above)."""
    response = client.get("/api/v1/ledger/entries", params={"after": after}, headers=admin)
    assert response.status_code == 200, response.text


def test_a_huge_version_in_a_body_is_422_and_changes_nothing(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    created = _new_client(client, consultant)
    before = rows(engine)
    response = client.patch(
        f"/api/v1/clients/{created['id']}",
        json={"version": 2**70, "city": "Tilburg"},
        headers=consultant,
    )
    assert response.status_code == 422, response.text
    error = _only_error(response)
    assert error["field"] == "version"
    assert error["message"].startswith(f"must be a whole number from 1 to {MAX_DB_INT}")
    assert rows(engine) == before


def test_a_huge_if_match_is_refused(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    created = _new_client(client, consultant)
    before = rows(engine)
    response = client.patch(
        f"/api/v1/clients/{created['id']}",
        json={"city": "Tilburg"},
        headers={**consultant, "If-Match": f'"{2**70}"'},
    )
    assert response.status_code == 422, response.text
    assert f"a version from 0 to {MAX_DB_INT}" in response.json()["detail"]
    assert rows(engine) == before


def test_huge_hours_in_a_vacancy_are_422_naming_the_field(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    before = rows(engine)
    body = vacancy_data(employer["id"], hours_max=2**70)
    response = client.post("/api/v1/vacancies", json=body, headers=consultant)
    assert response.status_code == 422, response.text
    assert _only_error(response)["field"] == "hours_max"
    assert rows(engine) == before


# --- a peer's feed page with an out-of-range sequence -----------------------------------


@pytest.fixture
def werkpad(clock: FrozenClock, tmp_path: Path) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(tmp_path / "peers")
    return fake


@pytest.fixture
def peer_client(clock: FrozenClock, tmp_path: Path) -> Iterator[PeerClient]:
    key = keys.generate()
    me = NodeIdentity(private_key=key, key_id=keys.key_id(key.public_key()))
    http = httpx.AsyncClient(auth=SignatureAuth(me, clock), timeout=2)
    yield PeerClient(
        http=http,
        registry=PeerRegistry(tmp_path / "peers", own_node_id="me"),
        clock=clock,
        max_response_bytes=50_000,
    )
    asyncio.run(http.aclose())


@pytest.mark.parametrize(
    ("where", "item_seq", "latest", "version"),
    [("seq", 2**70, 2**70, 1), ("latest_seq", 1, 2**64, 1), ("version", 1, 1, 2**63)],
)
@respx.mock
def test_a_feed_page_with_a_huge_number_is_refused_as_bad_data(
    werkpad: FakePeer,
    peer_client: PeerClient,
    engine: Engine,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    where: str,
    item_seq: int,
    latest: int,
    version: int,
) -> None:
    now = clock()
    item = {
        "seq": item_seq,
        "op": "upsert",
        "summary": vacancy_body("werkpad", "v-" + "a" * 24, version, now),
    }
    body = page("werkpad", 0, [item], latest=latest)
    respx.get(url__startswith="http://werkpad.test/federation/v1/feed").mock(
        side_effect=lambda request: werkpad.respond(request, body, now=clock())
    )
    with caplog.at_level(logging.WARNING, logger="topmatch"):
        result = asyncio.run(
            replication.sync_peer(
                peer=werkpad.descriptor, client=peer_client, engine=engine, clock=clock
            )
        )
    assert (result.ok, result.applied, result.cursor) == (False, 0, 0)
    assert result.error is not None
    assert where in result.error
    assert "must be a whole number from" in result.error
    assert any("sync failed" in r.getMessage() and where in r.getMessage() for r in caplog.records)
    with Session(engine) as session:
        assert session.exec(select(ReplicaSummary)).all() == []
        state = session.get(PeerSyncState, "werkpad")
        assert state is not None
        assert (state.cursor, state.failures) == (0, 1)


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "found"),
    [
        ("notes", "Belt liever\x00 niet", "U+0000"),
        ("notes", "escape \x1b[31m rood", "U+001B"),
        ("first_name", "Jan\x07", "U+0007"),
        ("first_name", "Jan\nJansen", "U+000A"),  # a name is one line
        ("skills", ["heftruck\x00"], "U+0000"),
    ],
)
def test_control_characters_in_card_box_text_are_422_and_nothing_is_stored(
    client: TestClient, consultant: Headers, engine: Engine, field: str, value: Any, found: str
) -> None:
    before = rows(engine)
    response = client.post(
        "/api/v1/clients", json=client_data(**{field: value}), headers=consultant
    )
    assert response.status_code == 422, response.text
    error = _only_error(response)
    assert error["field"].split(".")[0] == field
    assert "control characters are not accepted" in error["message"]
    assert found in error["message"]
    assert rows(engine) == before


def test_line_breaks_and_tabs_stay_allowed_in_multi_line_text(
    client: TestClient, consultant: Headers
) -> None:
    created = _new_client(client, consultant, notes="Eerste regel\r\nTweede\tregel")
    assert created["notes"] == "Eerste regel\r\nTweede\tregel"


def test_control_characters_in_an_employer_update_are_refused(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    before = rows(engine)
    response = client.patch(
        f"/api/v1/employers/{employer['id']}", json={"name": "Bouw\x00"}, headers=consultant
    )
    assert response.status_code == 422
    assert _only_error(response)["field"] == "name"
    assert rows(engine) == before


def test_control_characters_in_a_query_parameter_are_422(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    before = rows(engine)
    response = client.get("/api/v1/clients", params={"q": "jan\x00"}, headers=consultant)
    assert response.status_code == 422
    error = _only_error(response)
    assert error["field"] == "q"
    assert "control characters are not accepted (found U+0000)" in error["message"]
    assert rows(engine) == before


def test_control_characters_in_an_introduction_note_are_422(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    before = rows(engine)
    response = client.post(
        "/api/v1/introductions",
        json={
            "peer": "werkpad",
            "kind": "client_for_opening",
            "summary_id": "v-" + "a" * 24,
            "client_id": "f" * 32,
            "note": "bel \x00 mij",
        },
        headers=consultant,
    )
    assert response.status_code == 422, response.text
    assert _only_error(response)["field"] == "note"
    assert rows(engine) == before


def test_control_characters_in_a_web_form_get_a_dutch_message(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    web_sign_in(client, consultant["Authorization"].removeprefix("Bearer "))
    form = client.get("/clienten/nieuw")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert csrf is not None
    before = rows(engine)
    data = {k: v for k, v in client_data().items() if isinstance(v, str)}
    response = client.post(
        "/clienten/nieuw", data={**data, "csrf": csrf.group(1), "notes": "hallo\x00"}
    )
    assert response.status_code == 422, response.text
    assert "stuurtekens" in response.text
    assert rows(engine) == before


# --- the body: size, encoding, nesting ---------------------------------------------------


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"notes": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize(
    ("path", "kind", "shape"),
    [
        ("/api/v1/clients", "application/json", "application/problem+json"),
        ("/federation/v1/introductions", "application/json", "application/problem+json"),
        ("/clienten/nieuw", "application/x-www-form-urlencoded", "text/html"),
    ],
)
def test_an_over_limit_body_sent_chunked_is_413(
    client: TestClient, consultant: Headers, engine: Engine, path: str, kind: str, shape: str
) -> None:
    before = rows(engine)
    response = client.post(
        path,
        content=_chunks(1_200_000),  # no Content-Length: Transfer-Encoding chunked
        headers={**consultant, "Content-Type": kind},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(shape)
    if shape == "text/html":
        assert "te groot" in response.text
    else:
        assert response.json()["code"] == "body_too_large"
        assert "larger than the limit of 1000000 bytes" in response.json()["detail"]
    assert rows(engine) == before


def test_a_chunked_body_within_the_limit_is_read_whole(
    client: TestClient, consultant: Headers
) -> None:
    body = client_data(notes="x" * 9_000, skills=["heftruck"] * 50)
    encoded = httpx.Request("POST", "http://x", json=body).content
    parts = iter([encoded[i : i + 1000] for i in range(0, len(encoded), 1000)])
    response = client.post(
        "/api/v1/clients",
        content=parts,
        headers={**consultant, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_deeply_nested_json_is_422_saying_so(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    before = rows(engine)
    for path in ("/api/v1/clients", "/federation/v1/introductions"):
        response = client.post(
            path,
            content=b"[" * 10_000 + b"]" * 10_000,
            headers={**consultant, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        error = _only_error(response)
        assert (error["field"], error["message"]) == ("body", "JSON nested deeper than 64 levels")
    assert rows(engine) == before


def test_brackets_inside_strings_do_not_count_as_nesting(
    client: TestClient, consultant: Headers
) -> None:
    created = _new_client(client, consultant, notes='[[[[{{{{ "quoted \\" [[[[' * 20)
    assert created["notes"].startswith("[[[[{{{{")


def test_a_json_body_that_is_not_utf8_is_422_saying_so(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    before = rows(engine)
    response = client.post(
        "/api/v1/clients",
        content=b'{"first_name": "Jos\xe9"}',  # Latin-1, not UTF-8
        headers={**consultant, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = _only_error(response)
    assert error["field"] == "body"
    assert error["message"].startswith("the body is not UTF-8: invalid byte at offset 19")
    assert rows(engine) == before


# --- signing in --------------------------------------------------------------------------


def test_sign_in_without_the_form_token_is_refused(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    token = consultant["Authorization"].removeprefix("Bearer ")
    client.get("/inloggen")  # the pre-session cookie alone is not enough
    before = rows(engine)
    response = client.post("/inloggen", data={"token": token, "next": "/"}, follow_redirects=False)
    assert response.status_code == 403
    assert "Dit inlogformulier is verlopen" in response.text
    assert "topmatch_sessie" not in response.headers.get("set-cookie", "")
    assert 'name="csrf" value="' in response.text  # a fresh form to try again with
    assert rows(engine) == before


def test_a_sign_in_token_is_bound_to_its_pre_session_cookie(
    client: TestClient, consultant: Headers
) -> None:
    token = consultant["Authorization"].removeprefix("Bearer ")
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/inloggen").text)
    assert found is not None
    client.cookies.clear()  # an attacker's page has the token text but not the cookie
    client.cookies.set("topmatch_voorsessie", "chosen-by-the-attacker")
    response = client.post(
        "/inloggen", data={"token": token, "csrf": found.group(1)}, follow_redirects=False
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/form"},
        {"Origin": "null"},
    ],
)
def test_sign_in_from_another_site_is_refused_with_a_dutch_page(
    client: TestClient, consultant: Headers, engine: Engine, header: dict[str, str]
) -> None:
    token = consultant["Authorization"].removeprefix("Bearer ")
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/inloggen").text)
    assert found is not None
    before = rows(engine)
    response = client.post(
        "/inloggen",
        data={"token": token, "csrf": found.group(1)},
        headers=header,
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "kwam van een andere website" in response.text
    assert "topmatch_sessie" not in response.headers.get("set-cookie", "")
    assert rows(engine) == before


@pytest.mark.parametrize("origin", ["http://testserver", "http://127.0.0.1:8001"])
def test_sign_in_from_our_own_page_works(
    client: TestClient, consultant: Headers, origin: str
) -> None:
    token = consultant["Authorization"].removeprefix("Bearer ")
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/inloggen").text)
    assert found is not None
    response = client.post(
        "/inloggen",
        data={"token": token, "csrf": found.group(1), "next": "/zoeken"},
        headers={"Origin": origin},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/zoeken"
    assert "topmatch_sessie" in response.headers["set-cookie"]


def test_text_stored_before_the_rule_publishes_without_its_control_characters() -> None:
    """A description stored before control characters were refused (SQLite holds NUL)
    is published without them, so the wire model that refuses them does not break it."""
    scrubbed = Scrubber(()).scrub("Heftruck\x00 rijden\x1b[0m in\tploegen")
    assert scrubbed == "Heftruck rijden[0m in ploegen"
    assert control_characters(scrubbed) == []


def test_any_web_form_posted_from_another_site_is_refused(
    client: TestClient, consultant: Headers, engine: Engine
) -> None:
    web_sign_in(client, consultant["Authorization"].removeprefix("Bearer "))
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/clienten/nieuw").text)
    assert csrf is not None
    before = rows(engine)
    data = {k: v for k, v in client_data().items() if isinstance(v, str)}
    response = client.post(
        "/clienten/nieuw",
        data={**data, "csrf": csrf.group(1)},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "kwam van een andere site" in response.text
    assert rows(engine) == before
