"""Branch day tables: tellers' counter sessions, case handovers, closed days and their reports

Revision ID: 0005_branch_day
Revises: 0004_case_slips
Create Date: 2026-11-25 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import counter.store.columns

revision = "0005_branch_day"
down_revision = "0004_case_slips"
branch_labels = None
depends_on = None

_String = sqlmodel.sql.sqltypes.AutoString
_When = counter.store.columns.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "counter_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch", _String(length=16), nullable=False),
        sa.Column("teller", _String(length=64), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("opened_at", _When(timezone=True), nullable=False),
        sa.Column("closed_at", _When(timezone=True), nullable=True),
        sa.Column("open_teller", _String(length=64), nullable=True),
        sa.Column("open_window", _String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_teller"),
        sa.UniqueConstraint("open_window"),
    )
    op.create_index("ix_counter_session_branch_opened", "counter_session", ["branch", "opened_at"])
    op.create_index(op.f("ix_counter_session_teller"), "counter_session", ["teller"])
    op.create_table(
        "case_session",
        sa.Column("case_reference", _String(length=40), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("responsible", _String(length=64), nullable=False),
        sa.Column("responsible_session_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_reference"], ["teller_case.reference"]),
        sa.ForeignKeyConstraint(["session_id"], ["counter_session.id"]),
        sa.ForeignKeyConstraint(["responsible_session_id"], ["counter_session.id"]),
        sa.PrimaryKeyConstraint("case_reference"),
    )
    op.create_index(op.f("ix_case_session_session_id"), "case_session", ["session_id"])
    op.create_index(op.f("ix_case_session_responsible"), "case_session", ["responsible"])
    op.create_table(
        "case_handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_reference", _String(length=40), nullable=False),
        sa.Column("from_teller", _String(length=64), nullable=False),
        sa.Column("to_teller", _String(length=64), nullable=False),
        sa.Column("offered_at", _When(timezone=True), nullable=False),
        sa.Column("note", _String(length=200), nullable=True),
        sa.Column("status", _String(length=16), nullable=False),
        sa.Column("decided_at", _When(timezone=True), nullable=True),
        sa.Column("pending_case", _String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["case_reference"], ["teller_case.reference"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pending_case"),
    )
    op.create_index(op.f("ix_case_handover_case_reference"), "case_handover", ["case_reference"])
    op.create_index(op.f("ix_case_handover_to_teller"), "case_handover", ["to_teller"])
    op.create_table(
        "branch_day",
        sa.Column("branch", _String(length=16), nullable=False),
        sa.Column("day", _String(length=10), nullable=False),
        sa.Column("closed_at", _When(timezone=True), nullable=False),
        sa.Column("closed_by", _String(length=64), nullable=False),
        sa.Column("report_sha256", _String(length=64), nullable=False),
        sa.Column("report_pdf", sa.LargeBinary(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["branch"], ["branches.code"]),
        sa.PrimaryKeyConstraint("branch", "day"),
    )


def downgrade() -> None:
    op.drop_table("branch_day")
    op.drop_index(op.f("ix_case_handover_to_teller"), table_name="case_handover")
    op.drop_index(op.f("ix_case_handover_case_reference"), table_name="case_handover")
    op.drop_table("case_handover")
    op.drop_index(op.f("ix_case_session_responsible"), table_name="case_session")
    op.drop_index(op.f("ix_case_session_session_id"), table_name="case_session")
    op.drop_table("case_session")
    op.drop_index(op.f("ix_counter_session_teller"), table_name="counter_session")
    op.drop_index("ix_counter_session_branch_opened", table_name="counter_session")
    op.drop_table("counter_session")
