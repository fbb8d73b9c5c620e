"""durable outbox: outbound messages, received message ids, idempotent introductions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from topmatch.dbtypes import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sa.String


def upgrade() -> None:
    op.create_table(
        "federation_outbox",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message_id", _str(length=32), nullable=False),
        sa.Column("peer", _str(length=63), nullable=False),
        sa.Column("kind", _str(length=40), nullable=False),
        sa.Column("path", _str(length=300), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("reference", _str(length=64), nullable=True),
        sa.Column("state", _str(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("federation_outbox") as batch:
        batch.create_index(batch.f("ix_federation_outbox_peer"), ["peer"], unique=False)
        batch.create_index(batch.f("ix_federation_outbox_reference"), ["reference"], unique=False)
        batch.create_index(batch.f("ix_federation_outbox_state"), ["state"], unique=False)
    op.create_table(
        "federation_received",
        sa.Column("peer", _str(length=63), nullable=False),
        sa.Column("message_id", _str(length=32), nullable=False),
        sa.Column("kind", _str(length=40), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("peer", "message_id"),
    )
    with op.batch_alter_table("referral_introduction") as batch:
        batch.add_column(sa.Column("idempotency_key", _str(length=64), nullable=True))
        batch.create_unique_constraint(
            "uq_referral_introduction_idempotency_key", ["idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_introduction") as batch:
        batch.drop_constraint("uq_referral_introduction_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
    op.drop_table("federation_received")
    with op.batch_alter_table("federation_outbox") as batch:
        batch.drop_index(batch.f("ix_federation_outbox_state"))
        batch.drop_index(batch.f("ix_federation_outbox_reference"))
        batch.drop_index(batch.f("ix_federation_outbox_peer"))
    op.drop_table("federation_outbox")
