"""Tellers' counter sessions: open a window, take cases there, close it at the end.

A teller at a counter (role ``teller``, channel ``counter``) opens cases
only while their counter is open: :class:`CounterDesk` is the ``Desk`` that
refuses otherwise and maps each case to the session it was opened in.
Closing a counter is refused while the teller still answers for an open
case; they hand it over (``counter.branchday.handover``) or cancel it.

Opening and closing are journaled on the teller's stream ``user:NAME``.

The case and its session row are written in two transactions (the desk's
own, then ours), because the ``Desk`` offers no hook inside its open
transaction. A crash between them leaves a case without a row; such a case
counts as its opener's (``responsible`` falls back to ``opened_by``), so
no rule here is weakened by it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Connection, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from counter.branchday import _tables as t
from counter.cases.desk import Desk
from counter.cases.views import CaseView
from counter.engine.types import Actor
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.store import journal
from counter.store.db import Database
from counter.text import Text

__all__ = [
    "MAX_WINDOW",
    "CounterDesk",
    "CounterSessionView",
    "at_counter",
    "branch_sessions",
    "close_counter",
    "current_session",
    "open_cases_of",
    "open_counter",
    "responsible_cases",
]

MAX_WINDOW = 99


class CounterSessionView(BaseModel):
    """A counter session as people see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    branch: str
    teller: str
    window: int
    opened_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @classmethod
    def from_row(cls, row: Any) -> CounterSessionView:
        return cls(
            id=row.id,
            branch=row.branch,
            teller=row.teller,
            window=row.window,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
        )


def at_counter(actor: Actor, channel: str = "counter") -> bool:
    """Whether ``actor`` works at a counter window here: a teller, on the counter channel."""
    return "teller" in actor.roles and channel == "counter"


def _teller_of_branch(actor: Actor) -> str:
    if "teller" not in actor.roles or not actor.branch:
        raise PermissionDenied(
            Text(
                zh=f"{actor.username} 不是网点柜员,不能开关柜台",
                en=f"{actor.username} is not a teller of a branch and has no counter",
            ),
            actor=actor.username,
        )
    return actor.branch


def _open_session_query(teller: str) -> Select[Any]:
    return select(t.sessions).where(t.sessions.c.open_teller == teller)


def current_session(db: Database, *, teller: str) -> CounterSessionView | None:
    """The teller's open counter session, if any."""
    with db.read() as conn:
        row = conn.execute(_open_session_query(teller)).first()
    return CounterSessionView.from_row(row) if row is not None else None


def branch_sessions(
    db: Database, *, branch: str, open_only: bool = True, since: datetime | None = None
) -> list[CounterSessionView]:
    """The branch's counter sessions (open ones, or every one opened since ``since``)."""
    query = select(t.sessions).where(t.sessions.c.branch == branch)
    if open_only:
        query = query.where(t.sessions.c.closed_at.is_(None))
    if since is not None:
        query = query.where(t.sessions.c.opened_at >= since)
    with db.read() as conn:
        rows = conn.execute(query.order_by(t.sessions.c.window, t.sessions.c.id)).all()
    return [CounterSessionView.from_row(r) for r in rows]


def day_closed(conn: Connection, *, branch: str, at: datetime) -> bool:
    """Whether the branch's business day that ``at`` falls on was closed already."""
    found = conn.execute(
        select(t.branch_days.c.day).where(
            t.branch_days.c.branch == branch,
            t.branch_days.c.day == t.local_day(at).isoformat(),
        )
    ).first()
    return found is not None


def open_counter(db: Database, *, actor: Actor, window: int, now: datetime) -> CounterSessionView:
    """Open ``actor``'s counter at ``window``: refused if it is open, or the window is taken."""
    branch = _teller_of_branch(actor)
    if not 1 <= window <= MAX_WINDOW:
        raise InvalidInput(
            Text(
                zh=f"窗口号应在 1 到 {MAX_WINDOW} 之间",
                en=f"The window number is between 1 and {MAX_WINDOW}",
            ),
            window=window,
        )
    try:
        with db.transaction() as conn:
            if day_closed(conn, branch=branch, at=now):
                raise InvalidInput(
                    Text(
                        zh=f"网点 {branch} 今日已日终,不能再开柜",
                        en=f"Branch {branch} has closed today's business; no counter opens",
                    ),
                    branch=branch,
                )
            mine = conn.execute(_open_session_query(actor.username)).first()
            if mine is not None:
                raise InvalidInput(
                    Text(
                        zh=f"{actor.username} 的柜台已在 {mine.window} 号窗口开启",
                        en=f"{actor.username}'s counter is already open at window {mine.window}",
                    ),
                    window=mine.window,
                )
            session_id = conn.execute(
                insert(t.sessions).values(
                    branch=branch,
                    teller=actor.username,
                    window=window,
                    opened_at=now,
                    open_teller=actor.username,
                    open_window=f"{branch}:{window}",
                )
            ).inserted_primary_key
            assert session_id is not None
            journal.append(
                conn,
                stream=f"user:{actor.username}",
                actor=actor.username,
                kind="counter_open",
                at=now,
                note=json.dumps(
                    {"branch": branch, "window": window, "session": int(session_id[0])}
                ),
            )
    except IntegrityError as exc:
        raise InvalidInput(
            Text(
                zh=f"{window} 号窗口已有柜员在岗",
                en=f"Window {window} is already open for another teller",
            ),
            window=window,
        ) from exc
    return CounterSessionView(
        id=int(session_id[0]),
        branch=branch,
        teller=actor.username,
        window=window,
        opened_at=now,
        closed_at=None,
    )


