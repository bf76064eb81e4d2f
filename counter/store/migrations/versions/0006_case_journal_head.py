"""Each case keeps its journal head in its own row; the index on state alone goes

A step used to move the case row and, in a second statement, the case's row
in ``journal_heads``; now one compare-and-set moves both, and a step writes
two pages fewer to the log (the head's page and the state index's).

Revision ID: 0006_case_journal_head
Revises: 0005_branch_day
Create Date: 2026-11-25 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006_case_journal_head"
down_revision = "0005_branch_day"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.add_column(
        "teller_case",
        sa.Column("journal_seq", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "teller_case",
        sa.Column(
            "journal_hash",
            sqlmodel.sql.sqltypes.AutoString(length=64),
            nullable=False,
            server_default=GENESIS,
        ),
    )
    op.execute(
        "UPDATE teller_case SET "
        "journal_seq = (SELECT h.seq FROM journal_heads h WHERE h.stream = teller_case.reference), "
        "journal_hash = (SELECT h.hash FROM journal_heads h "
        "WHERE h.stream = teller_case.reference) "
        "WHERE EXISTS (SELECT 1 FROM journal_heads h WHERE h.stream = teller_case.reference)"
    )
    op.execute("DELETE FROM journal_heads WHERE stream IN (SELECT reference FROM teller_case)")
    op.drop_index("ix_teller_case_state", table_name="teller_case")


def downgrade() -> None:
    op.create_index("ix_teller_case_state", "teller_case", ["state"])
    op.execute(
        "INSERT INTO journal_heads (stream, seq, hash) "
        "SELECT reference, journal_seq, journal_hash FROM teller_case WHERE journal_seq > 0"
    )
    with op.batch_alter_table("teller_case") as batch:
        batch.drop_column("journal_hash")
        batch.drop_column("journal_seq")
