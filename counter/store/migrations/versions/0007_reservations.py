"""Reservations: the business objects open cases hold, one case per object at a time

A workflow declares what a case holds (``holds`` in its YAML: the terminal
of an unbind, the referral a counter case picks up); ``case_reservation``
keeps one row per object taken, and the unique ``held`` column (set while
held, NULL once given back) lets only one case hold an object. Cases open
before this revision hold nothing until a step names their object again.

Revision ID: 0007_reservations
Revises: 0006_case_journal_head
Create Date: 2026-12-02 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from counter.store.columns import UTCDateTime

revision = "0007_reservations"
down_revision = "0006_case_journal_head"
branch_labels = None
depends_on = None

_String = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "case_reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object", _String(length=64), nullable=False),
        sa.Column("key", _String(length=200), nullable=False),
        sa.Column("case_reference", _String(length=40), nullable=False),
        sa.Column("taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("held", _String(length=270), nullable=True),
        sa.ForeignKeyConstraint(["case_reference"], ["teller_case.reference"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("held"),
    )
    op.create_index(
        op.f("ix_case_reservation_case_reference"), "case_reservation", ["case_reference"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_reservation_case_reference"), table_name="case_reservation")
    op.drop_table("case_reservation")
