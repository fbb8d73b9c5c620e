"""The durable outbox (docs/adr/0013-outbox.md): introductions, decisions and handovers
made while the other bureau's node is down are queued, shown as such, delivered once it is
back (each exactly once), and given up on with an alarm after the horizon; resend and
cancel; one introduction however often the same request is sent.

In process: our node's app through the test client, the peer (werkpad) as a signing fake
behind respx that is down (connection refused) or up; the clock is frozen and moved.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from tests.factories import FrozenClock, client_data, employer_data, vacancy_data, web_sign_in
from tests.fednodes import FakePeer
from topmatch import db
from topmatch.federation import outbox, signatures
from topmatch.federation.models import OutboxMessage, ReceivedMessage
from topmatch.identity import keys
from topmatch.identity import service as identity
from topmatch.matching.schemas import AnonymousCandidate
from topmatch.publishing.models import PublishedRecord
from topmatch.referrals import sealed
from topmatch.referrals import service as referrals_service
from topmatch.referrals.models import Introduction
from topmatch.referrals.schemas import (
    Handover,
    IntroductionDecision,
    IntroductionRequest,
    IntroductionWithdrawal,
)
from topmatch.settings import Settings

PEER = "http://werkpad.test"
PUBLIC = "http://127.0.0.1:8001"  # our node's public URL (conftest)
Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


@pytest.fixture
def werkpad(settings: Settings, clock: FrozenClock) -> FakePeer:
    """The other bureau, with an encryption key (it can receive sealed contact details)."""
    fake = FakePeer.make("werkpad", clock())
    public = X25519PrivateKey.generate().public_key().public_bytes_raw()
    fake.descriptor = fake.descriptor.model_copy(update={"encryption_key": keys.b64url(public)})
    fake.install(settings.peers_dir)
    return fake


class Network:
    """Werkpad's node as our node sees it: down (connection refused) or up (it answers
    every POST with a signed 200); every call it received, in order."""

    def __init__(self, router: respx.MockRouter, peer: FakePeer, clock: FrozenClock) -> None:
        self.up = False
        self.lose_answers = False
        self.status = 200
        self.received: list[httpx.Request] = []
        self.peer, self.clock = peer, clock
        router.post(url__startswith=PEER).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused")
        self.received.append(request)
        if self.lose_answers:  # it arrived; the answer did not come back
            raise httpx.ReadError("connection reset while reading the answer")
        return self.peer.respond(request, {"ok": True}, status=self.status, now=self.clock())

    def paths(self) -> list[str]:
        return [r.url.path for r in self.received]

    def message_ids(self) -> list[str]:
        return [parse_qs(urlsplit(str(r.url)).query)["message_id"][0] for r in self.received]


@pytest.fixture
def network(werkpad: FakePeer, clock: FrozenClock) -> Iterator[Network]:
    with respx.mock(assert_all_called=False) as router:
        yield Network(router, werkpad, clock)


@pytest.fixture
def vacancy(client: TestClient, consultant: Headers) -> dict[str, Any]:
    employer = client.post("/api/v1/employers", json=employer_data(), headers=consultant).json()
    created = client.post(
        "/api/v1/vacancies", json=vacancy_data(employer["id"], published=True), headers=consultant
    )
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def _ask(
    client: TestClient, consultant: Headers, vacancy: dict[str, Any], key: str | None = None
) -> httpx.Response:
    """Ask werkpad for its candidate for our vacancy."""
    headers = {**consultant, **({"Idempotency-Key": key} if key else {})}
    body = {
        "peer": "werkpad",
        "kind": "candidate_for_vacancy",
        "vacancy_id": vacancy["id"],
        "handle": "c-" + "7" * 32,
    }
    return client.post("/api/v1/introductions", json=body, headers=headers)


def _incoming(engine: Engine, vacancy: dict[str, Any], clock: FrozenClock) -> str:
    """Werkpad asks for an introduction of its client for our opening (received)."""
    with db.transaction(engine) as session:
        row = Introduction(
            id="e" * 32,
            peer="werkpad",
            role="responder",
            kind="client_for_opening",
            state="requested",
            vacancy_id=vacancy["id"],
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(row)
    return "e" * 32


def _deliver(client: TestClient, admin: Headers) -> list[dict[str, Any]]:
    response = client.post("/api/v1/outbox/deliver", headers=admin)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def _messages(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.seq)).all())  # type: ignore[arg-type]


def test_made_while_the_peer_is_down_queued_then_each_delivered_once(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    clock: FrozenClock,
    network: Network,
) -> None:
    asked = _ask(client, consultant, vacancy, key="k-1")
    assert asked.status_code == 202, asked.text
    request = asked.json()
    # The kick after the commit tried once and failed: queued, with the reason.
    listed = {i["id"]: i for i in client.get("/api/v1/introductions", headers=consultant).json()}
    shown = listed[request["id"]]["message"]
    assert shown["kind"] == "introduction.request"
    assert shown["state"] == "queued"
    assert shown["attempts"] == 1
    assert "werkpad" in shown["last_error"]
    incoming = _incoming(engine, vacancy, clock)
    decided = client.post(
        f"/api/v1/introductions/{incoming}/decision", json={"accept": True}, headers=consultant
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "accepted"
    assert decided.json()["message"]["state"] == "queued"  # our sealed part, behind the decision
    assert decided.json()["handover_sent"] is False
    assert network.received == []

    network.up = True
    _deliver(client, admin)  # too early: the backoff holds the queue
    assert network.received == []
    clock.advance(hours=2)
    done = _deliver(client, admin)
    assert [d["state"] for d in done] == ["delivered"] * 3
    assert network.paths() == [  # first in, first out
        "/federation/v1/introductions",
        f"/federation/v1/introductions/{incoming}/decision",
        f"/federation/v1/introductions/{incoming}/handover",
    ]
    assert len(set(network.message_ids())) == 3
    assert json.loads(network.received[1].content)["decision"] == "accepted"
    clock.advance(hours=2)
    assert _deliver(client, admin) == []  # nothing is sent twice
    assert len(network.received) == 3
    listed = {i["id"]: i for i in client.get("/api/v1/introductions", headers=consultant).json()}
    assert listed[request["id"]]["message"]["state"] == "delivered"
    assert listed[incoming]["message"]["state"] == "delivered"
    assert listed[incoming]["handover_sent"] is True


def test_the_same_idempotency_key_makes_one_introduction(
    client: TestClient,
    consultant: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    network: Network,
) -> None:
    first = _ask(client, consultant, vacancy, key="dubbelklik")
    again = _ask(client, consultant, vacancy, key="dubbelklik")
    assert first.json()["id"] == again.json()["id"]
    other = _ask(client, consultant, vacancy, key="een-ander")
    assert other.json()["id"] != first.json()["id"]
    assert len(client.get("/api/v1/introductions", headers=consultant).json()) == 2
    assert len(_messages(engine)) == 2  # one queued request per introduction


def test_a_double_submitted_form_makes_one_introduction(
    client: TestClient,
    consultant: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    network: Network,
) -> None:
    token = consultant["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200
    page = client.get("/voorstellen")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf is not None
    form = {
        "csrf": csrf.group(1),
        "kind": "candidate_for_vacancy",
        "vacancy_id": vacancy["id"],
        "peer": "werkpad",
        "handle": "c-" + "7" * 32,
        "idempotency_key": secrets.token_hex(16),
    }
    first = client.post("/voorstellen/nieuw", data=form)
    second = client.post("/voorstellen/nieuw", data=form)
    assert first.status_code == second.status_code == 200
    assert "staat in de wachtrij voor Werkpad" in first.text
    assert "in de wachtrij</span>" in second.text
    assert "Werkpad was nog niet bereikbaar" in second.text
    with Session(engine) as session:
        assert len(session.exec(select(Introduction)).all()) == 1


def _from_werkpad(
    client: TestClient, werkpad: FakePeer, clock: FrozenClock, path: str, body: bytes, mid: str
) -> httpx.Response:
    target = f"{path}?message_id={mid}"
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


def test_a_message_received_twice_is_applied_once(
    client: TestClient,
    consultant: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    clock: FrozenClock,
    werkpad: FakePeer,
    network: Network,
) -> None:
    ours = _ask(client, consultant, vacancy).json()["id"]
    decision = IntroductionDecision(id=ours, decision="accepted").model_dump_json().encode()
    path = f"/federation/v1/introductions/{ours}/decision"
    for _ in range(2):  # at least once on the wire ...
        answer = _from_werkpad(client, werkpad, clock, path, decision, "a" * 32)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "accepted"
    with Session(engine) as session:  # ... exactly once in effect
        received = session.exec(select(ReceivedMessage)).all()
        assert [(r.peer, r.kind) for r in received] == [("werkpad", "introduction.decision")]
    kinds = [m.kind for m in _messages(engine)]
    assert kinds == ["introduction.request", "introduction.handover"]  # one handover queued
    request = next(m for m in _messages(engine) if m.kind == "introduction.request")
    assert request.state == "answered"
    # A request sent twice with the same message id makes one introduction here too.
    asked = IntroductionRequest(
        id="f" * 32,
        kind="client_for_opening",
        summary_id=_summary(engine, vacancy),
        client=AnonymousCandidate(
            handle="c-" + "8" * 32,
            score=80,
            explanation="orderpicken",
            hours_per_week=24,
            region="Midden-Brabant",
            age_band="27-35",
        ),
    )
    for _ in range(2):
        answer = _from_werkpad(
            client,
            werkpad,
            clock,
            "/federation/v1/introductions",
            asked.model_dump_json().encode(),
            "b" * 32,
        )
        assert answer.status_code == 200, answer.text
    with Session(engine) as session:
        assert session.get(Introduction, "f" * 32) is not None
        assert len(session.exec(select(ReceivedMessage)).all()) == 2


def _summary(engine: Engine, vacancy: dict[str, Any]) -> str:
    with Session(engine) as session:
        published = session.exec(
            select(PublishedRecord).where(PublishedRecord.record_id == vacancy["id"])
        ).one()
        return published.summary_id


def test_past_the_horizon_failed_with_an_alarm_then_resent_or_cancelled(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    clock: FrozenClock,
    network: Network,
) -> None:
    intro = _ask(client, consultant, vacancy).json()["id"]
    assert (
        client.post(f"/api/v1/introductions/{intro}/resend", headers=consultant).status_code == 409
    )
    clock.advance(days=7, seconds=1)  # the default horizon: 7 days
    done = _deliver(client, admin)
    assert [(d["kind"], d["state"]) for d in done] == [("introduction.request", "failed")]
    alarms = client.get("/api/v1/outbox/failed", headers=admin).json()
    assert [a["message_id"] for a in alarms] == [_messages(engine)[0].message_id]
    assert "werkpad" in alarms[0]["detail"]
    assert 'topmatch_outbox_messages{state="failed"} 1.0' in client.get("/metrics").text
    token = admin["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200
    assert "Niet afgeleverde berichten" in client.get("/federatie").text
    page = client.get("/voorstellen")
    assert "mislukt</span>" in page.text
    assert f'action="/voorstellen/{intro}/opnieuw"' in page.text

    network.up = True
    resent = client.post(f"/api/v1/introductions/{intro}/resend", headers=consultant)
    assert resent.status_code == 200, resent.text
    assert resent.json()["message"]["state"] == "queued"  # as committed ...
    listed = {i["id"]: i for i in client.get("/api/v1/introductions", headers=consultant).json()}
    assert listed[intro]["message"]["state"] == "delivered"  # ... then kicked after the commit
    assert len(network.received) == 1

    network.up = False
    second = _ask(client, consultant, vacancy).json()["id"]
    cancelled = client.post(f"/api/v1/introductions/{second}/cancel", headers=consultant)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["message"]["state"] == "cancelled"
    network.up = True
    clock.advance(hours=2)
    _deliver(client, admin)
    assert len(network.received) == 1  # a cancelled message is never sent
    again = client.post(f"/api/v1/introductions/{second}/cancel", headers=consultant)
    assert again.status_code == 409


def test_a_cancel_after_a_lost_answer_withdraws_it_at_the_peer_too(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    clock: FrozenClock,
    network: Network,
) -> None:
    """A request that may have arrived (its answer was lost) is withdrawn at the peer
    when our consultant cancels it; one that never got a connection is not (above)."""
    network.up, network.lose_answers = True, True
    intro = _ask(client, consultant, vacancy).json()["id"]
    assert network.paths() == ["/federation/v1/introductions"]  # it arrived
    (request,) = _messages(engine)
    assert request.state == "queued"
    assert request.reached
    cancelled = client.post(f"/api/v1/introductions/{intro}/cancel", headers=consultant)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    network.lose_answers = False
    clock.advance(hours=2)
    _deliver(client, admin)
    assert network.paths()[-1] == f"/federation/v1/introductions/{intro}/withdrawal"
    assert json.loads(network.received[-1].content) == {"id": intro}
    states = [(m.kind, m.state) for m in _messages(engine)]
    assert states == [
        ("introduction.request", "cancelled"),
        ("introduction.withdrawal", "delivered"),
    ]


def test_a_withdrawal_cancels_what_we_were_asked_and_keeps_late_copies_out(
    client: TestClient, vacancy: dict[str, Any], engine: Engine, clock: FrozenClock
) -> None:
    """Werkpad withdraws: ours is cancelled whatever we decided, what we had queued about
    it is not sent; a withdrawal that overtook its request keeps the id cancelled."""
    intro = _incoming(engine, vacancy, clock)
    with db.transaction(engine) as session:
        referrals_service.withdrawal_received(
            session, IntroductionWithdrawal(id=intro), peer="werkpad", now=clock()
        )
        early = referrals_service.withdrawal_received(
            session, IntroductionWithdrawal(id="f" * 32), peer="werkpad", now=clock()
        )
        assert early.state == "cancelled"
    with Session(engine) as session:
        assert session.get(Introduction, intro).state == "cancelled"  # type: ignore[union-attr]


def test_one_peers_trouble_does_not_hold_another_peers_queue(
    engine: Engine, clock: FrozenClock
) -> None:
    """Each peer's queue is claimed on its own: a waiting head holds only its own peer."""
    horizon = timedelta(days=7)
    with db.transaction(engine) as session:
        for peer in ("werkpad", "kansrijk", "werkpad"):
            outbox.enqueue(
                session,
                peer=peer,
                kind="test",
                path="/x",
                body=b"{}",
                reference=None,
                now=clock(),
                horizon=horizon,
            )
    lease = timedelta(seconds=30)
    head = outbox.claim_next(engine, "werkpad", now=clock(), lease=lease)
    assert head is not None
    assert head.seq == 1
    assert outbox.claim_next(engine, "werkpad", now=clock(), lease=lease) is None  # in flight
    other = outbox.claim_next(engine, "kansrijk", now=clock(), lease=lease)
    assert other is not None
    assert other.seq == 2
    clock.advance(seconds=31)  # a claim whose worker died runs out
    again = outbox.claim_next(engine, "werkpad", now=clock(), lease=lease)
    assert again is not None
    assert (again.seq, again.attempts) == (1, 2)


