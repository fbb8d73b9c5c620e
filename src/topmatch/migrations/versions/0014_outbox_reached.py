"""outbox: whether an attempt may have reached the peer

A cancelled request that may have reached the other bureau is withdrawn there too (the
simulation found one accepted there after it was cancelled here); one that never got a
connection is not. Messages queued before this migration count as not reached.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("federation_outbox") as batch:
        batch.add_column(
            sa.Column("reached", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_outbox") as batch:
        batch.drop_column("reached")
