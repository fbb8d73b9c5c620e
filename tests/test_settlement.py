"""Fee agreements, pricing, statements and closing: the rules finance relies on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import FrozenClock, agreement_document, agreement_ref
from tests.fednodes import FakePeer, install_agreement
from topmatch import db
from topmatch.errors import ConflictError, InputError, TooEarlyError
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import ENTRY_FORMAT, EntryBody, entry_id_for
from topmatch.settlement import agreement as pricing
from topmatch.settlement import service as settlement
from topmatch.settlement import statement as statements
from topmatch.settlement.periods import add_months, local_date, parse_period
from topmatch.settlement.schemas import FeeAgreement

TERMS = FeeAgreement.model_validate_json(json.dumps(agreement_document()))
KEY = (TERMS.version, pricing.sha256(TERMS))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def placement(n: int, day: str, *, payer: str = "alfa", payee: str = "bravo") -> EntryBody:
    return EntryBody.model_validate_json(
        json.dumps(
            {
                "format": ENTRY_FORMAT,
                "entry_id": entry_id_for("placement.started", f"intro-{n:04d}"),
                "type": "placement.started",
                "at": at(day).isoformat(),
                "proposer": payer,
                "payer": payer,
                "payee": payee,
                "amount_cents": 150_000,
                "agreement": agreement_ref(),
                "placement": {
                    "introduction_id": f"intro-{n:04d}",
                    "summary_id": "v-" + "a" * 24,
                    "client_ref": "cd" * 32,
                    "start_date": "2026-05-04",
                    "contract_type": "tijdelijk",
                    "hours_per_week": 24,
                },
            }
        )
    )


def event(of: EntryBody, kind: str, day: str, amount: int = 0, key: str = "1") -> EntryBody:
    data: dict[str, Any] = {
        "format": ENTRY_FORMAT,
        "entry_id": entry_id_for(kind, f"{of.entry_id}:{key}", of.entry_id),
        "type": kind,
        "refers_to": of.entry_id,
        "at": at(day).isoformat(),
        "proposer": of.payer,
        "payer": of.payer,
        "payee": of.payee,
        "amount_cents": amount,
        "reason": "test",
    }
    if kind in {"placement.retained", "placement.adjusted"}:
        data["agreement"] = agreement_ref()
    return EntryBody.model_validate_json(json.dumps(data))


def bilateral(entries: list[EntryBody], period: str) -> Any:
    return statements.bilateral(
        entries, parties=("alfa", "bravo"), period=parse_period(period), agreements={KEY: TERMS}
    )


def test_pricing_rounds_as_documented() -> None:
    odd = TERMS.model_copy(update={"start_share_bp": 3333})
    assert pricing.start_part(odd, 100_001) == 33_330  # 33330.3333 -> half up
    assert pricing.start_part(odd, 100_001) + pricing.retention_part(odd, 100_001) == 100_001
    assert pricing.vat(150_000, 2100) == 31_500
    assert pricing.vat(5, 2100) == 1  # 1.05 -> 1
    assert pricing.vat(-150_001, 2100) == -pricing.vat(150_001, 2100)
    assert pricing.placement_fee(TERMS, "vast", 32) == 450_000
    with pytest.raises(pricing.PricingError, match="no placement fee for oproep"):
        pricing.placement_fee(TERMS, "oproep", 12)


def test_agreement_validation_names_the_problem() -> None:
    with pytest.raises(ValueError, match="overlap"):
        FeeAgreement.model_validate_json(
            json.dumps(
                agreement_document(
                    placement_fees=[
                        {"contract_type": "vast", "min_hours": 0, "max_hours": 30, "fee_cents": 1},
                        {"contract_type": "vast", "min_hours": 30, "max_hours": 40, "fee_cents": 2},
                    ]
                )
            )
        )
    with pytest.raises(ValueError, match="EUR"):
        FeeAgreement.model_validate_json(json.dumps(agreement_document(currency="USD")))


def test_periods_follow_the_amsterdam_calendar() -> None:
    q4 = parse_period("2026-Q4")
    assert (q4.start, q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)
    assert parse_period("2026-11").end == date(2026, 12, 1)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    with pytest.raises(ValueError, match="neither a quarter"):
        parse_period("2026-Q5")


def test_statement_books_excludes_releases_and_reverses() -> None:
    kept = placement(1, "2026-10-05")
    retained = event(kept, "placement.retained", "2026-11-10", 150_000)
    voided_same = placement(2, "2026-10-06")
    disputed = placement(3, "2026-10-07")
    reversed_later = placement(4, "2026-10-08")
    entries = [
        kept,
        retained,
        voided_same,
        event(voided_same, "placement.voided", "2026-12-01"),
        disputed,
        event(disputed, "placement.disputed", "2026-12-02"),
        event(disputed, "placement.resolved", "2027-02-01"),
        reversed_later,
        event(reversed_later, "placement.voided", "2027-01-15"),
    ]
    q4 = bilateral(entries, "2026-Q4")
    assert [(x.entry_id, x.amount_cents) for x in q4.lines] == [
        (kept.entry_id, 150_000),
        (reversed_later.entry_id, 150_000),
        (retained.entry_id, 150_000),
    ]
    assert {x.entry_id: x.state for x in q4.excluded} == {
        voided_same.entry_id: "voided",
        disputed.entry_id: "disputed",
    }
    assert (q4.net.payer, q4.net.payee, q4.net.total_cents) == ("alfa", "bravo", 544_500)
    q1 = bilateral(entries, "2027-Q1")
    notes = {x.note: (x.amount_cents, x.date) for x in q1.lines}
    assert notes[statements.RELEASED] == (150_000, date(2027, 2, 1))
    assert notes[statements.REVERSAL] == (-150_000, date(2027, 1, 15))
    assert q1.net.total_cents == 0
    # a dispute that lasts is listed in every period until it ends
    lasting = [e for e in entries if e.type != "placement.resolved"]
    assert [x.state for x in bilateral(lasting, "2027-Q1").excluded] == ["disputed"]
    # the same entries in another order: the same bytes
    again = bilateral(list(reversed(entries)), "2026-Q4")
    assert statements.report_sha256(again) == statements.report_sha256(q4)


def test_statement_needs_the_agreement_an_entry_names() -> None:
    with pytest.raises(statements.StatementError, match="does not hold"):
        statements.bilateral(
            [placement(1, "2026-10-05")],
            parties=("alfa", "bravo"),
            period=parse_period("2026-Q4"),
            agreements={},
        )


@pytest.fixture
def peers(clock: FrozenClock) -> dict[str, FakePeer]:
    return {n: FakePeer.make(n, clock()) for n in ("alfa", "bravo", "charlie")}


def test_agreement_is_in_force_once_every_member_signed(
    engine: Engine, clock: FrozenClock, peers: dict[str, FakePeer]
) -> None:
    alfa, bravo, charlie = peers.values()
    book = KeyBook([p.descriptor for p in peers.values()])
    with db.transaction(engine) as session:
        record = settlement.propose_agreement(
            session, agreement_document(), me="bravo", node=bravo.identity, now=clock()
        )
        assert not record.in_force
        # alfa's copy, signed by alfa and charlie, arrives: the signatures are merged
        copy = settlement.document(record).model_dump(mode="json")
        from topmatch.ledger import canonical  # noqa: PLC0415

        body = {k: v for k, v in copy.items() if k != "signatures"}
        for peer in (alfa, charlie):
            body = canonical.sign_entry(
                body, key=peer.identity.private_key, key_id=peer.identity.key_id, party=peer.node_id
            )
        forged = canonical.sign_entry(
            {k: v for k, v in copy.items() if k != "signatures"},
            key=FakePeer.make("alfa", clock()).identity.private_key,
            key_id=alfa.identity.key_id,
            party="alfa",
        )
        note = settlement.merge_agreement(
            session,
            settlement.parse_agreement(forged),
            me="bravo",
            book=book,
            now=clock(),
        )
        assert "unchanged" in note
        note = settlement.merge_agreement(
            session, settlement.parse_agreement(body), me="bravo", book=book, now=clock()
        )
        assert "signed by alfa, charlie" in note
        assert settlement.get_agreement(session, "2026-1").in_force
        changed = {**body, "vat_rate_bp": 900}
        assert "other terms" in settlement.merge_agreement(
            session, settlement.parse_agreement(changed), me="bravo", book=book, now=clock()
        )


def test_overlapping_and_changed_versions_are_refused(
    engine: Engine, clock: FrozenClock, peers: dict[str, FakePeer]
) -> None:
    install_agreement(engine, agreement_document(), *peers.values(), now=clock())
    alfa = peers["alfa"]
    with pytest.raises(ConflictError, match="overlaps in time"), db.transaction(engine) as session:
        settlement.propose_agreement(
            session,
            agreement_document(version="2027-1", valid_from="2027-06-01", valid_to=None),
            me="alfa",
            node=alfa.identity,
            now=clock(),
        )
    with pytest.raises(ConflictError, match="already exists"), db.transaction(engine) as session:
        settlement.propose_agreement(
            session, agreement_document(vat_rate_bp=900), me="alfa", node=alfa.identity, now=clock()
        )
    with (
        pytest.raises(InputError, match="not among the members"),
        db.transaction(engine) as session,
    ):
        settlement.propose_agreement(
            session,
            agreement_document(
                version="2028-1",
                valid_from="2028-01-01",
                valid_to=None,
                members=["bravo", "charlie"],
                licences=[],
            ),
            me="alfa",
            node=alfa.identity,
            now=clock(),
        )
    with db.transaction(engine) as session:
        assert [r.version for r in settlement.agreements(session)] == ["2026-1"]


def test_entries_are_priced_by_their_agreement(
    engine: Engine, clock: FrozenClock, peers: dict[str, FakePeer]
) -> None:
    with db.transaction(engine) as session, pytest.raises(TooEarlyError, match="unknown fee"):
        settlement.expected_amount(session, placement(1, "2026-11-30"))
    install_agreement(engine, agreement_document(), peers["alfa"], now=clock())
    with db.transaction(engine) as session, pytest.raises(TooEarlyError, match="not signed by"):
        settlement.expected_amount(session, placement(1, "2026-11-30"))
    with db.transaction(engine) as session:
        for peer in ("bravo", "charlie"):
            settlement.sign_agreement(
                session, "2026-1", me=peer, node=peers[peer].identity, now=clock()
            )
    with db.transaction(engine) as session:
        assert settlement.expected_amount(session, placement(1, "2026-11-30")) == 150_000
        with pytest.raises(InputError, match="not valid on 2028-01-03"):
            settlement.expected_amount(session, placement(1, "2028-01-03"))


def test_statements_refuse_future_periods_and_closing_waits_for_the_end(
    engine: Engine, clock: FrozenClock
) -> None:
    with db.transaction(engine) as session:
        with pytest.raises(InputError, match="has not started yet"):
            settlement.statement(session, me="alfa", period_name="2027-Q1", now=clock())
        made, _ = settlement.statement(session, me="alfa", period_name="2026-Q4", now=clock())
        assert made.counterparties == []
        with pytest.raises(InputError, match="once it is over"):
            settlement.closing_entry(
                session, me="alfa", counterparty="bravo", period_name="2026-Q4", now=clock()
            )


def test_a_draft_only_its_proposer_signed_cannot_block_our_agreements(
    engine: Engine, clock: FrozenClock, peers: dict[str, FakePeer]
) -> None:
    alfa, bravo, _ = peers.values()
    book = KeyBook([p.descriptor for p in peers.values()])
    from topmatch.ledger import canonical  # noqa: PLC0415

    squat = pricing.body(
        settlement.parse_agreement(
            agreement_document(version="squat", valid_from="1900-01-01", valid_to=None)
        )
    )
    signed = canonical.sign_entry(
        squat, key=alfa.identity.private_key, key_id=alfa.identity.key_id, party="alfa"
    )
    with db.transaction(engine) as session:
        note = settlement.merge_agreement(
            session, settlement.parse_agreement(signed), me="bravo", book=book, now=clock()
        )
        assert "new" in note
        ours = settlement.propose_agreement(
            session, agreement_document(), me="bravo", node=bravo.identity, now=clock()
        )
        assert ours.version == "2026-1"
        with pytest.raises(ConflictError, match="overlaps in time"):
            settlement.sign_agreement(
                session, "squat", me="bravo", node=bravo.identity, now=clock()
            )


def test_a_reference_that_is_a_bsn_never_enters_the_ledger() -> None:
    from topmatch.ledger.schemas import LicenceFacts  # noqa: PLC0415

    with pytest.raises(ValueError, match="must not be a BSN"):
        LicenceFacts.model_validate_json(
            '{"reference": "111222333", "method": "training", "participants": 1}'
        )
    assert (
        LicenceFacts.model_validate_json(
            '{"reference": "cursus-7", "method": "training", "participants": 1}'
        ).reference
        == "cursus-7"
    )