def test_a_refused_message_fails_at_once_and_holds_no_queue(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    vacancy: dict[str, Any],
    network: Network,
) -> None:
    network.up, network.status = True, 409  # werkpad refuses (a 4xx): no use retrying
    refused = _ask(client, consultant, vacancy).json()["id"]
    network.status = 200
    accepted = _ask(client, consultant, vacancy).json()["id"]
    listed = {i["id"]: i for i in client.get("/api/v1/introductions", headers=consultant).json()}
    assert listed[refused]["message"]["state"] == "failed"
    assert "HTTP 409" in listed[refused]["message"]["last_error"]
    assert listed[accepted]["message"]["state"] == "delivered"
    assert len(network.received) == 2  # each sent once
    failed = client.get("/api/v1/outbox/failed", headers=admin).json()
    assert [f["kind"] for f in failed] == ["introduction.request"]


def test_the_web_page_cancels_and_resends(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    vacancy: dict[str, Any],
    clock: FrozenClock,
    network: Network,
) -> None:
    first = _ask(client, consultant, vacancy).json()["id"]
    second = _ask(client, consultant, vacancy).json()["id"]
    token = consultant["Authorization"].removeprefix("Bearer ")
    assert web_sign_in(client, token).status_code == 200
    page = client.get("/voorstellen")
    assert page.text.count("Versturen annuleren") == 2
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf is not None
    cancelled = client.post(f"/voorstellen/{first}/annuleren", data={"csrf": csrf.group(1)})
    assert cancelled.status_code == 200
    assert "Het bericht aan Werkpad is geannuleerd" in cancelled.text
    clock.advance(days=8)
    _deliver(client, admin)  # the second passes its horizon
    network.up = True
    page = client.get("/voorstellen")
    assert f'action="/voorstellen/{second}/opnieuw"' in page.text
    assert f'action="/voorstellen/{first}/opnieuw"' not in page.text
    resent = client.post(f"/voorstellen/{second}/opnieuw", data={"csrf": csrf.group(1)})
    assert "Het bericht staat weer in de wachtrij voor Werkpad" in resent.text
    assert network.paths() == ["/federation/v1/introductions"]  # the second, once
    assert "afgeleverd</span>" in client.get("/voorstellen").text


