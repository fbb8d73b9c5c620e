"""Publishing tables: what we last published per record, and our feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class PublishedRecord(SQLModel, table=True):
    """The last state we published for one card-box record (vacancy or baanopening)."""

    __tablename__ = "publishing_record"

    summary_id: str = Field(primary_key=True, max_length=26)
    kind: str = Field(sa_column=Column(String(12), nullable=False))
    record_id: str = Field(max_length=32, unique=True)
    version: int
    digest: str = Field(max_length=64, description="SHA-256 of the published content")
    live: bool = Field(description="False once a tombstone was published")


class SuppressedName(SQLModel, table=True):
    """Keyed digest of one name word of an erased client (see anonymise.word_digest)."""

    __tablename__ = "publishing_suppressed_name"

    digest: str = Field(primary_key=True, max_length=64)


class FeedEntry(SQLModel, table=True):
    """One item of our own feed. Append-only: a change is a new entry with a higher seq."""

    __tablename__ = "publishing_feed"
    # Sequence numbers are never reused, even after compaction deletes the newest row.
    __table_args__ = {"sqlite_autoincrement": True}

    seq: int | None = Field(default=None, primary_key=True)
    summary_id: str = Field(max_length=26, index=True)
    op: str = Field(sa_column=Column(String(10), nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
