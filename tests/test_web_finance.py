"""The finance and federation pages: statements, downloads, closing, netting, peers,
alarms and fee agreements, signed in with the session cookie."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from babel.messages.extract import extract
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import FrozenClock, agreement_document, agreement_ref, web_sign_in
from tests.fednodes import FakePeer, install_agreement
from topmatch import db
from topmatch.cli import settlement as cli_settlement
from topmatch.federation.models import PeerSyncState
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor, PeerStatus
from topmatch.ledger import canonical, note
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import Cosignature, LedgerEntry, WitnessAlarm
from topmatch.ledger.schemas import ENTRY_FORMAT, entry_id_for
from topmatch.settings import Settings
from topmatch.settlement import exports
from topmatch.web import finance as finance_pages
from topmatch.web import i18n

Headers = dict[str, str]
DOCUMENT = agreement_document(members=["baanbrekers", "werkpad"], licences=[])


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


@pytest.fixture
def werkpad(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


@pytest.fixture
def unreachable(respx_mock: respx.MockRouter) -> respx.MockRouter:
    """Every peer is down: what asks peers still answers, naming the failure."""
    respx_mock.route(host="werkpad.test").mock(side_effect=httpx.ConnectError("refused"))
    return respx_mock


def ourselves(settings: Settings) -> FakePeer:
    descriptor = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    return FakePeer("baanbrekers", identity.load_identity(settings), descriptor)


def sign_in(client: TestClient, headers: Headers) -> None:
    token = headers["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def placement(
    n: int, clock: FrozenClock, *, payer: str, payee: str, contract: str = "tijdelijk"
) -> dict[str, Any]:
    intro = f"intro-{n:04d}"
    return {
        "format": ENTRY_FORMAT,
        "entry_id": entry_id_for("placement.started", intro),
        "type": "placement.started",
        "at": (clock() + timedelta(minutes=n)).isoformat(),
        "proposer": payee,
        "payer": payer,
        "payee": payee,
        "amount_cents": 225_000 if contract == "vast" else 150_000,
        "agreement": agreement_ref(DOCUMENT),
        "placement": {
            "introduction_id": intro,
            "summary_id": "v-" + "a" * 24,
            "client_ref": "cd" * 32,
            "start_date": "2026-11-02",
            "contract_type": contract,
            "hours_per_week": 32,
        },
    }


def disputed(of: dict[str, Any], clock: FrozenClock) -> dict[str, Any]:
    return {
        "format": ENTRY_FORMAT,
        "entry_id": entry_id_for("placement.disputed", f"{of['entry_id']}:1", of["entry_id"]),
        "type": "placement.disputed",
        "refers_to": of["entry_id"],
        "at": (clock() + timedelta(minutes=10)).isoformat(),
        "proposer": of["payer"],
        "payer": of["payer"],
        "payee": of["payee"],
        "amount_cents": 0,
        "reason": "de cliënt is na een week gestopt",
    }


def cosigned(entry: dict[str, Any], *signers: FakePeer) -> dict[str, Any]:
    for peer in signers:
        entry = canonical.sign_entry(
            entry, key=peer.identity.private_key, key_id=peer.identity.key_id, party=peer.node_id
        )
    return entry


@pytest.fixture
def ledger_q4(engine: Engine, settings: Settings, clock: FrozenClock, werkpad: FakePeer) -> None:
    """Werkpad owes us one placement (and a disputed one); we owe Werkpad one: in 2026-Q4."""
    us = ourselves(settings)
    install_agreement(engine, DOCUMENT, us, werkpad, now=clock())
    theirs = placement(3, clock, payer="werkpad", payee="baanbrekers")
    entries = [
        placement(1, clock, payer="werkpad", payee="baanbrekers"),
        placement(2, clock, payer="baanbrekers", payee="werkpad", contract="vast"),
        theirs,
        disputed(theirs, clock),
    ]
    book = KeyBook([us.descriptor, werkpad.descriptor])
    with db.transaction(engine) as session:
        for body in entries:
            ledger.append(
                session, cosigned(body, us, werkpad), me="baanbrekers", book=book, now=clock()
            )


@pytest.mark.usefixtures("ledger_q4")
def test_finance_sees_the_current_quarter_in_dutch(client: TestClient, finance: Headers) -> None:
    sign_in(client, finance)
    page = client.get("/financien")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Afrekening 2026-Q4" in text
    assert '<option value="2026-Q4" selected>' in text
    assert "Werkpad" in text
    assert "€ 1.500,00" in text
    assert "€ 315,00" in text
    assert "€ 1.815,00" in text
    assert "€ 2.722,50" in text  # what we pay: a permanent placement of 32 hours
    assert "betwist" in text  # the disputed placement is left out, with its state
    assert "Plaatsing (start)" in text  # the type as the Dutch exports label it
    assert "Saldo: Werkpad heeft € 907,50 tegoed van Baanbrekers" in text
    # the balances are information; the one instruction says to pay what the netting gives
    assert " betaalt " not in text
    assert text.count('class="betaalopdracht"') == 1
    assert "niet afgesloten" in text
    assert re.search(r"<code>[0-9a-f]{64}</code>", text)  # the report hash
    assert re.search(r'<td class="num">€ 1\.815,00</td>', text)
    # the period is running: the close button is there but disabled
    button = re.search(r"<button[^>]*>Periode afsluiten</button>", text)
    assert button is not None
    assert "disabled" in button.group(0)
    month = client.get("/financien", params={"maand": "2026-10"})
    assert month.status_code == 200
    assert "Afrekening 2026-10" in month.text
    future = client.get("/financien", params={"periode": "2027-Q1"})
    assert future.status_code == 422
    assert "Periode 2027-Q1 is nog niet begonnen" in future.text


@pytest.mark.usefixtures("ledger_q4")
def test_downloads_come_as_files(
    client: TestClient, finance: Headers, unreachable: respx.MockRouter
) -> None:
    sign_in(client, finance)
    csv = client.get("/financien/2026-Q4/export.csv")
    assert csv.status_code == 200
    assert csv.headers["content-disposition"].startswith("attachment;")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("periode;regel;datum;tegenpartij;")
    assert ";Werkpad;te_ontvangen;placement.started;" in csv.text
    assert ";1500.00;315.00;1815.00;geboekt" in csv.text
    comma = client.get("/financien/2026-Q4/export.csv", params={"decimal_comma": "1"})
    assert ";1500,00;315,00;1815,00;geboekt" in comma.text
    beancount = client.get("/financien/2026-Q4/export.beancount")
    assert beancount.headers["content-disposition"].startswith("attachment;")
    assert "Assets:Debiteuren:Werkpad" in beancount.text
    document = client.get("/financien/2026-Q4/export.json")
    assert document.headers["content-disposition"].startswith("attachment;")
    assert document.json()["period"] == "2026-Q4"
    html = client.get("/financien/2026-Q4/afrekening/werkpad.html")
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert not html.headers["content-disposition"].startswith("attachment")
    assert "Werkpad" in html.text
    assert unreachable.calls  # the printable statement asked for the netting
    unknown = client.get("/financien/2026-Q4/afrekening/nergens.html")
    assert unknown.status_code == 404
    assert 'role="alert"' in unknown.text


@pytest.mark.usefixtures("ledger_q4")
def test_closing_a_period_that_is_over_shows_each_answer(
    client: TestClient, finance: Headers, clock: FrozenClock, unreachable: respx.MockRouter
) -> None:
    sign_in(client, finance)
    running = client.get("/financien")
    early = client.post("/financien/2026-Q4/afsluiten", data={"csrf": csrf_of(running.text)})
    assert early.status_code == 200
    assert "it can be closed once it is over" in early.text
    clock.advance(days=33)  # 2027-01-02: the quarter is over
    page = client.get("/financien", params={"periode": "2026-Q4"})
    button = re.search(r"<button[^>]*>Periode afsluiten</button>", page.text)
    assert button is not None
    assert "disabled" not in button.group(0)
    closed = client.post("/financien/2026-Q4/afsluiten", data={"csrf": csrf_of(page.text)})
    assert closed.status_code == 200
    assert "Resultaat van het afsluiten van 2026-Q4" in closed.text
    row = re.search(r"<td>Werkpad</td>\s*<td>\s*<span class=\"badge muted\">([^<]+)", closed.text)
    assert row is not None
    assert row.group(1).startswith("in afwachting")  # Werkpad is down: sent again later
    assert unreachable.calls


@pytest.mark.usefixtures("ledger_q4")
def test_the_closing_is_queued_then_countersigned_and_the_cli_delivers_it_at_once(
    settings: Settings,
    engine: Engine,
    clock: FrozenClock,
    werkpad: FakePeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``topmatch settle --close`` queues the closing in the outbox, runs one delivery
    step, and reports the countersigned entry (the answer hook appended it)."""
    clock.advance(days=33)  # 2027-01-02: the quarter is over
    monkeypatch.setattr(cli_settlement, "_clock", lambda _settings: clock)

    def countersign(request: httpx.Request) -> httpx.Response:
        signed = canonical.sign_entry(
            json.loads(request.content),
            key=werkpad.identity.private_key,
            key_id=werkpad.identity.key_id,
            party="werkpad",
        )
        return werkpad.respond(request, signed, now=clock())

    with respx.mock() as mock:
        route = mock.post("http://werkpad.test/federation/v1/ledger/proposals")
        route.mock(side_effect=countersign)
        (result,) = asyncio.run(cli_settlement._close(settings, "2026-Q4"))
        assert route.call_count == 1
    assert (result.status, result.counterparty) == ("countersigned", "werkpad")
    assert result.entry is not None
    assert result.entry["type"] == "settlement.closed"
    assert result.message is not None
    assert result.message.state == "answered"
    with Session(engine) as session:
        closed = session.exec(select(LedgerEntry).where(LedgerEntry.type == "settlement.closed"))
        assert len(closed.all()) == 1


