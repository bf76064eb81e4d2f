"""Case migrations, approvals' authority level and escalation, the post-review queue

Revision ID: 0008_authority
Revises: 0007_reservations
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import counter.store.columns

revision = "0008_authority"
down_revision = "0007_reservations"
branch_labels = None
depends_on = None

_String = sqlmodel.sql.sqltypes.AutoString
_When = counter.store.columns.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("level", _String(length=64), nullable=True))
        batch.add_column(sa.Column("escalated_to", _String(length=64), nullable=True))
        batch.add_column(sa.Column("escalated_at", _When(timezone=True), nullable=True))
    op.create_table(
        "case_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow", _String(length=64), nullable=False),
        sa.Column("kind", _String(length=16), nullable=False),
        sa.Column("to_hash", _String(length=64), nullable=True),
        sa.Column("from_hash", _String(length=64), nullable=True),
        sa.Column("reverts", sa.Integer(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("status", _String(length=16), nullable=False),
        sa.Column("prepared_by", _String(length=64), nullable=False),
        sa.Column("prepared_at", _When(timezone=True), nullable=False),
        sa.Column("confirmed_by", _String(length=64), nullable=True),
        sa.Column("confirmed_at", _When(timezone=True), nullable=True),
        sa.Column("finished_at", _When(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["reverts"], ["case_migrations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_migrations_workflow"), "case_migrations", ["workflow"])
    op.create_table(
        "case_migration_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("case_reference", _String(length=40), nullable=False),
        sa.Column("from_hash", _String(length=64), nullable=False),
        sa.Column("to_hash", _String(length=64), nullable=False),
        sa.Column("from_state", _String(length=64), nullable=False),
        sa.Column("to_state", _String(length=64), nullable=False),
        sa.Column("from_pending", sa.JSON(), nullable=True),
        sa.Column("renamed", sa.JSON(), nullable=False),
        sa.Column("version_after", sa.Integer(), nullable=False),
        sa.Column("reverted_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["migration_id"], ["case_migrations.id"]),
        sa.ForeignKeyConstraint(["case_reference"], ["teller_case.reference"]),
        sa.ForeignKeyConstraint(["reverted_by"], ["case_migrations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_case_migration_moves_migration_id"), "case_migration_moves", ["migration_id"]
    )
    op.create_index("ix_case_migration_moves_case", "case_migration_moves", ["case_reference"])
    op.create_table(
        "post_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_reference", _String(length=40), nullable=False),
        sa.Column("branch", _String(length=16), nullable=False),
        sa.Column("day", _String(length=8), nullable=False),
        sa.Column("workflow", _String(length=64), nullable=False),
        sa.Column("reason", _String(length=32), nullable=False),
        sa.Column("status", _String(length=16), nullable=False),
        sa.Column("drawn_at", _When(timezone=True), nullable=False),
        sa.Column("reviewer", _String(length=64), nullable=True),
        sa.Column("reviewed_at", _When(timezone=True), nullable=True),
        sa.Column("issue", sa.Text(), nullable=True),
        sa.Column("answered_by", _String(length=64), nullable=True),
        sa.Column("answered_at", _When(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_reference"], ["teller_case.reference"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_reference"),
    )
    op.create_index("ix_post_reviews_branch_status", "post_reviews", ["branch", "status"])


def downgrade() -> None:
    op.drop_index("ix_post_reviews_branch_status", table_name="post_reviews")
    op.drop_table("post_reviews")
    op.drop_index("ix_case_migration_moves_case", table_name="case_migration_moves")
    op.drop_index(
        op.f("ix_case_migration_moves_migration_id"), table_name="case_migration_moves"
    )
    op.drop_table("case_migration_moves")
    op.drop_index(op.f("ix_case_migrations_workflow"), table_name="case_migrations")
    op.drop_table("case_migrations")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("escalated_to")
        batch.drop_column("level")
