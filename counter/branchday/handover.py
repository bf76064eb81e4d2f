"""Handing an open case to another teller of the branch, who must accept it.

Any teller of a branch may already act on the branch's cases (the desk's
access rule), so a handover moves *responsibility*: who must see the case
through before closing their counter. It is offered by the teller who
answers for the case and stays pending until the receiving teller accepts
it at an open counter (or declines it; the offering teller may withdraw
it). Every step is journaled on the case's own stream (kinds
``handover_offer``, ``handover_accept``, ``handover_decline``,
``handover_withdraw``; none of them moves the case's version).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from counter.branchday import _tables as t
from counter.branchday.sessions import current_session, open_cases_of
from counter.cases.reading import check_change, not_found
from counter.engine.cleaning import clean_field
from counter.engine.types import Actor
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.store import journal
from counter.store.db import Database
from counter.text import Text

__all__ = [
    "HandoverView",
    "accept_handover",
    "branch_tellers",
    "decline_handover",
    "offer_handover",
    "pending_handovers",
    "withdraw_handover",
]


class HandoverView(BaseModel):
    """One handover as people see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    case_reference: str
    from_teller: str
    to_teller: str
    offered_at: datetime
    note: str | None
    status: str
    decided_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> HandoverView:
        return cls(
            id=row.id,
            case_reference=row.case_reference,
            from_teller=row.from_teller,
            to_teller=row.to_teller,
            offered_at=row.offered_at,
            note=row.note,
            status=row.status,
            decided_at=row.decided_at,
        )


def _case(conn: Connection, reference: str, actor: Actor) -> Any:
    row = conn.execute(
        select(
            t.cases.c.reference, t.cases.c.branch, t.cases.c.closed_at, t.cases.c.opened_by
        ).where(t.cases.c.reference == reference)
    ).first()
    if row is None:
        raise not_found(reference)
    check_change(row.branch, reference, actor, row.opened_by)  # the Desk's rule, the Desk's 404
    return row


def _teller(conn: Connection, username: str, branch: str) -> None:
    row = conn.execute(
        select(t.users.c.roles, t.users.c.branch, t.users.c.active).where(
            t.users.c.username == username
        )
    ).first()
    if row is None or row.branch != branch or not row.active or "teller" not in row.roles:
        raise InvalidInput(
            Text(
                zh=f"{username} 不是本网点在职柜员,不能接收移交",
                en=f"{username} is not an active teller of this branch and cannot take cases",
            ),
            to_teller=username,
        )


def _pending(conn: Connection, reference: str) -> Any:
    row = conn.execute(select(t.handovers).where(t.handovers.c.pending_case == reference)).first()
    if row is None:
        raise NotFound(
            Text(
                zh=f"案件 {reference} 没有待接收的移交",
                en=f"Case {reference} has no pending handover",
            ),
            case=reference,
        )
    return row


def offer_handover(
    db: Database,
    *,
    reference: str,
    actor: Actor,
    to_teller: str,
    now: datetime,
    note: str | None = None,
) -> HandoverView:
    """Offer an open case ``actor`` answers for to ``to_teller`` of the same branch."""
    if note is not None:
        note = clean_field(note, field="note", label=Text(zh="说明", en="The note"))
    if note is not None and len(note) > 200:
        raise InvalidInput(Text(zh="说明最多 200 字", en="The note is at most 200 characters"))
    try:
        with db.transaction() as conn:
            case = _case(conn, reference, actor)
            if case.closed_at is not None:
                raise InvalidInput(
                    Text(
                        zh=f"案件 {reference} 已办结,无需移交",
                        en=f"Case {reference} is closed; nothing to hand over",
                    ),
                    case=reference,
                )
            if reference not in open_cases_of(conn, teller=actor.username, branch=case.branch):
                raise PermissionDenied(
                    Text(
                        zh=f"{actor.username} 不是案件 {reference} 的经办柜员,不能移交",
                        en=f"{actor.username} does not answer for case {reference} "
                        "and cannot hand it over",
                    ),
                    case=reference,
                )
            if to_teller == actor.username:
                raise InvalidInput(Text(zh="不能移交给自己", en="A case is not handed to oneself"))
            _teller(conn, to_teller, case.branch)
            offer = {
                "case_reference": reference,
                "from_teller": actor.username,
                "to_teller": to_teller,
                "offered_at": now,
                "note": note,
                "status": "pending",
            }
            key = conn.execute(
                insert(t.handovers).values(**offer, pending_case=reference)
            ).inserted_primary_key
            assert key is not None
            journal.append(
                conn,
                stream=reference,
                actor=actor.username,
                kind="handover_offer",
                at=now,
                note=json.dumps({"to": to_teller, "note": note}, ensure_ascii=False),
            )
    except IntegrityError as exc:
        raise InvalidInput(
            Text(
                zh=f"案件 {reference} 已有待接收的移交",
                en=f"Case {reference} already has a pending handover",
            ),
            case=reference,
        ) from exc
    return HandoverView(id=int(key[0]), decided_at=None, **offer)


