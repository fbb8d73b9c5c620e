"""Introductions: one row per introduction on each of the two nodes involved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class Introduction(SQLModel, table=True):
    """An introduction as this node sees it.

    ``handover_in`` is what the other bureau released to us after acceptance, still sealed
    to our X25519 key: it is opened only when a consultant looks at it (audited), and is
    never stored in clear.
    """

    __tablename__ = "referral_introduction"

    id: str = Field(primary_key=True, max_length=32)
    peer: str = Field(max_length=63, index=True)
    role: str = Field(max_length=10, description="requester or responder")
    kind: str = Field(max_length=30, description="client_for_opening or candidate_for_vacancy")
    state: str = Field(max_length=12, description="requested, accepted, declined, placed")
    client_id: str | None = Field(default=None, max_length=32, description="ours, if ours")
    vacancy_id: str | None = Field(default=None, max_length=32, description="ours, if ours")
    summary_id: str | None = Field(default=None, max_length=26)
    handle: str | None = Field(default=None, max_length=80)
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    handover_in: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    handover_sent: bool = False
    idempotency_key: str | None = Field(
        default=None,
        max_length=64,
        unique=True,
        description="the requester's key: a form sent twice makes one introduction",
    )
    created_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
