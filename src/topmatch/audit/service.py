"""Recording and reading audit events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from topmatch.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the audit trail names them (an account name, or ``cli:<user>``)."""

    name: str


class Action(StrEnum):
    read = "read"
    list = "list"
    create = "create"
    update = "update"
    erase = "erase"
    lookup = "lookup"
    revoke = "revoke"
    query = "query"


def record(
    *,
    session: Session,
    now: datetime,
    actor: str,
    action: Action,
    entity: str,
    entity_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an event to the current transaction: it is kept exactly when the change is."""
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=action.value,
            entity=entity,
            entity_id=entity_id,
            detail=detail or {},
        )
    )


def events(
    *, session: Session, entity_id: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc())
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    return session.exec(query.offset(offset).limit(limit)).all()
