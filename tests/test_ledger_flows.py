"""Countersigning and witnessing: the checks a node makes of its peers' ledger claims."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import FrozenClock, agreement_document
from tests.fednodes import FakePeer, install_agreement
from tests.test_ledger import body, cosign
from topmatch import db
from topmatch.errors import ConflictError, InputError
from topmatch.ledger import flows, merkle, note
from topmatch.ledger import service as ledger
from topmatch.ledger.errors import EntrySignatureError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.models import WitnessAlarm
from topmatch.ledger.schemas import entry_id_for
from topmatch.referrals.models import Introduction
from topmatch.settlement import service as settlement


@pytest.fixture
def alfa(clock: FrozenClock) -> FakePeer:
    return FakePeer.make("alfa", clock())


@pytest.fixture
def bravo(clock: FrozenClock) -> FakePeer:
    return FakePeer.make("bravo", clock())


@pytest.fixture(autouse=True)
def fee_agreement(engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer) -> None:
    charlie = FakePeer.make("charlie", clock())
    install_agreement(engine, agreement_document(), alfa, bravo, charlie, now=clock())


@pytest.fixture(autouse=True)
def accepted_introduction(engine: Engine, clock: FrozenClock) -> None:
    """Bravo's record of an accepted introduction with alfa: placements must name one."""
    with db.transaction(engine) as session:
        session.add(
            Introduction(
                id="intro-0001",
                peer="alfa",
                role="responder",
                kind="candidate_for_vacancy",
                state="accepted",
                client_id="c1",
                created_at=clock(),
                updated_at=clock(),
            )
        )


def _countersign(
    engine: Engine,
    clock: FrozenClock,
    proposed: dict[str, Any],
    alfa: FakePeer,
    bravo: FakePeer,
    proposer: str = "alfa",
) -> dict[str, Any]:
    with db.transaction(engine) as session:
        return flows.countersign(
            session,
            proposed,
            proposer=proposer,
            me="bravo",
            node=bravo.identity,
            book=KeyBook([alfa.descriptor, bravo.descriptor]),
            now=clock(),
            policy=lambda s, e: settlement.policy(s, e, me="bravo", now=clock()),
        )


def test_countersigning_checks_then_signs_and_logs(
    engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer
) -> None:
    signed = _countersign(engine, clock, cosign(body(clock), alfa), alfa, bravo)
    assert {s["party"] for s in signed["signatures"]} == {"alfa", "bravo"}
    again = _countersign(engine, clock, cosign(body(clock), alfa), alfa, bravo)
    assert again == signed  # idempotent: the entry as both signed it
    with pytest.raises(ConflictError, match="another amount_cents"):
        _countersign(engine, clock, cosign(body(clock, amount_cents=1), alfa), alfa, bravo)


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("unsigned", EntrySignatureError, "missing alfa"),
        ("sent by another", InputError, "but bravo sent it"),
        ("forged", EntrySignatureError, "is not one of alfa's keys"),
        ("unknown reference", InputError, "refers to"),
        ("no introduction", InputError, "no introduction intro-0002"),
        ("wrong payer", InputError, "expected payer bravo"),
        ("too much", InputError, "above the limit"),
    ],
)
def test_bad_proposals_are_refused_and_nothing_is_logged(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    bravo: FakePeer,
    case: str,
    error: type[Exception],
    message: str,
) -> None:
    proposed = cosign(body(clock), alfa)
    proposer = "alfa"
    if case == "unsigned":
        proposed = body(clock)
    elif case == "sent by another":
        proposer = "bravo"
    elif case == "forged":
        proposed = cosign(body(clock), FakePeer.make("alfa", clock()))
    elif case == "wrong payer":
        proposed = cosign(body(clock, payer="alfa", payee="bravo"), alfa)
    elif case == "too much":
        proposed = cosign(body(clock, amount_cents=5_000_000), alfa)
    elif case == "no introduction":
        proposed = cosign(body(clock, 2), alfa)
    elif case == "unknown reference":
        voided = body(
            clock,
            type="placement.voided",
            refers_to="ef" * 32,
            reason="niet gestart",
            placement=None,
            amount_cents=0,
        )
        proposed = cosign({k: v for k, v in voided.items() if v is not None}, alfa)
    with pytest.raises(error, match=message):
        _countersign(engine, clock, proposed, alfa, bravo, proposer=proposer)
    with db.transaction(engine) as session:
        assert ledger.entries(session) == []


def _log(
    entries: int, clock: FrozenClock, alfa: FakePeer, fork: bool = False
) -> tuple[bytes, list[bytes]]:
    leaves = [
        merkle.leaf_hash(f"{'fork' if fork else 'entry'} {i}".encode()) for i in range(entries)
    ]
    origin = ledger.log_origin("alfa")
    text = note.Checkpoint(origin, entries, merkle.root(leaves)).checkpoint_text()
    return note.sign_note(text, [note.NoteSigner(origin, alfa.identity.private_key)]), leaves


def _witness(
    engine: Engine,
    clock: FrozenClock,
    alfa: FakePeer,
    signed_note: bytes,
    proof: list[bytes] | None = None,
) -> str | None:
    with db.transaction(engine) as session:
        _, problem = flows.check_checkpoint(
            session, peer=alfa.descriptor, signed_note=signed_note, proof=proof, now=clock()
        )
        return problem