@pytest.mark.usefixtures("ledger_q4")
def test_netting_proposal_names_who_answered(
    client: TestClient, finance: Headers, unreachable: respx.MockRouter
) -> None:
    sign_in(client, finance)
    page = client.get("/financien/2026-Q4/verrekening")
    assert page.status_code == 200, page.text
    assert "Verrekening 2026-Q4" in page.text
    assert page.text.count('class="betaalopdracht"') == 1
    assert "Geen betalingen voor Baanbrekers." in page.text
    assert '<span class="badge bad">nee</span>' in page.text
    assert unreachable.calls


def test_finance_pages_are_for_finance_and_admins(
    client: TestClient, consultant: Headers, finance: Headers
) -> None:
    sign_in(client, consultant)
    for path in ("/financien", "/financien/2026-Q4/export.csv", "/financien/2026-Q4/verrekening"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "Met uw rol hebt u geen toegang tot deze pagina." in refused.text
    sign_in(client, finance)
    assert client.get("/federatie").status_code == 403
    assert client.get("/financien").status_code == 200


def test_forms_without_csrf_are_refused(
    client: TestClient, finance: Headers, admin: Headers
) -> None:
    sign_in(client, finance)
    assert client.post("/financien/2026-Q4/afsluiten", data={}).status_code == 403
    sign_in(client, admin)
    assert client.post("/federatie/synchroniseren", data={}).status_code == 403
    assert client.post("/federatie/afspraken/2026-1/tekenen", data={"csrf": "0"}).status_code == 403


@pytest.mark.usefixtures("werkpad")
def test_admin_sees_peers_alarms_and_syncs(
    client: TestClient,
    admin: Headers,
    engine: Engine,
    settings: Settings,
    clock: FrozenClock,
    unreachable: respx.MockRouter,
) -> None:
    origin = ledger.log_origin("baanbrekers")
    signer = note.NoteSigner(origin, identity.load_identity(settings).private_key)
    with db.transaction(engine) as session:
        ledger.checkpoint(session, signer=signer, origin=origin, now=clock())
        session.add(Cosignature(witness="werkpad", size=0, line=b"-", received_at=clock()))
        session.add(
            WitnessAlarm(
                node_id="werkpad",
                kind="equivocation",
                detail="two roots for size 4",
                evidence=b"{}",
                raised_at=clock(),
            )
        )
    sign_in(client, admin)
    page = client.get("/federatie")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<code>werkpad</code>" in text
    assert "nog niet gesynchroniseerd" in text  # never tried: not a green badge
    assert "actief" not in text
    assert "nooit" in text  # never synchronised yet
    assert "twee verschillende logboeken" in text
    assert "two roots for size 4" in text
    assert "30 november 2026 10:00" in text  # raised at 09:00 UTC, shown on Amsterdam time
    assert "Laatste controlepunt: 0 regels." in text
    assert re.search(r"Bevestigd door getuigen:\s*Werkpad", text)
    synced = client.post("/federatie/synchroniseren", data={"csrf": csrf_of(text)})
    assert synced.status_code == 200
    assert "Resultaat van de synchronisatie" in synced.text
    assert '<span class="badge bad">mislukt</span>' in synced.text
    assert unreachable.calls


def test_the_federation_page_and_the_api_show_each_peers_real_state(
    client: TestClient, admin: Headers, engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    now = clock()
    for node_id in ("bereik", "traag", "plat", "nooit", "geschorst", "nieuw"):
        FakePeer.make(node_id, now).install(settings.peers_dir)
    PeerRegistry(settings.peers_dir, own_node_id="baanbrekers").set_status(
        "geschorst", PeerStatus.suspended
    )
    records = {
        "bereik": (0, now - timedelta(seconds=30)),
        "traag": (0, now - timedelta(hours=3)),
        "plat": (4, datetime(2026, 11, 30, 8, 5, tzinfo=UTC)),
        "nooit": (2, None),
        "geschorst": (0, now - timedelta(seconds=30)),
    }
    with db.transaction(engine) as session:
        for node_id, (failures, success) in records.items():
            session.add(
                PeerSyncState(
                    node_id=node_id,
                    failures=failures,
                    last_success_at=success,
                    last_error="connection refused" if failures else None,
                    last_error_at=now if failures else None,
                )
            )
    api = client.get("/api/v1/peers", headers=admin).json()["peers"]
    assert {p["node_id"]: p["state"] for p in api} == {
        "bereik": "reachable",
        "traag": "lagging",
        "plat": "unreachable",
        "nooit": "unreachable",
        "geschorst": "suspended",
        "nieuw": "pending",
    }
    assert next(p for p in api if p["node_id"] == "plat")["state_since"].startswith(
        "2026-11-30T08:05"
    )
    sign_in(client, admin)
    text = client.get("/federatie").text
    assert '<span class="badge good">bereikbaar</span>' in text
    assert '<span class="badge warn">vertraagd</span>' in text
    assert "onbereikbaar sinds 30 november 2026 09:05 (Nederlandse tijd)" in text
    assert "onbereikbaar, nog nooit bereikt" in text
    assert '<span class="badge muted">geschorst</span>' in text
    assert "nog niet gesynchroniseerd" in text
    assert "4 keer achter elkaar mislukt" in text
    assert text.count('class="badge good"') == 1  # only the peer that answers is green
    client.post("/taal", data={"lang": "en", "next": "/federatie"})
    english = client.get("/federatie").text
    assert "unreachable since 30 November 2026 09:05 (Dutch time)" in english
    assert '<span class="badge warn">lagging</span>' in english


def test_admin_signs_an_agreement_werkpad_proposed(
    client: TestClient, admin: Headers, engine: Engine, clock: FrozenClock, werkpad: FakePeer
) -> None:
    three = agreement_document(members=["baanbrekers", "stapverder", "werkpad"], licences=[])
    install_agreement(engine, three, werkpad, now=clock())
    sign_in(client, admin)
    page = client.get("/federatie")
    assert "Ondertekenen namens Baanbrekers" in page.text
    assert 'action="/federatie/afspraken/2026-1/tekenen"' in page.text
    signed = client.post("/federatie/afspraken/2026-1/tekenen", data={"csrf": csrf_of(page.text)})
    assert signed.status_code == 200, signed.text
    assert "2026-1 is namens dit bureau ondertekend" in signed.text
    assert "Wacht nog op: stapverder." in signed.text
    assert re.search(r"<td>Baanbrekers, Werkpad</td>\s*<td>stapverder</td>", signed.text)
    assert "Ondertekenen namens" not in signed.text
    unknown = client.post("/federatie/afspraken/2099-9/tekenen", data={"csrf": csrf_of(page.text)})
    assert unknown.status_code == 404


@pytest.mark.usefixtures("ledger_q4")
def test_the_pages_work_in_english(client: TestClient, admin: Headers) -> None:
    sign_in(client, admin)
    client.post("/taal", data={"lang": "en", "next": "/"})
    assert "Statement 2026-Q4" in client.get("/financien").text
    assert "Witness alarms" in client.get("/federatie").text


def test_every_text_of_these_pages_has_a_dutch_translation() -> None:
    dutch = i18n.translations("nl")
    folder = resources.files("topmatch.web") / "templates"
    missing = set()
    for name in ("finance.html", "finance_netting.html", "federation.html"):
        source = (folder / name).read_bytes()
        for _, message, _, _ in extract(
            "jinja2.ext:babel_extract",
            io.BytesIO(source),
            options={"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"},
        ):
            if isinstance(message, tuple):  # a plural: both forms translated
                if dutch.ngettext(message[0], message[1], 2) == message[1]:
                    missing.add(message[1])
            elif message and dutch.gettext(message) == message:
                missing.add(message)
    assert missing == set()


def test_line_types_read_as_the_dutch_exports_name_them_and_in_english() -> None:
    dutch, english = i18n.translations("nl"), i18n.translations("en")
    assert {kind: dutch.gettext(msgid) for kind, msgid in finance_pages.LINE_TYPES.items()} == (
        dict(exports.SOORT)
    )
    assert english.gettext(finance_pages.LINE_TYPES["placement.voided"]) == "Reversal"
