"""requirements: the driving licences and Dutch level a vacancy asks, a client's Dutch level

A vacancy's licences and Dutch level are published as required skills ("Rijbewijs C",
"Nederlands B1"), so the wire format does not change; matching names what a client lacks
(issue 15, item 2).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cardbox_vacancy") as batch:
        batch.add_column(
            sa.Column("driving_licences", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("dutch_level", sa.String(length=2), nullable=True))
    with op.batch_alter_table("cardbox_client") as batch:
        batch.add_column(sa.Column("dutch_level", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cardbox_client") as batch:
        batch.drop_column("dutch_level")
    with op.batch_alter_table("cardbox_vacancy") as batch:
        batch.drop_column("dutch_level")
        batch.drop_column("driving_licences")
