"""Local adapters' tables: merchant registry, acquirer executions, identity list, SMS sent box

Revision ID: 0002_local_adapters
Revises: 0001
Create Date: 2026-11-25 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import counter.store.columns

revision = "0002_local_adapters"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acquirer_execution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("merchant_no", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("terminal_sn", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_masked", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("message_zh", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("message_en", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("acquirer_reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("executed_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("operation", "reference", name="uq_acquirer_execution_ref"),
    )
    op.create_table(
        "identity_person",
        sa.Column("id_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("face_score", sa.Integer(), nullable=True),
        sa.Column("updated_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_number"),
    )
    op.create_table(
        "registry_merchant",
        sa.Column("merchant_no", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("merchant_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("legal_rep_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "legal_rep_id_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        ),
        sa.Column("registered_phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("pending_settlement_cents", sa.BigInteger(), nullable=False),
        sa.Column("last_binding_change", sa.Date(), nullable=True),
        sa.Column("simulated_failure", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("simulated_failure_times", sa.Integer(), nullable=False),
        sa.Column("updated_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merchant_no"),
    )
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("gateway_reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sent_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_sms_message_phone"), "sms_message", ["phone"], unique=False)
    op.create_table(
        "registry_terminal",
        sa.Column("terminal_sn", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("merchant_no", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("terminal_id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("account_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("account_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("account_holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("updated_at", counter.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_no"], ["registry_merchant.merchant_no"]),
        sa.PrimaryKeyConstraint("terminal_sn"),
    )
    op.create_index(
        op.f("ix_registry_terminal_merchant_no"), "registry_terminal", ["merchant_no"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_registry_terminal_merchant_no"), table_name="registry_terminal")
    op.drop_table("registry_terminal")
    op.drop_index(op.f("ix_sms_message_phone"), table_name="sms_message")
    op.drop_table("sms_message")
    op.drop_table("registry_merchant")
    op.drop_table("identity_person")
    op.drop_table("acquirer_execution")
