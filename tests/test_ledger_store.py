"""The ledger tables are append-only in the database itself, not only in our code."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.factories import FrozenClock
from topmatch import db
from topmatch.ledger.models import LedgerCheckpoint, LedgerEntry


def _entry(clock: FrozenClock, seq: int = 0) -> LedgerEntry:
    return LedgerEntry(
        seq=seq,
        entry_id=f"e{seq}",
        type="placement",
        payer="alfa",
        payee="bravo",
        amount_cents=125_000,
        at=clock(),
        canonical=b"{}",
        leaf_hash="00" * 32,
        appended_at=clock(),
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET amount_cents = 1",
        "DELETE FROM ledger_entry",
        "UPDATE ledger_checkpoint SET root_hash = 'x'",
        "DELETE FROM ledger_checkpoint",
    ],
)
def test_update_and_delete_are_refused_by_the_database(
    engine: Engine, clock: FrozenClock, statement: str
) -> None:
    with db.transaction(engine) as session:
        session.add(_entry(clock))
        session.add(LedgerCheckpoint(size=1, root_hash="ab" * 32, note=b"n", created_at=clock()))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT amount_cents FROM ledger_entry")).scalar() == 125_000
        assert connection.execute(text("SELECT count(*) FROM ledger_checkpoint")).scalar() == 1


def test_appending_is_allowed_and_seq_is_unique(engine: Engine, clock: FrozenClock) -> None:
    with db.transaction(engine) as session:
        session.add(_entry(clock, 0))
        session.add(_entry(clock, 1))
    with pytest.raises(DBAPIError), db.transaction(engine) as session:
        session.add(_entry(clock, 1).model_copy(update={"entry_id": "other"}))
