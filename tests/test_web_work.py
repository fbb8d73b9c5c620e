"""The consultants' work pages: my openings, candidates at other bureaus, introductions,
placements and the ledger. Peers are faked with respx and signed FakePeer answers."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import respx
from babel.messages.extract import extract
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import (
    FrozenClock,
    agreement_document,
    baanopening_data,
    employer_data,
    vacancy_data,
    web_sign_in,
)
from tests.fednodes import FakePeer, install_agreement
from topmatch import db
from topmatch.identity import service as identity
from topmatch.ledger import api as ledger_api
from topmatch.ledger import canonical
from topmatch.ledger.models import Cosignature
from topmatch.ledger.schemas import entry_id_for
from topmatch.matching.schemas import AnonymousCandidate, CandidateAnswer
from topmatch.publishing.models import PublishedRecord
from topmatch.referrals import sealed
from topmatch.referrals import service as referrals
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import Handover, IntroductionRequest
from topmatch.settings import Settings
from topmatch.web import i18n

Headers = dict[str, str]
PEER = "http://werkpad.test"
MY_TEMPLATES = (
    "openings.html",
    "candidates.html",
    "introductions.html",
    "introductions_detail.html",
    "introductions_parts.html",
    "placements.html",
)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


@pytest.fixture
def werkpad(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


@pytest.fixture
def signed_in(client: TestClient, consultant: Headers) -> TestClient:
    token = consultant["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200
    return client


@pytest.fixture
def vacancy(client: TestClient, consultant: Headers) -> dict[str, Any]:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    created = client.post(
        "/api/v1/vacancies",
        json=vacancy_data(employer["id"], published=False),
        headers=consultant,
    )
    assert created.status_code == 201, created.text
    client.post(
        "/api/v1/baanopeningen",
        json=baanopening_data(employer["id"], published=True),
        headers=consultant,
    )
    vacancy: dict[str, Any] = created.json()
    return vacancy


class Page(Protocol):
    @property
    def text(self) -> str: ...


def _csrf(page: Page) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found.group(1)


def _live(engine: Engine, record_id: str) -> bool | None:
    with Session(engine) as session:
        row = session.exec(
            select(PublishedRecord).where(PublishedRecord.record_id == record_id)
        ).first()
        return None if row is None else row.live


def test_every_text_of_these_pages_has_a_dutch_translation() -> None:
    folder = resources.files("topmatch.web") / "templates"
    dutch = i18n.translations("nl")
    found: set[str] = set()
    plurals: set[tuple[str, str]] = set()
    for name in MY_TEMPLATES:
        source = io.BytesIO((folder / name).read_bytes())
        options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
        for _, message, _, _ in extract("jinja2.ext:babel_extract", source, options=options):
            if isinstance(message, tuple):
                plurals.add((message[0], message[1]))
            else:
                found.add(message)
    assert len(found) > 100
    assert sorted(m for m in found if m and dutch.gettext(m) == m and m != "Contract") == []
    assert sorted(p for s, p in plurals if dutch.ngettext(s, p, 2) == p) == []


# --- my openings -----------------------------------------------------------------------


def test_openings_are_listed_and_publishing_changes_the_feed(
    signed_in: TestClient, vacancy: dict[str, Any], engine: Engine
) -> None:
    page = signed_in.get("/openingen")
    assert page.status_code == 200
    assert "Magazijnmedewerker dagdienst" in page.text
    assert "Ondersteuning productie en inpak" in page.text
    assert "niet gepubliceerd" in page.text
    assert _live(engine, vacancy["id"]) is None  # never offered to peers
    form = {"csrf": _csrf(page), "published": "true", "version": str(vacancy["version"])}
    published = signed_in.post(f"/vacatures/{vacancy['id']}/publiceren", data=form)
    assert published.status_code == 200
    assert "wordt nu aangeboden aan de andere bureaus" in published.text
    assert _live(engine, vacancy["id"]) is True
    stale = signed_in.post(f"/vacatures/{vacancy['id']}/publiceren", data=form)
    assert stale.status_code == 409  # the form showed version 1; it is 2 now
    assert "laad de pagina opnieuw" in stale.text
    form.update(published="false", version=str(vacancy["version"] + 1))
    withdrawn = signed_in.post(f"/vacatures/{vacancy['id']}/publiceren", data=form)
    assert "wordt niet meer aangeboden" in withdrawn.text
    assert _live(engine, vacancy["id"]) is False  # a tombstone in our feed


def test_forms_need_the_csrf_token_and_finance_sees_nothing(
    client: TestClient, signed_in: TestClient, vacancy: dict[str, Any], finance: Headers
) -> None:
    refused = signed_in.post(
        f"/vacatures/{vacancy['id']}/publiceren", data={"published": "true", "version": "1"}
    )
    assert refused.status_code == 403
    assert signed_in.post("/voorstellen/nieuw", data={"peer": "werkpad"}).status_code == 403
    assert signed_in.post("/plaatsingen/ab/gebeurtenis", data={}).status_code == 403
    web_sign_in(client, finance["Authorization"].removeprefix("Bearer "))
    for path in ("/openingen", "/voorstellen", f"/voorstellen/{'0' * 32}"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert 'role="alert"' in page.text
    csrf = _csrf(client.get("/openingen"))
    asked = client.post(f"/vacatures/{vacancy['id']}/kandidaten", data={"csrf": csrf})
    assert asked.status_code == 403


# --- candidates at other bureaus -------------------------------------------------------


def _candidate(n: int) -> AnonymousCandidate:
    return AnonymousCandidate(
        handle=f"c-{n:032d}",
        score=90 - n,
        explanation="orderpicken; 12 km",
        hours_per_week=24,
        region="Midden-Brabant",
        age_band="27-35",
    )


@respx.mock
def test_candidate_query_shows_each_bureau_and_asks_for_an_introduction(
    signed_in: TestClient,
    vacancy: dict[str, Any],
    werkpad: FakePeer,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    dead = FakePeer.make("dood", clock())
    dead.install(settings.peers_dir)

    def answer(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)
        body = CandidateAnswer(
            query_id=query["query_id"],
            origin="werkpad",
            status="answered",
            min_group_size=3,
            candidates=[_candidate(n) for n in range(3)],
        )
        return werkpad.respond(request, json.loads(body.model_dump_json()), now=clock())

    respx.post(f"{PEER}/federation/v1/candidate-queries").mock(side_effect=answer)
    respx.post("http://dood.test/federation/v1/candidate-queries").mock(
        side_effect=httpx.ConnectError("refused")
    )
    csrf = _csrf(signed_in.get("/openingen"))
    page = signed_in.post(f"/vacatures/{vacancy['id']}/kandidaten", data={"csrf": csrf})
    assert page.status_code == 200, page.text
    assert "beantwoord" in page.text
    assert "mislukt" in page.text  # dood: connection refused
    assert "3 kandidaten" in page.text
    assert "regio Midden-Brabant" in page.text
    assert page.text.count('name="handle"') == 3

    introductions = respx.post(f"{PEER}/federation/v1/introductions").mock(
        side_effect=lambda r: werkpad.respond(r, {"state": "requested"}, now=clock())
    )
    form = {
        "csrf": csrf,
        "kind": "candidate_for_vacancy",
        "vacancy_id": vacancy["id"],
        "peer": "werkpad",
        "handle": _candidate(0).handle,
    }
    asked = signed_in.post("/voorstellen/nieuw", data=form)
    assert asked.status_code == 200
    # Recorded and queued; the delivery attempt runs after the response (a background
    # task, done by the time the test client returns).
    assert "staat in de wachtrij voor Werkpad" in asked.text
    assert "Een kandidaat van Werkpad voor onze vacature" in asked.text
    assert "Magazijnmedewerker dagdienst" in asked.text
    sent = json.loads(introductions.calls.last.request.content)
    assert sent["handle"] == _candidate(0).handle
    assert "Korenaar" not in introductions.calls.last.request.content.decode()


def test_without_peers_the_query_says_so_and_closed_vacancies_are_refused(
    signed_in: TestClient, vacancy: dict[str, Any], client: TestClient, consultant: Headers
) -> None:
    csrf = _csrf(signed_in.get("/openingen"))
    page = signed_in.post(f"/vacatures/{vacancy['id']}/kandidaten", data={"csrf": csrf})
    assert page.status_code == 200
    assert "Er is nog geen ander bureau met deze node verbonden" in page.text
    client.patch(
        f"/api/v1/vacancies/{vacancy['id']}", json={"status": "filled"}, headers=consultant
    )
    closed = signed_in.post(f"/vacatures/{vacancy['id']}/kandidaten", data={"csrf": csrf})
    assert closed.status_code == 409
    assert "only open vacancies" in closed.text


def test_an_unknown_bureau_is_explained_and_nothing_is_stored(
    signed_in: TestClient, vacancy: dict[str, Any], engine: Engine, werkpad: FakePeer
) -> None:
    csrf = _csrf(signed_in.get("/voorstellen"))
    form = {
        "csrf": csrf,
        "peer": "onbekend",
        "vacancy_id": vacancy["id"],
        "handle": "c-" + "x" * 20,
    }
    page = signed_in.post("/voorstellen/nieuw", data=form)
    assert page.status_code == 404
    assert "no peer &#39;onbekend&#39;" in page.text
    assert "Verzoeken aan ons" in page.text  # the lists are still there
    bad = signed_in.post("/voorstellen/nieuw", data={"csrf": csrf, "peer": "Niet Geldig"})
    assert bad.status_code == 422
    from_search = {"csrf": csrf, "peer": "werkpad", "client_id": "c1", "summary_id": "v" * 26}
    gone = signed_in.post("/voorstellen/nieuw", data=from_search)  # as hits.html posts it
    assert gone.status_code == 422
    assert f"werkpad has no open opening {'v' * 26}" in gone.text
    with Session(engine) as session:
        assert session.exec(select(Introduction)).all() == []


# --- introductions ---------------------------------------------------------------------


@pytest.fixture
def incoming(
    client: TestClient,
    consultant: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    werkpad: FakePeer,
    clock: FrozenClock,
) -> str:
    """Werkpad offers its client for our (published) vacancy."""
    client.patch(f"/api/v1/vacancies/{vacancy['id']}", json={"published": True}, headers=consultant)
    with db.transaction(engine) as session:
        published = session.exec(
            select(PublishedRecord).where(PublishedRecord.record_id == vacancy["id"])
        ).one()
        request = IntroductionRequest(
            id="1" * 32,
            kind="client_for_opening",
            summary_id=published.summary_id,
            client=_candidate(7),
            note="",
        )
        referrals.receive_request(session, request, peer="werkpad", now=clock())
    return "1" * 32


@respx.mock
def test_incoming_and_outgoing_introductions_and_a_decision(
    signed_in: TestClient, incoming: str, werkpad: FakePeer, clock: FrozenClock
) -> None:
    page = signed_in.get("/voorstellen")
    assert page.status_code == 200
    assert "Een cliënt van Werkpad voor onze opening" in page.text
    assert "Magazijnmedewerker dagdienst" in page.text  # our opening it is about
    assert "leeftijd 27-35" in page.text
    assert "aangevraagd" in page.text
    assert f'action="/voorstellen/{incoming}/besluit"' in page.text
    assert "Het andere bureau leest de reden zonder namen, nummers" in page.text
    assert "U hebt andere bureaus nog niet om een voorstel gevraagd" in page.text
    decisions = respx.post(f"{PEER}/federation/v1/introductions/{incoming}/decision").mock(
        side_effect=lambda r: werkpad.respond(r, {"state": "declined"}, now=clock())
    )
    reason = "Vacature al vervuld, bel 06-12345678"
    form = {"csrf": _csrf(page), "accept": "false", "reason": reason}
    declined = signed_in.post(f"/voorstellen/{incoming}/besluit", data=form)
    assert declined.status_code == 200
    assert "U hebt afgewezen. Uw besluit staat in de wachtrij voor Werkpad" in declined.text
    assert "afgewezen</span>" in declined.text
    sent = json.loads(decisions.calls.last.request.content)
    assert sent["decision"] == "declined"
    assert sent["reason"] == "Vacature al vervuld, bel [telefoon]"
    assert "afgeleverd</span>" in signed_in.get("/voorstellen").text  # the kick delivered it
    again = signed_in.post(f"/voorstellen/{incoming}/besluit", data=form)
    assert again.status_code == 409
    assert "already declined" in again.text
    detail = signed_in.get(f"/voorstellen/{incoming}")
    assert "Er is nog niets overgedragen" in detail.text
    assert detail.headers["cache-control"] == "no-store"
    assert signed_in.get(f"/voorstellen/{'9' * 32}").status_code == 404


def test_contact_details_handed_over_are_shown_once_opened_and_audited(
    signed_in: TestClient,
    client: TestClient,
    admin: Headers,
    engine: Engine,
    settings: Settings,
    clock: FrozenClock,
    werkpad: FakePeer,
) -> None:
    intro = _accepted(engine, clock, 5)
    ours = identity.load_encryption_key(settings).public_key()
    context = f"topmatch handover v1\nwerkpad\nbaanbrekers\n{intro}\nclient".encode()
    details = {"first_name": "Sanne", "last_name": "Dijk", "phone": "06-12345678"}
    box = sealed.seal(json.dumps(details).encode(), recipient=ours, context=context)
    handover = Handover(id=intro, part="client", sealed=base64.b64encode(box).decode())
    with db.transaction(engine) as session:
        key = identity.load_encryption_key(settings)
        referrals.receive_handover(
            session, handover, peer="werkpad", me="baanbrekers", key=key, now=clock()
        )
    listed = signed_in.get("/voorstellen")
    assert "Contactgegevens van Werkpad" in listed.text
    assert "Sanne" not in listed.text  # only on the introduction's own page
    shown = signed_in.get(f"/voorstellen/{intro}")
    assert shown.status_code == 200
    assert "<dt>Voornaam</dt>" in shown.text
    assert "Sanne" in shown.text
    assert "06-12345678" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    audit = client.get("/api/v1/audit", params={"entity_id": intro}, headers=admin).json()
    assert [(e["action"], e["actor"]) for e in audit] == [("read", "jobcoach-anna")]


# --- placements and the ledger ---------------------------------------------------------


@pytest.fixture
def agreed(engine: Engine, settings: Settings, werkpad: FakePeer, clock: FrozenClock) -> None:
    """A fee agreement between us and werkpad, signed by both: in force."""
    me = FakePeer(
        "baanbrekers", identity.load_identity(settings), ledger_api.own_descriptor(settings)
    )
    document = agreement_document(members=["baanbrekers", "werkpad"], licences=[])
    install_agreement(engine, document, me, werkpad, now=clock())


def _accepted(engine: Engine, clock: FrozenClock, n: int) -> str:
    """An accepted introduction of werkpad's client for our opening: werkpad pays."""
    intro = f"{n:032d}"
    with db.transaction(engine) as session:
        session.add(
            Introduction(
                id=intro,
                peer="werkpad",
                role="responder",
                kind="client_for_opening",
                state="accepted",
                summary_id="v" * 26,
                created_at=clock(),
                updated_at=clock(),
            )
        )
    return intro


