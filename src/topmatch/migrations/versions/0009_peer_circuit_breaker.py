"""peer circuit breaker: the state of each peer's circuit in its sync record

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("federation_sync_state") as batch:
        batch.add_column(
            sa.Column("circuit", sa.String(length=10), nullable=False, server_default="closed")
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_sync_state") as batch:
        batch.drop_column("circuit")