@given(
    copies=st.lists(st.sampled_from(["decision", "handover"]), min_size=2, max_size=8).filter(
        lambda c: c[0] == "decision" and "handover" in c
    )
)
@examples(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_any_number_of_copies_has_the_effect_of_one(
    client: TestClient,
    consultant: Headers,
    vacancy: dict[str, Any],
    engine: Engine,
    clock: FrozenClock,
    werkpad: FakePeer,
    network: Network,
    settings: Settings,
    copies: list[str],
) -> None:
    """Werkpad's decision and handover, each arriving any number of times (after the
    first decision, in any order): one decision, one handover kept, one handover of ours
    queued in return."""
    ours = _ask(client, consultant, vacancy).json()["id"]
    context = f"topmatch handover v1\nwerkpad\nbaanbrekers\n{ours}\nclient".encode()
    recipient = identity.load_encryption_key(settings).public_key()
    boxes = []
    for _ in range(2):  # two sealings of the same part differ (fresh ephemeral keys)
        box = sealed.seal(b'{"first_name": "Sanne"}', recipient=recipient, context=context)
        boxes.append(base64.b64encode(box).decode())
    bodies = {
        "decision": IntroductionDecision(id=ours, decision="accepted").model_dump_json(),
        "handover": Handover(id=ours, part="client", sealed=boxes[0]).model_dump_json(),
    }
    ids = {"decision": secrets.token_hex(16), "handover": secrets.token_hex(16)}
    for copy in copies:
        path = f"/federation/v1/introductions/{ours}/{copy}"
        body = bodies[copy].encode()
        answer = _from_werkpad(client, werkpad, clock, path, body, ids[copy])
        assert answer.status_code == 200, answer.text
    # Sealed anew under another message id (the peer's outbox lost track): the first stays.
    again = Handover(id=ours, part="client", sealed=boxes[1]).model_dump_json().encode()
    path = f"/federation/v1/introductions/{ours}/handover"
    fresh = secrets.token_hex(16)
    assert _from_werkpad(client, werkpad, clock, path, again, fresh).status_code == 200
    with Session(engine) as session:
        row = session.get(Introduction, ours)
        assert row is not None
        assert row.state == "accepted"
        assert row.handover_in == base64.b64decode(boxes[0])
        received = session.exec(
            select(ReceivedMessage).where(col(ReceivedMessage.message_id).in_(ids.values()))
        ).all()
        assert len(received) == 2
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.reference == ours)).all()
        assert sorted(m.kind for m in queued) == ["introduction.handover", "introduction.request"]


