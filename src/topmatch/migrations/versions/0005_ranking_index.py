"""covering index for ranking: retrieval never reads the wide replica rows

The skills (JSON) are not in the index: PostgreSQL has no b-tree operator class for json.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "lat",
    "lon",
    "deleted",
    "origin",
    "summary_id",
    "type",
    "title",
    "isco08",
    "nlqf",
    "hours_min",
    "hours_max",
    "contract_type",
    "municipality",
    "start_date",
    "updated_at",
]


def upgrade() -> None:
    # A boolean index only misleads the planner (SQLite chose it and scanned every row).
    op.drop_index("ix_federation_summary_deleted", "federation_summary")
    op.create_index("ix_federation_summary_rank", "federation_summary", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_federation_summary_rank", "federation_summary")
    op.create_index("ix_federation_summary_deleted", "federation_summary", ["deleted"])
