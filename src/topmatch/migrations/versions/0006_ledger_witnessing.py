"""ledger proposals, witnessing and alarms

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:48:07.079022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger_alarm", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_alarm_node_id"), ["node_id"], unique=False)

    op.create_table(
        "ledger_cosignature",
        sa.Column("witness", sa.String(length=63), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("line", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("witness", "size"),
    )
    op.create_table(
        "ledger_proposal",
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("counterparty", sa.String(length=63), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_table(
        "ledger_witnessed",
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node_id"),
    )


def downgrade() -> None:
    op.drop_table("ledger_witnessed")
    op.drop_table("ledger_proposal")
    op.drop_table("ledger_cosignature")
    with op.batch_alter_table("ledger_alarm", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_alarm_node_id"))

    op.drop_table("ledger_alarm")
