"""publishing feed, federation replica and sync state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 08:50:41.451133
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federation_nonce",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "nonce"),
    )
    with op.batch_alter_table("federation_nonce", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_nonce_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "federation_summary",
        sa.Column("origin", sa.String(length=63), nullable=False),
        sa.Column("summary_id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("contract_type", sa.String(length=20), nullable=True),
        sa.Column("hours_min", sa.Integer(), nullable=False),
        sa.Column("hours_max", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", "summary_id"),
    )
    with op.batch_alter_table("federation_summary", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federation_summary_deleted"), ["deleted"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_federation_summary_municipality"), ["municipality"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_federation_summary_type"), ["type"], unique=False)

    op.create_table(
        "federation_sync_state",
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("node_id"),
    )
    op.create_table(
        "publishing_feed",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("summary_id", sa.String(length=26), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("publishing_feed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publishing_feed_summary_id"), ["summary_id"], unique=False
        )

    op.create_table(
        "publishing_record",
        sa.Column("summary_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("summary_id"),
        sa.UniqueConstraint("record_id"),
    )
    with op.batch_alter_table("cardbox_baanopening", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("cardbox_vacancy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cardbox_vacancy", schema=None) as batch_op:
        batch_op.drop_column("published")

    with op.batch_alter_table("cardbox_baanopening", schema=None) as batch_op:
        batch_op.drop_column("published")

    op.drop_table("publishing_record")
    with op.batch_alter_table("publishing_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publishing_feed_summary_id"))

    op.drop_table("publishing_feed")
    op.drop_table("federation_sync_state")
    with op.batch_alter_table("federation_summary", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_summary_type"))
        batch_op.drop_index(batch_op.f("ix_federation_summary_municipality"))
        batch_op.drop_index(batch_op.f("ix_federation_summary_deleted"))

    op.drop_table("federation_summary")
    with op.batch_alter_table("federation_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_nonce_seen_at"))

    op.drop_table("federation_nonce")
