"""matching: ranking columns, full-text search, candidate-query log and handles

On SQLite an FTS5 table (external content, kept in step by triggers) indexes the
Snowball-stemmed ``search_text``. On PostgreSQL a generated ``tsvector`` column with the
Dutch configuration indexes ``search_words`` (folded, unstemmed: PostgreSQL stems).
Neither object is part of the SQLModel metadata; ``topmatch.db.include_object`` keeps them
out of schema comparisons.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "federation_summary"

SQLITE_UP = [
    "CREATE VIRTUAL TABLE matching_fts USING fts5(search_text, content='federation_summary', "
    "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER matching_fts_ai AFTER INSERT ON federation_summary BEGIN "
    "INSERT INTO matching_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER matching_fts_ad AFTER DELETE ON federation_summary BEGIN "
    "INSERT INTO matching_fts(matching_fts, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER matching_fts_au AFTER UPDATE ON federation_summary BEGIN "
    "INSERT INTO matching_fts(matching_fts, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO matching_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO matching_fts(matching_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS matching_fts_au",
    "DROP TRIGGER IF EXISTS matching_fts_ad",
    "DROP TRIGGER IF EXISTS matching_fts_ai",
    "DROP TABLE IF EXISTS matching_fts",
]
PG_UP = [
    "ALTER TABLE federation_summary ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('dutch', search_words)) STORED",
    "CREATE INDEX ix_federation_summary_search_vector ON federation_summary "
    "USING gin (search_vector)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_federation_summary_search_vector",
    "ALTER TABLE federation_summary DROP COLUMN IF EXISTS search_vector",
]

COLUMNS: list[sa.Column[Any]] = [
    sa.Column("isco08", sa.String(length=4), nullable=True),
    sa.Column("nlqf", sa.Integer(), nullable=True),
    sa.Column("start_date", sa.Date(), nullable=True),
    sa.Column("lat", sa.Float(), nullable=True),
    sa.Column("lon", sa.Float(), nullable=True),
    sa.Column("skills", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
    sa.Column("search_words", sa.Text(), nullable=False, server_default=""),
]


def _create_query_tables() -> None:
    op.create_table(
        "matching_query_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asking_peer", sa.String(length=63), nullable=False),
        sa.Column("query_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_matching_query_log_asking_peer", "matching_query_log", ["asking_peer"])
    op.create_index("ix_matching_query_log_at", "matching_query_log", ["at"])
    op.create_table(
        "matching_candidate_handle",
        sa.Column("handle", sa.String(length=80), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("asking_peer", sa.String(length=63), nullable=False),
        sa.Column("query_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("handle"),
    )
    op.create_index(
        "ix_matching_candidate_handle_client_id", "matching_candidate_handle", ["client_id"]
    )
    op.create_index(
        "ix_matching_candidate_handle_expires_at", "matching_candidate_handle", ["expires_at"]
    )


def upgrade() -> None:
    _create_query_tables()
    # Compact what was published before: only each summary's latest item stays.
    op.execute(
        "DELETE FROM publishing_feed WHERE seq NOT IN "
        "(SELECT max(seq) FROM publishing_feed GROUP BY summary_id)"
    )
    if op.get_bind().dialect.name == "sqlite":
        # The feed is compacted from now on (a summary's older items are deleted), so its
        # sequence must never hand out a number twice: AUTOINCREMENT on SQLite.
        with op.batch_alter_table(
            "publishing_feed", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    op.create_table(
        "publishing_suppressed_name",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    # Plain ADD COLUMN, not batch mode: on SQLite a batch rebuild would renumber rowids
    # under the FTS index and drop its triggers.
    for column in COLUMNS:
        op.add_column(TABLE, column)
    op.create_index("ix_federation_summary_isco08", TABLE, ["isco08"])
    op.create_index("ix_federation_summary_lat", TABLE, ["lat"])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else PG_UP:
        op.execute(statement)
    # Rows replicated before this revision lack the new columns: resync them from scratch.
    op.execute("UPDATE federation_sync_state SET cursor = 0")
    op.execute("DELETE FROM federation_summary")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else PG_DOWN:
        op.execute(statement)
    op.drop_index("ix_federation_summary_lat", TABLE)
    op.drop_index("ix_federation_summary_isco08", TABLE)
    for column in reversed(COLUMNS):
        op.drop_column(TABLE, column.name)
    op.drop_table("publishing_suppressed_name")
    op.drop_table("matching_candidate_handle")
    op.drop_table("matching_query_log")
