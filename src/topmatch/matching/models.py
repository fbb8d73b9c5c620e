"""Candidate-query bookkeeping: who asked what (for quotas and the admin), and handles."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from topmatch.dbtypes import UtcDateTime


class CandidateQueryLog(SQLModel, table=True):
    """One candidate query a peer asked us, and what we did with it."""

    __tablename__ = "matching_query_log"

    id: int | None = Field(default=None, primary_key=True)
    asking_peer: str = Field(max_length=63, index=True)
    query_id: str = Field(max_length=64)
    at: datetime = Field(sa_type=UtcDateTime(), nullable=False, index=True)
    status: str = Field(max_length=20, description="answered, too_few or refused")
    answered: int = Field(default=0, description="anonymised profiles sent")
    reason: str | None = Field(default=None, max_length=200)


class CandidateHandle(SQLModel, table=True):
    """The private mapping from a handle we gave out to our client, for a limited time."""

    __tablename__ = "matching_candidate_handle"

    handle: str = Field(primary_key=True, max_length=80)
    client_id: str = Field(max_length=32, index=True)
    asking_peer: str = Field(max_length=63)
    query_id: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UtcDateTime(), nullable=False, index=True)