def _alarms(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [a.kind for a in session.exec(select(WitnessAlarm)).all()]


def test_witness_accepts_growth_and_alarms_on_misbehaviour(
    engine: Engine, clock: FrozenClock, alfa: FakePeer
) -> None:
    three, _ = _log(3, clock, alfa)
    assert _witness(engine, clock, alfa, three) is None
    five, leaves5 = _log(5, clock, alfa)
    assert _witness(engine, clock, alfa, five, merkle.consistency_proof(leaves5, 3)) is None
    forked, _ = _log(5, clock, alfa, fork=True)
    assert "equivocation" in (_witness(engine, clock, alfa, forked) or "")
    assert "rollback" in (_witness(engine, clock, alfa, three) or "")
    rewritten, rewritten_leaves = _log(7, clock, alfa, fork=True)
    problem = _witness(
        engine, clock, alfa, rewritten, merkle.consistency_proof(rewritten_leaves, 5)
    )
    assert "inconsistent" in (problem or "")
    assert _alarms(engine) == ["equivocation", "rollback", "inconsistent"]


def test_witness_refuses_a_checkpoint_signed_by_someone_else(
    engine: Engine, clock: FrozenClock, alfa: FakePeer
) -> None:
    impostor = FakePeer.make("alfa", clock())
    forged, _ = _log(2, clock, impostor)
    assert "does not verify" in (_witness(engine, clock, alfa, forged) or "")
    assert _alarms(engine) == []


def test_cosignatures_are_verified_before_they_are_kept(
    engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer
) -> None:
    origin = ledger.log_origin("alfa")
    with db.transaction(engine) as session:
        ledger.append(
            session,
            cosign(body(clock), alfa, bravo),
            me="alfa",
            book=KeyBook([alfa.descriptor, bravo.descriptor]),
            now=clock(),
        )
        point = ledger.checkpoint(
            session,
            signer=note.NoteSigner(origin, alfa.identity.private_key),
            origin=origin,
            now=clock(),
        )
    line = flows.cosignature_line(point.note, me="bravo", node=bravo.identity, now=clock())
    with db.transaction(engine) as session:
        flows.store_cosignature(
            session, witness=bravo.descriptor, size=point.size, line=line, now=clock()
        )
    stranger = FakePeer.make("bravo", clock())
    bad = flows.cosignature_line(point.note, me="bravo", node=stranger.identity, now=clock())
    with pytest.raises(InputError, match="does not verify"), db.transaction(engine) as session:
        flows.store_cosignature(
            session, witness=bravo.descriptor, size=point.size, line=bad, now=clock()
        )


def test_countersigning_a_placement_marks_the_introduction_placed(
    engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer
) -> None:
    _countersign(engine, clock, cosign(body(clock), alfa), alfa, bravo)
    with Session(engine) as session:
        intro = session.get(Introduction, "intro-0001")
        assert intro is not None
        assert intro.state == "placed"


def test_an_alarm_seen_again_is_kept_once(
    engine: Engine, clock: FrozenClock, alfa: FakePeer
) -> None:
    five, _ = _log(5, clock, alfa)
    assert _witness(engine, clock, alfa, five) is None
    forked, _ = _log(5, clock, alfa, fork=True)
    _witness(engine, clock, alfa, forked)
    _witness(engine, clock, alfa, forked)
    assert _alarms(engine) == ["equivocation"]


def test_events_must_fit_the_placement_they_refer_to(
    engine: Engine, clock: FrozenClock, alfa: FakePeer, bravo: FakePeer
) -> None:
    placed = _countersign(engine, clock, cosign(body(clock), alfa), alfa, bravo)

    def event(kind: str, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "type": kind,
            "refers_to": placed["entry_id"],
            "placement": None,
            "amount_cents": 0,
            "reason": "na 6 maanden",
            "entry_id": f"{len(kind) + len(str(overrides)):064x}",
            **overrides,
        }
        raw = body(clock, **values)
        return cosign({k: v for k, v in raw.items() if v is not None}, alfa)

    with pytest.raises(InputError, match="payer bravo and payee alfa"):
        _countersign(
            engine,
            clock,
            event("placement.retained", payer="alfa", payee="bravo", amount_cents=150_000),
            alfa,
            bravo,
        )
    with pytest.raises(InputError, match="retention part of the fee: 150000"):
        _countersign(engine, clock, event("placement.retained", amount_cents=1), alfa, bravo)
    _countersign(engine, clock, event("placement.retained", amount_cents=150_000), alfa, bravo)
    with pytest.raises(ConflictError, match="already retained"):
        _countersign(engine, clock, event("placement.voided", reason="toch niet"), alfa, bravo)
    with pytest.raises(ConflictError, match="no open dispute"):
        _countersign(engine, clock, event("placement.resolved", reason="akkoord"), alfa, bravo)
    with pytest.raises(InputError, match="more than its fee"):
        _countersign(engine, clock, event("placement.adjusted", amount_cents=-300_001), alfa, bravo)
    closing = {
        k: v
        for k, v in body(
            clock,
            type="settlement.closed",
            placement=None,
            agreement=None,
            period="2026-Q3",
            statement_sha256="ab" * 32,
            amount_cents=0,
            entry_id=entry_id_for("settlement.closed", "2026-Q3:alfa:bravo"),
        ).items()
        if v is not None
    }
    with pytest.raises(InputError, match="the two ledgers differ"):
        _countersign(engine, clock, cosign(closing, alfa), alfa, bravo)
