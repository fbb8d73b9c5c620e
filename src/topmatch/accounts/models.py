"""Account table: tokens are stored only as their SHA-256 hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class Role(StrEnum):
    consultant = "consultant"
    finance = "finance"
    admin = "admin"


class User(SQLModel, table=True):
    __tablename__ = "account_user"

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=32)
    name: str = Field(max_length=100, unique=True)
    role: Role = Field(sa_column=Column(String(20), nullable=False))
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
