"""Tables of the branch's day: tellers' counter sessions, case handovers, closed days.

A teller opens a *counter session* at a window before taking cases and
closes it at the end; each case is mapped to the session it was opened in
(``case_session``), and to whoever is responsible for it now (a handover
accepted by another teller moves the responsibility, never the case's
``opened_by``). A closed branch day keeps its end-of-day report PDF and the
figures it was drawn from.

"At most one" rules are unique columns that hold a value only while the
row is live (``open_teller``, ``open_window``, ``pending_case``): NULLs
never collide, on SQLite as on PostgreSQL, so two app processes cannot
both open the same teller's counter or offer the same case twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = ["BranchDay", "CaseHandover", "CaseSession", "CounterSession"]


class CounterSession(SQLModel, table=True):
    """A teller at a window, from opening the counter to closing it."""

    __tablename__ = "counter_session"
    __table_args__ = (Index("ix_counter_session_branch_opened", "branch", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=16)
    teller: str = Field(max_length=64, index=True)
    window: int
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    open_teller: str | None = Field(default=None, max_length=64, unique=True)  # set while open
    open_window: str | None = Field(default=None, max_length=40, unique=True)  # BRANCH:WINDOW


class CaseSession(SQLModel, table=True):
    """The session a case was opened in, and the teller (and session) answering for it now."""

    __tablename__ = "case_session"

    case_reference: str = Field(
        primary_key=True, max_length=40, foreign_key="teller_case.reference"
    )
    session_id: int | None = Field(  # None: opened away from a counter (a supervisor)
        default=None, foreign_key="counter_session.id", index=True
    )
    responsible: str = Field(max_length=64, index=True)
    responsible_session_id: int | None = Field(default=None, foreign_key="counter_session.id")


class CaseHandover(SQLModel, table=True):
    """A case offered by one teller to another: pending until accepted, declined or withdrawn."""

    __tablename__ = "case_handover"

    id: int | None = Field(default=None, primary_key=True)
    case_reference: str = Field(max_length=40, foreign_key="teller_case.reference", index=True)
    from_teller: str = Field(max_length=64)
    to_teller: str = Field(max_length=64, index=True)
    offered_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=200)
    status: str = Field(default="pending", max_length=16)  # pending|accepted|declined|withdrawn
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pending_case: str | None = Field(default=None, max_length=40, unique=True)  # set while pending


class BranchDay(SQLModel, table=True):
    """A branch's business day (local, UTC+8) once a supervisor closed it, with its report."""

    __tablename__ = "branch_day"

    branch: str = Field(primary_key=True, max_length=16, foreign_key="branches.code")
    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD, branch time
    closed_at: datetime = Field(sa_type=UTCDateTime)
    closed_by: str = Field(max_length=64)
    report_sha256: str = Field(max_length=64)
    report_pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    figures: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
