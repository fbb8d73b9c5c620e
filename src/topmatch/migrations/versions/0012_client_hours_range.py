"""client hours as a range: hours_min and hours_max, filled from hours_per_week

The old single figure stays readable; a client recorded at 36 hours becomes 36-36, which
matching now treats as a wish with a soft penalty around it (issue 15, item 1).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cardbox_client") as batch:
        batch.add_column(sa.Column("hours_min", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("hours_max", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE cardbox_client SET hours_min = hours_per_week, hours_max = hours_per_week "
        "WHERE hours_per_week IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("cardbox_client") as batch:
        batch.drop_column("hours_max")
        batch.drop_column("hours_min")
