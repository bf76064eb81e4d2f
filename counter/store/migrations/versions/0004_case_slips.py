"""Slip tables: each printed slip's PDF and hash, and the template texts it came from

Revision ID: 0004_case_slips
Revises: 0003_web_tables
Create Date: 2026-11-25 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import counter.store.columns

revision = "0004_case_slips"
down_revision = "0003_web_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slip_template_version",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("slip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("stored_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "case_slip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("copy_number", sa.Integer(), nullable=False),
        sa.Column("fmt", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "template_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["teller_case.reference"]),
        sa.ForeignKeyConstraint(["template_version"], ["slip_template_version.digest"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference", "copy_number", name="uq_case_slip_copy"),
    )


def downgrade() -> None:
    op.drop_table("case_slip")
    op.drop_table("slip_template_version")
