"""The Core tables this package reads and writes, and the branch's local day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Table

from counter.cases import records
from counter.store.branchday_tables import BranchDay, CaseHandover, CaseSession, CounterSession
from counter.store.db import as_utc
from counter.store.tables import Branch, CaseEvent, User

__all__ = [
    "BRANCH_ZONE",
    "approvals",
    "branch_days",
    "branches",
    "case_sessions",
    "cases",
    "day_bounds",
    "events",
    "handovers",
    "local_day",
    "sessions",
    "users",
]

BRANCH_ZONE = records.REFERENCE_ZONE  # branches keep Beijing time; case numbers use it too

sessions: Table = CounterSession.__table__  # type: ignore[attr-defined]
case_sessions: Table = CaseSession.__table__  # type: ignore[attr-defined]
handovers: Table = CaseHandover.__table__  # type: ignore[attr-defined]
branch_days: Table = BranchDay.__table__  # type: ignore[attr-defined]
events: Table = CaseEvent.__table__  # type: ignore[attr-defined]
users: Table = User.__table__  # type: ignore[attr-defined]
branches: Table = Branch.__table__  # type: ignore[attr-defined]
cases = records.cases
approvals = records.approvals


def local_day(at: datetime) -> date:
    """The branch's business day that ``at`` falls on."""
    return as_utc(at).astimezone(BRANCH_ZONE).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start of ``day`` and of the day after, branch time, as UTC instants."""
    start = datetime.combine(day, datetime.min.time(), BRANCH_ZONE)
    return as_utc(start), as_utc(start + timedelta(days=1))
