"""Cases are indexed by branch alone: no index holds the state, which every step changes

The index on ``(branch, state)`` had its entry moved by every step, one
more page written to the log per commit; lists by state now read the
branch's cases through the index on ``branch``.

Revision ID: 0010_case_branch_index
Revises: 0009_refusals
Create Date: 2026-12-03 11:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_case_branch_index"
down_revision = "0009_refusals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_teller_case_branch", "teller_case", ["branch"])
    op.drop_index("ix_teller_case_branch_state", table_name="teller_case")


def downgrade() -> None:
    op.create_index("ix_teller_case_branch_state", "teller_case", ["branch", "state"])
    op.drop_index("ix_teller_case_branch", table_name="teller_case")
