"""Escalating approvals that waited past their service-level time (tiered authority).

``escalate_due(desk)`` finds every open approval whose state declares
``authority.escalate_after_minutes`` and that has waited that long, and
escalates each once: one level up, or from the top level to the remote
authorization centre (``counter.engine.authority.escalation``). Each
escalation is a compare-and-set on the approval row (``escalated_at`` still
empty) and an ``escalated`` entry in the case's journal, in one
transaction; the case's version does not change (the case has not moved).
``counter sweep`` runs it every round; the queues show where an approval
was escalated to.

The entry's ``note`` is canonical JSON, shape 1:
``{"shape": 1, "approval": ID, "from_level": ..., "to_level": ..., "after_minutes": N}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from counter.cases import records
from counter.cases.desk import Desk
from counter.engine.authority import escalation
from counter.engine.types import Actor
from counter.store import journal

__all__ = ["ESCALATED", "Escalation", "escalate_due"]

ESCALATED = "escalated"


@dataclass(frozen=True)
class Escalation:
    """One approval escalated: which, of which case, from which level to which."""

    approval_id: int
    case_reference: str
    from_level: str | None
    to_level: str


def escalate_due(desk: Desk, *, now: datetime | None = None) -> list[Escalation]:
    """Escalate every open approval past its service-level time; returns what was done."""
    now = now or desk.services.now()
    a, c = records.approvals, records.cases
    query = (
        select(a.c.id, a.c.case_reference, a.c.level, a.c.raised_at, c.c.definition_hash,
               c.c.state)
        .join(c, c.c.reference == a.c.case_reference)
        .where(a.c.decided_at.is_(None), a.c.escalated_at.is_(None))
        .order_by(a.c.raised_at, a.c.id)
    )
    with desk.db.read() as conn:
        waiting = conn.execute(query).all()
    done: list[Escalation] = []
    for row in waiting:
        state = desk.workflow_of(row.definition_hash).definition.states.get(row.state)
        if state is None or state.authority is None:
            continue
        target = escalation(state, row.level, row.raised_at, now)
        if target is None:
            continue
        minutes = state.authority.escalate_after_minutes
        with desk.db.transaction() as conn:
            moved = conn.execute(
                update(a)
                .where(a.c.id == row.id, a.c.decided_at.is_(None), a.c.escalated_at.is_(None))
                .values(escalated_to=target, escalated_at=now)
            ).rowcount
            if moved != 1:
                continue  # decided or escalated by someone else meanwhile
            journal.append(
                conn,
                stream=row.case_reference,
                actor=Actor.system().username,
                kind=ESCALATED,
                at=now,
                from_state=row.state,
                to_state=row.state,
                note=journal.canonical_json(
                    {"shape": 1, "approval": row.id, "from_level": row.level,
                     "to_level": target, "after_minutes": minutes}
                ),
            )
        desk._forget(row.case_reference)
        done.append(Escalation(row.id, row.case_reference, row.level, target))
    return done