def test_erasing_a_client_cancels_the_handover_not_yet_delivered(
    client: TestClient,
    consultant: Headers,
    admin: Headers,
    engine: Engine,
    clock: FrozenClock,
    network: Network,
) -> None:
    ours = client.post("/api/v1/clients", json=client_data(), headers=consultant).json()["id"]
    with db.transaction(engine) as session:  # werkpad asked for our client (a handle we gave)
        session.add(
            Introduction(
                id="d" * 32,
                peer="werkpad",
                role="responder",
                kind="candidate_for_vacancy",
                state="requested",
                client_id=ours,
                handle="c-" + "9" * 32,
                created_at=clock(),
                updated_at=clock(),
            )
        )
    decided = client.post(
        f"/api/v1/introductions/{'d' * 32}/decision",
        json={"accept": True, "client_consents": True},
        headers=consultant,
    )
    assert decided.status_code == 200, decided.text
    assert client.delete(f"/api/v1/clients/{ours}", headers=consultant).status_code == 204
    handover = next(m for m in _messages(engine) if m.kind == "introduction.handover")
    assert (handover.state, handover.body) == ("cancelled", b"")
    network.up = True
    clock.advance(hours=2)
    _deliver(client, admin)
    assert network.paths() == [f"/federation/v1/introductions/{'d' * 32}/decision"]
