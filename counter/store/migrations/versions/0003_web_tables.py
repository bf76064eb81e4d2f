"""Web tables: console and API sessions, login lockouts, rate-limit buckets

Revision ID: 0003_web_tables
Revises: 0002_local_adapters
Create Date: 2026-11-25 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import counter.store.columns

revision = "0003_web_tables"
down_revision = "0002_local_adapters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_web_session_username"), "web_session", ["username"], unique=False)
    op.create_table(
        "web_login_attempts",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", counter.store.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", counter.store.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "web_rate_bucket",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("window_start", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("web_rate_bucket")
    op.drop_table("web_login_attempts")
    op.drop_index(op.f("ix_web_session_username"), table_name="web_session")
    op.drop_table("web_session")
