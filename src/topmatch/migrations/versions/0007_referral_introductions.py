"""referral introductions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:06:29.093310
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_introduction",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("peer", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=True),
        sa.Column("vacancy_id", sa.String(length=32), nullable=True),
        sa.Column("summary_id", sa.String(length=26), nullable=True),
        sa.Column("handle", sa.String(length=80), nullable=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("handover_in", sa.LargeBinary(), nullable=True),
        sa.Column("handover_sent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_introduction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_introduction_peer"), ["peer"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referral_introduction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_introduction_peer"))

    op.drop_table("referral_introduction")
