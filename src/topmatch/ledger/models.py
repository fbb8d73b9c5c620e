"""Ledger tables. ``ledger_entry`` and ``ledger_checkpoint`` are append-only: no code path
updates or deletes them, and database triggers (migration 0004) refuse it as well."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class LedgerEntry(SQLModel, table=True):
    """One co-signed entry, exactly as signed (RFC 8785 bytes, signatures included).

    ``seq`` is the entry's leaf index in our Merkle log, from 0.
    """

    __tablename__ = "ledger_entry"

    seq: int = Field(primary_key=True)
    entry_id: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=40)
    refers_to: str | None = Field(default=None, max_length=64, index=True)
    payer: str = Field(max_length=63, index=True)
    payee: str = Field(max_length=63, index=True)
    amount_cents: int
    at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    canonical: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: str = Field(max_length=64)
    appended_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)


class LedgerCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note) of our log."""

    __tablename__ = "ledger_checkpoint"

    size: int = Field(primary_key=True)
    root_hash: str = Field(max_length=64)
    note: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)


class PendingProposal(SQLModel, table=True):
    """An entry we signed and proposed, waiting for the counterparty's signature.

    A crash between proposal and countersignature leaves this row, never a half-signed
    entry in the log; the sync worker sends it again until it is countersigned or refused.
    """

    __tablename__ = "ledger_proposal"

    entry_id: str = Field(primary_key=True, max_length=64)
    counterparty: str = Field(max_length=63)
    signed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(max_length=20, description="pending, countersigned or refused")
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)


class WitnessedCheckpoint(SQLModel, table=True):
    """The newest checkpoint of a peer's log that we verified and cosigned."""

    __tablename__ = "ledger_witnessed"

    node_id: str = Field(primary_key=True, max_length=63)
    size: int
    root_hash: str = Field(max_length=64)
    note: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    seen_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)


class WitnessAlarm(SQLModel, table=True):
    """Something a peer's log did that an honest log never does."""

    __tablename__ = "ledger_alarm"

    id: int | None = Field(default=None, primary_key=True)
    node_id: str = Field(max_length=63, index=True)
    kind: str = Field(max_length=30, description="equivocation, rollback, inconsistent, missing")
    detail: str = Field(max_length=1000)
    evidence: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    raised_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)


class Cosignature(SQLModel, table=True):
    """A witness's cosignature of one of our checkpoints (c2sp.org/tlog-cosignature)."""

    __tablename__ = "ledger_cosignature"

    witness: str = Field(primary_key=True, max_length=63)
    size: int = Field(primary_key=True)
    line: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
