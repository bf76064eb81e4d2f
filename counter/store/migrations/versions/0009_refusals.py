"""Idempotency keys keep no case data: each stored answer becomes its reference and version

A key used to keep the whole (unmasked) case view it answered; a repeat now
answers the case as it stands, through the access check, so only
``{"reference", "version"}`` is needed. No table changes: ``refused``
journal entries are rows of ``case_events`` like every other kind.

Revision ID: 0009_refusals
Revises: 0008_authority
Create Date: 2026-12-02 07:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009_refusals"
down_revision = "0008_authority"
branch_labels = None
depends_on = None

_keys = sa.table(
    "idempotency_keys", sa.column("id", sa.Integer()), sa.column("response", sa.JSON())
)


def upgrade() -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(_keys.c.id, _keys.c.response)).all():
        stored = row.response if isinstance(row.response, dict) else json.loads(row.response)
        kept = {"reference": stored.get("reference"), "version": stored.get("version")}
        conn.execute(sa.update(_keys).where(_keys.c.id == row.id).values(response=kept))


def downgrade() -> None:
    """Nothing to bring back: the case views are gone, and a repeat reads the case anyway."""
