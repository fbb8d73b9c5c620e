"""vacancy driving licences: the licence categories the work requires

Published as required skills ("Rijbewijs C"), so the wire format does not change; matching
names a licence the client lacks (issue 15, item 2).

Revision ID: 0012_vacancy_licences
Revises: 0011_client_hours
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_vacancy_licences"
down_revision: str | None = "0011_client_hours"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cardbox_vacancy") as batch:
        batch.add_column(
            sa.Column("driving_licences", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("cardbox_vacancy") as batch:
        batch.drop_column("driving_licences")