def _responsible() -> ColumnElement[Any]:
    return func.coalesce(t.case_sessions.c.responsible, t.cases.c.opened_by)


def open_cases_of(conn: Connection, *, teller: str, branch: str) -> list[str]:
    """References of the open cases ``teller`` answers for (opened, or accepted in a handover)."""
    query = (
        select(t.cases.c.reference)
        .select_from(
            t.cases.outerjoin(
                t.case_sessions, t.case_sessions.c.case_reference == t.cases.c.reference
            )
        )
        .where(
            t.cases.c.branch == branch,
            t.cases.c.closed_at.is_(None),
            _responsible() == teller,
        )
        .order_by(t.cases.c.reference)
    )
    return list(conn.execute(query).scalars())


def responsible_cases(db: Database, *, teller: str, branch: str) -> list[str]:
    """References of the open cases ``teller`` answers for (see ``open_cases_of``)."""
    with db.read() as conn:
        return open_cases_of(conn, teller=teller, branch=branch)


def close_counter(db: Database, *, actor: Actor, now: datetime) -> CounterSessionView:
    """Close ``actor``'s counter; refused while they answer for an open case."""
    branch = _teller_of_branch(actor)
    with db.transaction() as conn:
        row = conn.execute(_open_session_query(actor.username)).first()
        if row is None:
            raise NotFound(
                Text(
                    zh=f"{actor.username} 没有开启的柜台",
                    en=f"{actor.username} has no open counter",
                ),
                teller=actor.username,
            )
        still = open_cases_of(conn, teller=actor.username, branch=branch)
        if still:
            shown = ", ".join(still[:10]) + (" …" if len(still) > 10 else "")
            raise InvalidInput(
                Text(
                    zh=f"还有 {len(still)} 笔未完成的业务({shown}):"
                    "请办结、撤销(注明原因)或移交给本网点其他柜员并待其接收后再关闭柜台",
                    en=f"{len(still)} case(s) still open ({shown}): finish them, cancel them "
                    "with a reason, or hand them over to another teller of the branch (and "
                    "have them accept) before closing the counter",
                ),
                cases=still,
            )
        conn.execute(
            update(t.sessions)
            .where(t.sessions.c.id == row.id)
            .values(closed_at=now, open_teller=None, open_window=None)
        )
        journal.append(
            conn,
            stream=f"user:{actor.username}",
            actor=actor.username,
            kind="counter_close",
            at=now,
            note=json.dumps({"branch": branch, "window": row.window, "session": row.id}),
        )
    return CounterSessionView(
        id=row.id,
        branch=row.branch,
        teller=row.teller,
        window=row.window,
        opened_at=row.opened_at,
        closed_at=now,
    )


def _counter_closed(actor: Actor) -> PermissionDenied:
    return PermissionDenied(
        Text(
            zh="请先开启柜台(登记窗口号)再受理业务",
            en="Open your counter (with its window number) before taking cases",
        ),
        actor=actor.username,
        reason="counter_closed",
    )


def _record_case(conn: Connection, *, reference: str, actor: Actor) -> None:
    """Map a new case to the session it is opened in, inside the opening's transaction.

    The session is read there: a closed counter (even one closed since the
    page was shown) refuses the case, and nothing of it is written.
    """
    row = conn.execute(_open_session_query(actor.username)).first()
    if row is None:
        raise _counter_closed(actor)
    conn.execute(
        insert(t.case_sessions).values(
            case_reference=reference,
            session_id=row.id,
            responsible=actor.username,
            responsible_session_id=row.id,
        )
    )


class CounterDesk(Desk):
    """The ``Desk`` of a branch with counter sessions (the web and the CLI use this one).

    Everything is the desk's but opening a case: a teller at a counter must
    have it open, and the case is mapped to that session in the same
    transaction as it is opened.
    """

    def open_case(
        self,
        *,
        workflow: str,
        actor: Actor,
        channel: str | None = None,
        within: Callable[[Connection, str], None] | None = None,
    ) -> CaseView:
        where = channel or self.runtime.catalog.current(workflow).definition.channel
        if not at_counter(actor, where):
            return super().open_case(workflow=workflow, actor=actor, channel=channel, within=within)

        def record(conn: Connection, reference: str) -> None:
            _record_case(conn, reference=reference, actor=actor)
            if within is not None:
                within(conn, reference)

        return super().open_case(workflow=workflow, actor=actor, channel=channel, within=record)


def session_cases(conn: Connection, *, session_id: int) -> int:
    """How many cases were opened in a session."""
    return int(
        conn.execute(
            select(func.count()).where(t.case_sessions.c.session_id == session_id)
        ).scalar_one()
    )
