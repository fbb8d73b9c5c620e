"""Settlement tables: the fee agreements this node knows, with their members' signatures."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class FeeAgreementRecord(SQLModel, table=True):
    """One version of a fee agreement: its signed body (RFC 8785 bytes, never changed once
    stored) and the signatures collected so far. In force once every member signed."""

    __tablename__ = "fee_agreement"

    version: str = Field(primary_key=True, max_length=40)
    sha256: str = Field(max_length=64)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signatures: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    valid_from: date
    valid_to: date | None = None
    in_force: bool = False
    proposed_by: str = Field(max_length=63)
    created_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
