"""Ledger proposals through the durable outbox (docs/adr/0013-outbox.md): a placement
proposed while the other bureau's node is down is queued and shown as such, delivered once
it is back, and its countersigned entry appended once however often the answer arrives; a
refusal fails the message with the reason; each peer's queue shows in the API, /metrics
and the web app; a proposal received twice is countersigned once.

In process: our node (baanbrekers) through the test client, the peer (werkpad) as a
signing fake behind respx that is down (connection refused) or up (it countersigns); the
clock is frozen and moved.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from tests.factories import FrozenClock, agreement_document, agreement_ref, web_sign_in
from tests.fednodes import FakePeer, install_agreement
from topmatch import db
from topmatch.federation import outbox, signatures
from topmatch.federation.models import OutboxMessage, ReceivedMessage
from topmatch.identity import service as identity
from topmatch.ledger import api as ledger_api
from topmatch.ledger import canonical, flows
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import LedgerEntry, PendingProposal
from topmatch.ledger.schemas import AgreementRef
from topmatch.referrals.models import Introduction
from topmatch.settings import Settings
from topmatch.vocabulary import ContractType

PEER = "http://werkpad.test"
PUBLIC = "http://127.0.0.1:8001"  # our node's public URL (conftest)
PROPOSALS = "/federation/v1/ledger/proposals"
Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


@pytest.fixture
def werkpad(settings: Settings, clock: FrozenClock) -> FakePeer:
    fake = FakePeer.make("werkpad", clock())
    fake.install(settings.peers_dir)
    return fake


@pytest.fixture
def document() -> dict[str, Any]:
    return agreement_document(members=["baanbrekers", "werkpad"], licences=[])


@pytest.fixture
def agreed(
    engine: Engine,
    settings: Settings,
    werkpad: FakePeer,
    clock: FrozenClock,
    document: dict[str, Any],
) -> None:
    """A fee agreement between us and werkpad, signed by both: in force."""
    me = FakePeer(
        "baanbrekers", identity.load_identity(settings), ledger_api.own_descriptor(settings)
    )
    install_agreement(engine, document, me, werkpad, now=clock())


class Werkpad:
    """Werkpad's node as ours sees it: down (connection refused), up (it countersigns
    whatever we propose, or refuses with ``refusal``), or ``lose_answer``: it countersigns
    but the answer never reaches us (a timeout after the fact)."""

    def __init__(self, router: respx.MockRouter, peer: FakePeer, clock: FrozenClock) -> None:
        self.up = False
        self.refusal: tuple[int, str] | None = None
        self.lose_answer = False
        self.received: list[httpx.Request] = []
        self.peer, self.clock = peer, clock
        router.post(f"{PEER}{PROPOSALS}").mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused")
        self.received.append(request)
        if self.refusal is not None:
            status, detail = self.refusal
            return self.peer.respond(request, {"detail": detail}, status=status, now=self.clock())
        signed = canonical.sign_entry(
            json.loads(request.content),
            key=self.peer.identity.private_key,
            key_id=self.peer.identity.key_id,
            party="werkpad",
        )
        if self.lose_answer:
            self.lose_answer = False
            raise httpx.ReadTimeout("the answer was lost")
        return self.peer.respond(request, signed, now=self.clock())

    def message_ids(self) -> list[str]:
        return [r.url.params["message_id"] for r in self.received]


@pytest.fixture
def network(werkpad: FakePeer, clock: FrozenClock) -> Iterator[Werkpad]:
    with respx.mock(assert_all_called=False) as router:
        yield Werkpad(router, werkpad, clock)


def _accepted(engine: Engine, clock: FrozenClock, n: int = 1) -> str:
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


def _placement(intro: str) -> dict[str, Any]:
    return {
        "counterparty": "werkpad",
        "we_are": "payee",
        "introduction_id": intro,
        "summary_id": "v" * 26,
        "client_id": intro,
        "start_date": "2026-11-02",
        "contract_type": "tijdelijk",
        "hours_per_week": 24,
    }


def _deliver(client: TestClient, admin: Headers) -> list[dict[str, Any]]:
    response = client.post("/api/v1/outbox/deliver", headers=admin)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def _entries(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(LedgerEntry)).one()


def _proposals(client: TestClient, consultant: Headers) -> dict[str, dict[str, Any]]:
    listed = client.get("/api/v1/ledger/proposals", headers=consultant).json()
    return {p["entry_id"]: p for p in listed}


def _werkpad_row(client: TestClient, consultant: Headers) -> dict[str, Any]:
    peers = client.get("/api/v1/peers", headers=consultant).json()["peers"]
    row: dict[str, Any] = next(p for p in peers if p["node_id"] == "werkpad")
    return row


def test_a_placement_proposed_while_the_peer_is_down_is_countersigned_once_it_is_back(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    network: Werkpad,
) -> None:
    intro = _accepted(engine, clock)
    proposed = client.post("/api/v1/ledger/placements", json=_placement(intro), headers=consultant)
    assert proposed.status_code == 202, proposed.text
    result = proposed.json()
    # the request did not wait for werkpad; the kick after the commit found it down
    assert result["status"] == "pending"
    assert result["message"]["state"] == "queued"
    assert _entries(engine) == 0
    shown = _proposals(client, consultant)[result["entry_id"]]
    assert shown["status"] == "pending"
    assert shown["message"]["state"] == "queued"
    assert "werkpad (http://werkpad.test)" in shown["message"]["last_error"]
    row = _werkpad_row(client, consultant)
    assert row["queued"] == 1
    assert row["oldest_queued_at"] is not None
    assert row["next_delivery_at"] is not None

    network.up = True
    assert _deliver(client, admin) == []  # its next attempt is not due yet
    clock.advance(minutes=2)
    (done,) = _deliver(client, admin)
    assert done["state"] == "answered"
    shown = _proposals(client, consultant)[result["entry_id"]]
    assert (shown["status"], shown["message"]["state"]) == ("countersigned", "answered")
    assert _entries(engine) == 1
    assert _werkpad_row(client, consultant)["queued"] == 0

    # proposing the same placement again queues nothing and answers the signed entry
    again = client.post("/api/v1/ledger/placements", json=_placement(intro), headers=consultant)
    assert again.json()["status"] == "countersigned"
    assert {s["party"] for s in again.json()["entry"]["signatures"]} == {
        "baanbrekers",
        "werkpad",
    }
    clock.advance(hours=2)
    assert _deliver(client, admin) == []
    assert len(network.received) == 1
    with Session(engine) as session:
        placed = session.get(Introduction, intro)
        assert placed is not None
        assert placed.state == "placed"


def test_an_answer_lost_on_the_way_is_asked_again_and_appended_once(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    network: Werkpad,
) -> None:
    network.up, network.lose_answer = True, True
    intro = _accepted(engine, clock)
    result = client.post(
        "/api/v1/ledger/placements", json=_placement(intro), headers=consultant
    ).json()
    assert result["message"]["state"] == "queued"  # werkpad signed; we never heard
    clock.advance(minutes=2)
    (done,) = _deliver(client, admin)
    assert done["state"] == "answered"
    # the same message (one id) went twice: werkpad deduplicates by it
    assert len(network.message_ids()) == 2
    assert len(set(network.message_ids())) == 1
    assert _entries(engine) == 1


def test_a_second_answer_to_a_countersigned_proposal_changes_nothing(
    client: TestClient,
    consultant: Headers,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    network: Werkpad,
    settings: Settings,
    werkpad: FakePeer,
) -> None:
    network.up = True
    intro = _accepted(engine, clock)
    client.post("/api/v1/ledger/placements", json=_placement(intro), headers=consultant)
    assert _entries(engine) == 1
    with db.transaction(engine) as session:
        message = session.exec(select(OutboxMessage)).one()
        row = session.get(PendingProposal, message.reference or "")
        assert row is not None
        signed = canonical.sign_entry(
            json.loads(row.signed),
            key=werkpad.identity.private_key,
            key_id=werkpad.identity.key_id,
            party="werkpad",
        )
        answer = outbox.Answer(status=200, body=json.dumps(signed).encode(), at=clock())
        book = KeyBook([ledger_api.own_descriptor(settings), werkpad.descriptor])
        problem = flows.proposal_answered(session, message, answer, me="baanbrekers", book=book)
    assert problem is None
    assert _entries(engine) == 1


def test_a_refused_proposal_fails_its_message_with_the_reason(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    network: Werkpad,
) -> None:
    network.up, network.refusal = True, (422, "no such introduction here")
    intro = _accepted(engine, clock)
    result = client.post(
        "/api/v1/ledger/placements", json=_placement(intro), headers=consultant
    ).json()
    assert result["status"] == "pending"  # answered before werkpad was asked
    shown = _proposals(client, consultant)[result["entry_id"]]
    assert shown["status"] == "refused"
    assert "no such introduction here" in shown["last_error"]
    assert shown["message"]["state"] == "failed"
    assert "weigert (HTTP 422)" in shown["message"]["last_error"]
    failed = client.get("/api/v1/outbox/failed", headers=admin).json()
    assert [f["kind"] for f in failed] == [flows.PROPOSAL]
    assert _entries(engine) == 0

    # sent again as it is: werkpad still refuses; nothing left to resend then
    resent = client.post(
        f"/api/v1/ledger/proposals/{result['entry_id']}/resend", headers=consultant
    )
    assert resent.status_code == 202, resent.text
    assert resent.json()["status"] == "pending"
    assert _proposals(client, consultant)[result["entry_id"]]["status"] == "refused"
    assert len(network.received) == 2

    # proposed again once werkpad agrees: signed anew, queued, countersigned
    network.refusal = None
    again = client.post("/api/v1/ledger/placements", json=_placement(intro), headers=consultant)
    assert again.status_code == 202
    assert _proposals(client, consultant)[result["entry_id"]]["status"] == "countersigned"
    assert _entries(engine) == 1
    nothing = client.post(
        f"/api/v1/ledger/proposals/{result['entry_id']}/resend", headers=consultant
    )
    assert nothing.status_code == 409


def test_each_peers_queue_shows_in_metrics_and_on_the_federation_page(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    network: Werkpad,
) -> None:
    for n in (1, 2):
        intro = _accepted(engine, clock, n)
        client.post("/api/v1/ledger/placements", json=_placement(intro), headers=consultant)
    metrics = client.get("/metrics", headers=admin).text
    assert 'topmatch_outbox_queued{peer="werkpad"} 2.0' in metrics
    token = admin["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200
    page = client.get("/federatie").text
    assert "2 berichten wachten in de wachtrij" in page


def _from_werkpad(
    client: TestClient, werkpad: FakePeer, clock: FrozenClock, body: bytes, mid: str
) -> httpx.Response:
    target = f"{PROPOSALS}?message_id={mid}"
    headers = signatures.sign_request(
        method="POST",
        url=PUBLIC + target,
        body=body,
        key=werkpad.identity.private_key,
        key_id=werkpad.identity.key_id,
        created=int(clock().timestamp()),
        nonce=secrets.token_urlsafe(8),
    )
    return client.post(
        target, content=body, headers={**headers, "Content-Type": "application/json"}
    )


def test_a_proposal_received_twice_is_countersigned_and_logged_once(
    client: TestClient,
    agreed: None,
    engine: Engine,
    clock: FrozenClock,
    werkpad: FakePeer,
    document: dict[str, Any],
) -> None:
    intro = _accepted(engine, clock)
    proposal = flows.PlacementProposal(
        counterparty="baanbrekers",
        we_are="payer",
        introduction_id=intro,
        summary_id="v" * 26,
        client_id="their-client",
        start_date=date(2026, 11, 2),
        contract_type=ContractType.tijdelijk,
        hours_per_week=24,
    )
    entry = flows.build_placement(
        proposal,
        me="werkpad",
        secret=b"werkpad's own secret",
        now=clock(),
        agreement=AgreementRef(**agreement_ref(document)),
        amount_cents=150_000,
    )
    body = canonical.canonical(flows.sign_as(entry, werkpad.identity, "werkpad"))
    first = _from_werkpad(client, werkpad, clock, body, "m" * 32)
    assert first.status_code == 200, first.text
    second = _from_werkpad(client, werkpad, clock, body, "m" * 32)
    third = _from_werkpad(client, werkpad, clock, body, "n" * 32)  # a new id, same entry
    assert first.json() == second.json() == third.json()  # the entry as both signed it
    assert {s["party"] for s in first.json()["signatures"]} == {"werkpad", "baanbrekers"}
    assert _entries(engine) == 1
    with Session(engine) as session:
        received = session.exec(select(ReceivedMessage)).all()
    assert sorted(r.message_id for r in received) == ["m" * 32, "n" * 32]
