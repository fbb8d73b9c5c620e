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
