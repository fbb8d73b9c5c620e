"""Federation tables: the replica of every node's openings, sync state, seen nonces."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, String, Text, false
from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class SeenNonce(SQLModel, table=True):
    """Nonces of signed requests we accepted, kept as long as their signatures are fresh."""

    __tablename__ = "federation_nonce"

    key_id: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(sa_type=UtcDateTime(), nullable=False, index=True)


RANKING_COLUMNS = (
    "lat",
    "lon",
    "deleted",
    "origin",
    "summary_id",
    "type",
    "title",
    "isco08",
    "nlqf",
    "hours_min",
    "hours_max",
    "contract_type",
    "municipality",
    "start_date",
    "updated_at",
)


class ReplicaSummary(SQLModel, table=True):
    """One opening of one node (peers' and our own) as last published by its origin.

    ``body`` is the summary exactly as validated; the other columns are copies of its
    fields that lists filter on. A tombstone keeps the row (``deleted``) so that an older
    upsert can never bring it back.
    """

    __tablename__ = "federation_summary"
    # A covering index for ranking (topmatch.matching): the retrieval query reads only
    # these columns, never the wide row with its body (migration 0005).
    __table_args__ = (Index("ix_federation_summary_rank", *RANKING_COLUMNS),)

    origin: str = Field(primary_key=True, max_length=63)
    summary_id: str = Field(primary_key=True, max_length=26)
    type: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    version: int
    deleted: bool = Field(default=False)
    title: str = Field(max_length=200)
    municipality: str = Field(max_length=100, index=True)
    contract_type: str | None = Field(default=None, max_length=20)
    hours_min: int
    hours_max: int
    # Copies for ranking without parsing every body (see topmatch.matching).
    isco08: str | None = Field(default=None, max_length=4, index=True)
    nlqf: int | None = None
    start_date: date | None = None
    lat: float | None = Field(default=None, index=True)
    lon: float | None = None
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    search_words: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    received_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)


class PeerSyncState(SQLModel, table=True):
    """Where we are in one node's feed, and how the last attempts went."""

    __tablename__ = "federation_sync_state"

    node_id: str = Field(primary_key=True, max_length=63)
    cursor: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_success_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_error_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_error: str | None = Field(default=None, max_length=500)
    failures: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # The circuit breaker's state (topmatch.federation.breaker): closed, open, half_open.
    circuit: str = Field(default="closed", max_length=10)


class OutboxMessage(SQLModel, table=True):
    """One message this node sends a peer on its own initiative (docs/adr/0013-outbox.md).

    Written in the same transaction as the state change that causes it; the delivery
    worker sends it. ``seq`` orders each peer's queue (first in, first out);
    ``message_id`` travels with the message (signed, in the target URI) so that the
    receiver applies it once however often it arrives.
    """

    __tablename__ = "federation_outbox"

    seq: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=32, unique=True)
    peer: str = Field(max_length=63, index=True)
    kind: str = Field(max_length=40, description="e.g. introduction.request")
    path: str = Field(max_length=300)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    reference: str | None = Field(default=None, max_length=64, index=True)
    state: str = Field(max_length=12, index=True, description="queued, sent, delivered, ...")
    attempts: int = 0
    created_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: an attempt may have reached the peer (a timeout, a lost answer, any answer): a
    #: cancel then has to tell the peer; False while every attempt failed to connect
    reached: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ReceivedMessage(SQLModel, table=True):
    """A peer's message that we applied: a second copy of it is answered, not applied."""

    __tablename__ = "federation_received"

    peer: str = Field(primary_key=True, max_length=63)
    message_id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=40)
    received_at: datetime = Field(sa_type=UtcDateTime(), nullable=False)
