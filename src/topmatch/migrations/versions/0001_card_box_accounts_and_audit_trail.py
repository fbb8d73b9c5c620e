"""card-box, accounts and audit trail

Revision ID: 0001
Revises:
Create Date: 2026-11-30 08:40:54.177455
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_user",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_entity_id"), ["entity_id"], unique=False)

    op.create_table(
        "cardbox_client",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("name_prefix", sa.String(length=20), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("bsn_index", sa.String(length=64), nullable=False),
        sa.Column("bsn_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("house_number", sa.String(length=20), nullable=False),
        sa.Column("postcode", sa.String(length=7), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("benefit_type", sa.String(length=20), nullable=False),
        sa.Column("doelgroepregister", sa.Boolean(), nullable=False),
        sa.Column("education_level", sa.String(length=30), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("desired_occupations", sa.JSON(), nullable=False),
        sa.Column("hours_per_week", sa.Integer(), nullable=True),
        sa.Column("max_travel_km", sa.Integer(), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("driving_licences", sa.JSON(), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("consent_share_profile", sa.Boolean(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bsn_index"),
    )
    with op.batch_alter_table("cardbox_client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cardbox_client_municipality"), ["municipality"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cardbox_client_status"), ["status"], unique=False)

    op.create_table(
        "cardbox_employer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kvk_number", sa.String(length=8), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("sector", sa.String(length=1), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("size_class", sa.String(length=10), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kvk_number"),
    )
    op.create_table(
        "cardbox_baanopening",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("employer_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("hours_min", sa.Integer(), nullable=False),
        sa.Column("hours_max", sa.Integer(), nullable=False),
        sa.Column("sector", sa.String(length=1), nullable=False),
        sa.Column("postcode", sa.String(length=7), nullable=True),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("suitable_profile", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["cardbox_employer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cardbox_baanopening", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cardbox_baanopening_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cardbox_baanopening_status"), ["status"], unique=False)

    op.create_table(
        "cardbox_vacancy",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("employer_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("occupation_label", sa.String(length=200), nullable=False),
        sa.Column("occupation_isco08", sa.String(length=4), nullable=True),
        sa.Column("occupation_esco_uri", sa.String(length=200), nullable=True),
        sa.Column("skills_required", sa.JSON(), nullable=False),
        sa.Column("skills_nice", sa.JSON(), nullable=False),
        sa.Column("education_level", sa.String(length=30), nullable=True),
        sa.Column("hours_min", sa.Integer(), nullable=False),
        sa.Column("hours_max", sa.Integer(), nullable=False),
        sa.Column("contract_type", sa.String(length=20), nullable=False),
        sa.Column("wage_min", sa.Integer(), nullable=True),
        sa.Column("wage_max", sa.Integer(), nullable=True),
        sa.Column("postcode", sa.String(length=7), nullable=True),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("closing_date", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["cardbox_employer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cardbox_vacancy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cardbox_vacancy_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cardbox_vacancy_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cardbox_vacancy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cardbox_vacancy_status"))
        batch_op.drop_index(batch_op.f("ix_cardbox_vacancy_employer_id"))

    op.drop_table("cardbox_vacancy")
    with op.batch_alter_table("cardbox_baanopening", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cardbox_baanopening_status"))
        batch_op.drop_index(batch_op.f("ix_cardbox_baanopening_employer_id"))

    op.drop_table("cardbox_baanopening")
    op.drop_table("cardbox_employer")
    with op.batch_alter_table("cardbox_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cardbox_client_status"))
        batch_op.drop_index(batch_op.f("ix_cardbox_client_municipality"))

    op.drop_table("cardbox_client")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_entity_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
    op.drop_table("account_user")
