"""The audit trail. It names records by id and fields by name; it never holds their values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime(), nullable=False, index=True)
    actor: str = Field(max_length=100, description="account name, or 'cli:<user>' for the CLI")
    action: str = Field(max_length=20)
    entity: str = Field(max_length=30)
    entity_id: str | None = Field(default=None, max_length=32, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
