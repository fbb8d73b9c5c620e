"""ledger proposals travel in the outbox: queue a message for every pending proposal

Until now the ledger round resent pending proposals itself; that loop is gone
(docs/adr/0013-outbox.md). A proposal still pending when a node is upgraded gets its
outbox message here, so nothing that waited is dropped silently.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:30:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from topmatch.dbtypes import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: as topmatch.ledger.flows (a migration keeps its own copy: the code may move on)
KIND = "ledger.proposal"
PATH = "/federation/v1/ledger/proposals"
#: the default outbox horizon (settings.outbox_horizon_days)
HORIZON = timedelta(days=7)

proposal = sa.table(
    "ledger_proposal",
    sa.column("entry_id", sa.String),
    sa.column("counterparty", sa.String),
    sa.column("signed", sa.LargeBinary),
    sa.column("status", sa.String),
)
message = sa.table(
    "federation_outbox",
    sa.column("message_id", sa.String),
    sa.column("peer", sa.String),
    sa.column("kind", sa.String),
    sa.column("path", sa.String),
    sa.column("body", sa.LargeBinary),
    sa.column("reference", sa.String),
    sa.column("state", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", UtcDateTime()),
    sa.column("expires_at", UtcDateTime()),
    sa.column("next_attempt_at", UtcDateTime()),
)


def upgrade() -> None:
    bind = op.get_bind()
    queued = {
        row.reference
        for row in bind.execute(
            sa.select(message.c.reference).where(
                message.c.kind == KIND, message.c.state.in_(["queued", "sent"])
            )
        )
    }
    now = datetime.now(UTC)
    for row in bind.execute(
        sa.select(proposal.c.entry_id, proposal.c.counterparty, proposal.c.signed)
        .where(proposal.c.status == "pending")
        .order_by(proposal.c.entry_id)
    ).all():
        if row.entry_id in queued:
            continue
        bind.execute(
            message.insert().values(
                message_id=uuid.uuid4().hex,
                peer=row.counterparty,
                kind=KIND,
                path=PATH,
                body=row.signed,
                reference=row.entry_id,
                state="queued",
                attempts=0,
                created_at=now,
                expires_at=now + HORIZON,
                next_attempt_at=now,
            )
        )


def downgrade() -> None:
    """The old resend loop finds pending proposals again by itself; the messages go."""
    op.execute(
        message.delete().where(message.c.kind == KIND, message.c.state.in_(["queued", "sent"]))
    )