def accept_handover(db: Database, *, reference: str, actor: Actor, now: datetime) -> HandoverView:
    """The receiving teller takes the case over, at their open counter."""
    session = current_session(db, teller=actor.username)
    with db.transaction() as conn:
        _case(conn, reference, actor)
        row = _pending(conn, reference)
        if row.to_teller != actor.username:
            raise PermissionDenied(
                Text(
                    zh=f"案件 {reference} 移交给 {row.to_teller},只有其本人可以接收",
                    en=f"Case {reference} is offered to {row.to_teller}; only they may accept",
                ),
                case=reference,
            )
        if session is None:
            raise PermissionDenied(
                Text(
                    zh="请先开启柜台再接收移交的业务",
                    en="Open your counter before accepting a case",
                ),
                actor=actor.username,
            )
        _decide(conn, row.id, "accepted", now)
        moved = conn.execute(
            update(t.case_sessions)
            .where(t.case_sessions.c.case_reference == reference)
            .values(responsible=actor.username, responsible_session_id=session.id)
        )
        if moved.rowcount == 0:  # opened before counter sessions, or away from a counter
            conn.execute(
                insert(t.case_sessions).values(
                    case_reference=reference,
                    session_id=None,
                    responsible=actor.username,
                    responsible_session_id=session.id,
                )
            )
        journal.append(
            conn,
            stream=reference,
            actor=actor.username,
            kind="handover_accept",
            at=now,
            note=json.dumps({"from": row.from_teller, "session": session.id}),
        )
    return _decided(row, "accepted", now)


def decline_handover(db: Database, *, reference: str, actor: Actor, now: datetime) -> HandoverView:
    """The receiving teller refuses the case; it stays with the teller who offered it."""
    return _end_offer(db, reference, actor, now, receiving=True)


def withdraw_handover(db: Database, *, reference: str, actor: Actor, now: datetime) -> HandoverView:
    """The offering teller takes a pending offer back."""
    return _end_offer(db, reference, actor, now, receiving=False)


def _end_offer(
    db: Database, reference: str, actor: Actor, now: datetime, *, receiving: bool
) -> HandoverView:
    """Decline (the receiving teller) or withdraw (the offering one) a pending handover."""
    status, kind = (
        ("declined", "handover_decline") if receiving else ("withdrawn", "handover_withdraw")
    )
    with db.transaction() as conn:
        _case(conn, reference, actor)
        row = _pending(conn, reference)
        entitled = row.to_teller if receiving else row.from_teller
        if entitled != actor.username:
            verb = Text(zh="拒绝", en="decline") if receiving else Text(zh="撤回", en="withdraw")
            raise PermissionDenied(
                Text(
                    zh=f"只有 {entitled} 可以{verb.zh}这次移交",
                    en=f"Only {entitled} may {verb.en} this handover",
                ),
                case=reference,
            )
        _decide(conn, row.id, status, now)
        other = {"from": row.from_teller} if receiving else {"to": row.to_teller}
        journal.append(
            conn, stream=reference, actor=actor.username, kind=kind, at=now, note=json.dumps(other)
        )
    return _decided(row, status, now)


def _decide(conn: Connection, handover_id: int, status: str, now: datetime) -> None:
    conn.execute(
        update(t.handovers)
        .where(t.handovers.c.id == handover_id)
        .values(status=status, decided_at=now, pending_case=None)
    )


def _decided(row: Any, status: str, now: datetime) -> HandoverView:
    view = HandoverView.from_row(row)
    return view.model_copy(update={"status": status, "decided_at": now})


def branch_tellers(db: Database, *, branch: str) -> list[str]:
    """The active tellers of ``branch`` (who may receive a handover), by username."""
    with db.read() as conn:
        rows = conn.execute(
            select(t.users.c.username, t.users.c.roles)
            .where(t.users.c.branch == branch, t.users.c.active.is_(True))
            .order_by(t.users.c.username)
        ).all()
    return [r.username for r in rows if "teller" in r.roles]


def pending_handovers(
    db: Database, *, branch: str, to_teller: str | None = None, from_teller: str | None = None
) -> list[HandoverView]:
    """Pending handovers of the branch, to or from one teller if given, oldest first."""
    query = (
        select(t.handovers)
        .join(t.cases, t.cases.c.reference == t.handovers.c.case_reference)
        .where(t.cases.c.branch == branch, t.handovers.c.status == "pending")
        .order_by(t.handovers.c.offered_at, t.handovers.c.id)
    )
    if to_teller is not None:
        query = query.where(t.handovers.c.to_teller == to_teller)
    if from_teller is not None:
        query = query.where(t.handovers.c.from_teller == from_teller)
    with db.read() as conn:
        return [HandoverView.from_row(r) for r in conn.execute(query)]
