"""A supervisor closes the branch's day: refused while anything is still open, then reported.

Closing is refused while any case of the branch is open, any approval
waits, or any teller's counter is open (tellers close their counters
first). Otherwise the day's figures are read from the journal, the report
is rendered (outside any write transaction: it takes a while), and one
transaction checks again that nothing opened meanwhile, stores the day
with its report PDF and figures (``branch_day``) and journals the close on
the stream ``branch:CODE`` with the PDF's SHA-256 as ``data_digest``. A
day closes once; no counter opens on a closed day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from counter.branchday import _tables as t
from counter.branchday.figures import DayFigures, Describe, Progress, day_figures, figures_json
from counter.branchday.report import report_pdf
from counter.engine.types import Actor
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.store import journal
from counter.store.db import Database
from counter.text import Text

__all__ = ["Blockers", "ClosedDay", "blockers", "close_day", "closed_day", "require_supervisor"]


@dataclass(frozen=True)
class Blockers:
    """What keeps a branch's day open."""

    open_cases: list[str]
    waiting_approvals: list[str]
    open_counters: list[str]

    @property
    def none(self) -> bool:
        return not (self.open_cases or self.waiting_approvals or self.open_counters)

    def refusal(self, branch: str) -> InvalidInput:
        zh: list[str] = []
        en: list[str] = []
        if self.open_cases:
            zh.append(f"{len(self.open_cases)} 笔业务未办结")
            en.append(f"{len(self.open_cases)} case(s) still open")
        if self.waiting_approvals:
            zh.append(f"{len(self.waiting_approvals)} 笔待主管审批")
            en.append(f"{len(self.waiting_approvals)} approval(s) waiting")
        if self.open_counters:
            zh.append(f"{len(self.open_counters)} 个柜台未关闭")
            en.append(f"{len(self.open_counters)} counter(s) still open")
        return InvalidInput(
            Text(
                zh=f"网点 {branch} 暂不能日终:" + ";".join(zh),
                en=f"Branch {branch} cannot close its day yet: " + "; ".join(en),
            ),
            branch=branch,
            open_cases=self.open_cases,
            waiting_approvals=self.waiting_approvals,
            open_counters=self.open_counters,
        )


@dataclass(frozen=True)
class ClosedDay:
    """A closed day: its report PDF, the PDF's SHA-256, and the figures it shows."""

    branch: str
    day: date
    closed_at: datetime
    closed_by: str
    report_sha256: str
    pdf: bytes
    figures: DayFigures


def require_supervisor(actor: Actor, branch: str) -> None:
    if "supervisor" not in actor.roles or actor.branch != branch:
        raise PermissionDenied(
            Text(
                zh=f"只有网点 {branch} 的主管可以办理日终",
                en=f"Only a supervisor of branch {branch} may close its day",
            ),
            actor=actor.username,
            branch=branch,
        )


def blockers(conn: Connection, *, branch: str) -> Blockers:
    """What is still open at the branch (every day, not only today's)."""
    c, a, s = t.cases, t.approvals, t.sessions
    open_cases = conn.execute(
        select(c.c.reference)
        .where(c.c.branch == branch, c.c.closed_at.is_(None))
        .order_by(c.c.reference)
    ).scalars()
    waiting = conn.execute(
        select(a.c.case_reference)
        .join(c, c.c.reference == a.c.case_reference)
        .where(c.c.branch == branch, a.c.decided_at.is_(None))
        .order_by(a.c.raised_at)
    ).scalars()
    counters = conn.execute(
        select(s.c.teller).where(s.c.branch == branch, s.c.closed_at.is_(None)).order_by(s.c.window)
    ).scalars()
    return Blockers(list(open_cases), list(waiting), list(counters))


def _closed(conn: Connection, branch: str, day: date) -> Any:
    return conn.execute(
        select(t.branch_days).where(
            t.branch_days.c.branch == branch, t.branch_days.c.day == day.isoformat()
        )
    ).first()


def _already(branch: str, day: date) -> InvalidInput:
    return InvalidInput(
        Text(zh=f"网点 {branch} 的 {day} 已日终", en=f"Branch {branch} closed {day} already"),
        day=day.isoformat(),
    )


def close_day(
    db: Database,
    *,
    branch: str,
    actor: Actor,
    describe: Describe,
    now: datetime,
    day: date | None = None,
    on_progress: Progress | None = None,
) -> ClosedDay:
    """Close ``branch``'s business day (today's by default); see the module docstring."""
    require_supervisor(actor, branch)
    day = day or t.local_day(now)
    if day > t.local_day(now):
        raise InvalidInput(
            Text(zh=f"{day} 尚未到来,不能日终", en=f"{day} has not come yet; it cannot close"),
            day=day.isoformat(),
        )
    with db.read() as conn:
        if _closed(conn, branch, day) is not None:
            raise _already(branch, day)
        found = blockers(conn, branch=branch)
    if not found.none:
        raise found.refusal(branch)
    figures = day_figures(
        db, branch=branch, day=day, describe=describe, now=now, on_progress=on_progress
    )
    pdf = report_pdf(figures, closed_by=actor.username)
    sha256 = hashlib.sha256(pdf).hexdigest()
    with db.transaction() as conn:
        again = blockers(conn, branch=branch)
        if not again.none:  # a case or a counter opened while the report was drawn
            raise again.refusal(branch)
        if _closed(conn, branch, day) is not None:
            raise _already(branch, day)
        conn.execute(
            insert(t.branch_days).values(
                branch=branch,
                day=day.isoformat(),
                closed_at=now,
                closed_by=actor.username,
                report_sha256=sha256,
                report_pdf=pdf,
                figures=figures_json(figures),
            )
        )
        journal.append(
            conn,
            stream=f"branch:{branch}",
            actor=actor.username,
            kind="day_close",
            at=now,
            data_digest=sha256,
            note=json.dumps(
                {
                    "day": day.isoformat(),
                    "cases": figures.cases,
                    "outcomes": figures.outcomes,
                    "chain_ok": figures.chain.ok,
                },
                sort_keys=True,
            ),
        )
    return ClosedDay(branch, day, now, actor.username, sha256, pdf, figures)


def closed_day(db: Database, *, branch: str, day: date) -> ClosedDay:
    """A closed day as stored; ``NotFound`` if it was not closed."""
    with db.read() as conn:
        row = _closed(conn, branch, day)
    if row is None:
        raise NotFound(
            Text(zh=f"网点 {branch} 的 {day} 尚未日终", en=f"Branch {branch} has not closed {day}"),
            branch=branch,
            day=day.isoformat(),
        )
    return ClosedDay(
        branch=branch,
        day=day,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        report_sha256=row.report_sha256,
        pdf=row.report_pdf,
        figures=DayFigures.model_validate(row.figures),
    )


def closed_days(db: Database, *, branch: str, limit: int = 30) -> list[tuple[date, str]]:
    """The branch's most recent closed days and who closed them."""
    with db.read() as conn:
        rows = conn.execute(
            select(t.branch_days.c.day, t.branch_days.c.closed_by)
            .where(t.branch_days.c.branch == branch)
            .order_by(t.branch_days.c.day.desc())
            .limit(limit)
        ).all()
    return [(date.fromisoformat(r.day), r.closed_by) for r in rows]
