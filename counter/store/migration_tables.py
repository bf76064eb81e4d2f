"""Tables of case migrations: the plans people prepare and confirm, and each case moved.

A plan is prepared by one user and confirmed by another (four eyes,
decided by a compare-and-set on ``status``); each case it moves gets a row
in ``case_migration_moves`` with what it was before, so that a revert can
put it back while nothing has happened to it since (``version_after``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = ["CaseMigration", "CaseMigrationMove"]


class CaseMigration(SQLModel, table=True):
    """A migration plan: ``prepared`` by one user, then ``moving`` and ``done`` once confirmed.

    ``kind`` is ``migrate`` (to ``to_hash``, the workflow's current version)
    or ``revert`` (of migration ``reverts``). ``plan`` is what the preparer
    saw: one entry per running case with its version, outcome and reason.
    """

    __tablename__ = "case_migrations"

    id: int | None = Field(default=None, primary_key=True)
    workflow: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    to_hash: str | None = Field(default=None, max_length=64)
    from_hash: str | None = Field(default=None, max_length=64)  # the --from prefix, if any
    reverts: int | None = Field(default=None, foreign_key="case_migrations.id")
    plan: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=16)
    prepared_by: str = Field(max_length=64)
    prepared_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_by: str | None = Field(default=None, max_length=64)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseMigrationMove(SQLModel, table=True):
    """One case a migration moved, and what it was before (for a revert)."""

    __tablename__ = "case_migration_moves"
    __table_args__ = (Index("ix_case_migration_moves_case", "case_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    migration_id: int = Field(foreign_key="case_migrations.id", index=True)
    case_reference: str = Field(max_length=40, foreign_key="teller_case.reference")
    from_hash: str = Field(max_length=64)
    to_hash: str = Field(max_length=64)
    from_state: str = Field(max_length=64)
    to_state: str = Field(max_length=64)
    from_pending: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    renamed: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version_after: int
    reverted_by: int | None = Field(default=None, foreign_key="case_migrations.id")