@pytest.fixture
def countersigning(werkpad: FakePeer, clock: FrozenClock) -> Iterator[respx.MockRouter]:
    """Werkpad countersigns whatever we propose (the checks are its own business)."""

    def countersign(request: httpx.Request) -> httpx.Response:
        proposed = json.loads(request.content)
        signed = canonical.sign_entry(
            proposed,
            key=werkpad.identity.private_key,
            key_id=werkpad.identity.key_id,
            party="werkpad",
        )
        return werkpad.respond(request, signed, now=clock())

    with respx.mock() as mock:
        mock.post(f"{PEER}/federation/v1/ledger/proposals").mock(side_effect=countersign)
        yield mock


def _placement_form(csrf: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "start_date": "2026-11-02",
        "contract_type": "tijdelijk",
        "hours_per_week": "24",
    }


def test_a_placement_is_signed_by_both_then_witnessed_then_disputed(
    signed_in: TestClient,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    countersigning: respx.MockRouter,
) -> None:
    intro = _accepted(engine, clock, 1)
    page = signed_in.get("/voorstellen")
    assert "Volgens de vergoedingenafspraak betaalt Werkpad ons" in page.text
    assert f'action="/voorstellen/{intro}/plaatsing"' in page.text
    placed = signed_in.post(f"/voorstellen/{intro}/plaatsing", data=_placement_form(_csrf(page)))
    assert placed.status_code == 200, placed.text
    # the answer does not wait for werkpad: the proposal is queued, delivered right after
    assert "Door ons getekend en voorgesteld" in placed.text
    placed = signed_in.get("/voorstellen")
    assert "door beide getekend" in placed.text
    assert "€ 1.500,00" in placed.text  # half of EUR 3,000 at the start
    assert "wij ontvangen" in placed.text
    assert "geplaatst" in placed.text  # the introduction led to a placement
    proposed = json.loads(countersigning.calls.last.request.content)
    assert (proposed["payer"], proposed["payee"]) == ("werkpad", "baanbrekers")
    assert proposed["placement"]["summary_id"] == "v" * 26

    with db.transaction(engine) as session:
        session.add(Cosignature(witness="werkpad", size=1, line=b"-", received_at=clock()))
    witnessed = signed_in.get("/voorstellen")
    assert "getuigd" in witnessed.text
    assert "De eerste 1 regel van ons logboek is getuigd door Werkpad." in witnessed.text

    entry_id = proposed["entry_id"]
    form = {"csrf": _csrf(witnessed), "type": "placement.disputed", "reason": "Niet gestart"}
    disputed = signed_in.post(f"/plaatsingen/{entry_id}/gebeurtenis", data=form)
    assert disputed.status_code == 200, disputed.text
    disputed = signed_in.get("/voorstellen")
    assert "betwist" in disputed.text
    assert "Niet gestart" in disputed.text
    twice = signed_in.post(f"/plaatsingen/{entry_id}/gebeurtenis", data=form)
    assert twice.status_code == 409
    assert "already disputed" in twice.text
    no_reason = signed_in.post(f"/plaatsingen/{entry_id}/gebeurtenis", data={**form, "reason": ""})
    assert no_reason.status_code == 422


def test_proposals_waiting_or_refused_are_shown_with_their_reason(
    signed_in: TestClient, agreed: None, engine: Engine, clock: FrozenClock, werkpad: FakePeer
) -> None:
    waiting, refused = _accepted(engine, clock, 2), _accepted(engine, clock, 3)
    csrf = _csrf(signed_in.get("/voorstellen"))
    with respx.mock() as mock:
        route = mock.post(f"{PEER}/federation/v1/ledger/proposals")
        route.mock(
            side_effect=lambda r: werkpad.respond(
                r, {"detail": "not our client"}, status=422, now=clock()
            )
        )
        no = signed_in.post(f"/voorstellen/{refused}/plaatsing", data=_placement_form(csrf))
        route.mock(side_effect=httpx.ConnectError("refused"))
        pending = signed_in.post(f"/voorstellen/{waiting}/plaatsing", data=_placement_form(csrf))
    # neither answer waits for werkpad: both are signed and queued
    assert "Door ons getekend en voorgesteld" in no.text
    assert "Door ons getekend en voorgesteld" in pending.text
    page = signed_in.get("/voorstellen").text
    assert "geweigerd</span>" in page
    assert "not our client" in page
    assert "voorgesteld</span>" in page  # the waiting one is still listed, with why
    assert "werkpad (http://werkpad.test): onbereikbaar" in page  # the outbox's last error
    assert '<span class="badge muted">in de wachtrij</span>' in page  # its message
    assert f'action="/plaatsingen/{_entry_of(refused)}/opnieuw"' in page  # send it again
    with respx.mock() as mock:
        mock.post(f"{PEER}/federation/v1/ledger/proposals").mock(
            side_effect=lambda r: werkpad.respond(
                r, {"detail": "still not"}, status=422, now=clock()
            )
        )
        again = signed_in.post(
            f"/plaatsingen/{_entry_of(refused)}/opnieuw", data={"csrf": _csrf(page_of(signed_in))}
        )
    assert again.status_code == 200, again.text
    assert "Het bericht staat weer in de wachtrij voor Werkpad." in again.text


def _entry_of(introduction_id: str) -> str:
    return entry_id_for("placement.started", introduction_id)


def page_of(client: TestClient) -> Page:
    page: Page = client.get("/voorstellen")
    return page


def test_a_placement_without_a_fee_agreement_is_refused_and_says_why(
    signed_in: TestClient, werkpad: FakePeer, engine: Engine, clock: FrozenClock
) -> None:
    intro = _accepted(engine, clock, 4)
    page = signed_in.get("/voorstellen")
    assert "Er is vandaag geen vergoedingenafspraak met Werkpad van kracht" in page.text
    refused = signed_in.post(f"/voorstellen/{intro}/plaatsing", data=_placement_form(_csrf(page)))
    assert refused.status_code == 422
    assert "no fee agreement signed by baanbrekers and werkpad" in refused.text
    wrong = signed_in.post(
        f"/voorstellen/{intro}/plaatsing",
        data={**_placement_form(_csrf(page)), "hours_per_week": "x"},
    )
    assert wrong.status_code == 422
