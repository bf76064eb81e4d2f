"""Reservations: one open case per business object (a terminal, a referral).

A workflow declares what its cases hold (``holds``, ``counter.engine.holds``).
The step that names an object takes it, in the step's own transaction, by
inserting its ``held`` key into ``case_reservation``, whose unique index
admits one holder: of two steps racing for one terminal, on SQLite or
PostgreSQL, one commits and the other is refused with a block finding on
the field that named the object, naming the case that holds it. A case
gives its objects back (``release: final``) in the step that takes it to a
final state, whichever: completed, cancelled, rejected, expired by the
sweeper; ``release: never`` objects stay taken (a referral is picked up once).

``Desk.step`` asks ``plan`` what a step changes, ``refuse_if_held`` before
its transaction (so that the refusal is the same as any check's) and
``apply`` inside it (where the database decides).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

from counter.banking.masking import mask
from counter.cases import records
from counter.config import MaskingPolicy
from counter.engine.definition import HoldDefinition
from counter.engine.holds import MAX_KEY_LENGTH, held
from counter.engine.loader import Workflow
from counter.engine.types import Finding, Severity
from counter.errors import BlockedByFindings, FieldError
from counter.store.db import Database
from counter.store.reservation_tables import CaseReservation
from counter.text import Text

__all__ = ["HELD_BY_OPEN_CASE", "HELD_FOR_GOOD", "Plan", "apply", "plan", "refuse_if_held"]

HELD_BY_OPEN_CASE = "held_by_open_case"  # finding code: another open case holds the object
HELD_FOR_GOOD = "held_for_good"  # finding code: a ``release: never`` object another case took

reservations: Table = CaseReservation.__table__  # type: ignore[attr-defined]

_holders = (
    select(reservations.c.held, reservations.c.case_reference, records.cases.c.closed_at)
    .join(records.cases, records.cases.c.reference == reservations.c.case_reference)
    .where(reservations.c.held.in_(bindparam("held", expanding=True)))
)
_give_back = (
    update(reservations)
    .where(
        reservations.c.case_reference == bindparam("b_reference"),
        reservations.c.object.in_(bindparam("b_objects", expanding=True)),
        reservations.c.held.is_not(None),
    )
    .values(held=None, released_at=bindparam("released_at"))
)
_give_back_key = (
    update(reservations)
    .where(
        reservations.c.case_reference == bindparam("b_reference"),
        reservations.c.held == bindparam("b_held"),
    )
    .values(held=None, released_at=bindparam("released_at"))
)

_BLOCKED = Text(zh="该业务对象正由其他业务办理", en="Another case holds what this step names")


def _stored_key(key: str) -> str:
    """The key as stored: itself, or its digest if normalising made it longer than the column."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def held_key(hold: HoldDefinition, key: str) -> str:
    """The unique ``held`` value: ``object:key`` (an object name holds no colon)."""
    return f"{hold.object}:{_stored_key(key)}"


@dataclass(frozen=True)
class Plan:
    """What one step changes: objects to take, keys to give back, objects released at the end."""

    take: tuple[tuple[HoldDefinition, str], ...] = ()
    give_back: tuple[str, ...] = ()  # held values whose key the step changed
    release: tuple[str, ...] = ()  # objects given back because the case ends

    def __bool__(self) -> bool:
        return bool(self.take or self.give_back or self.release)


NOTHING = Plan()


def plan(
    workflow: Workflow, before: Mapping[str, Any], after: Mapping[str, Any], *, final: bool
) -> Plan:
    """What the step from data ``before`` to ``after`` (ending the case if ``final``) changes."""
    holds = workflow.definition.holds
    if not holds:
        return NOTHING
    was, now = held(workflow.definition, before), held(workflow.definition, after)
    take = tuple((h, key) for h, key in now.items() if was.get(h) != key)
    give_back = tuple(
        held_key(h, key)
        for h, key in was.items()
        if h.release == "final" and now.get(h) != key and not final
    )
    release = tuple(h.object for h in holds if h.release == "final") if final else ()
    if not was and not take:
        release = ()  # a case that never held anything has nothing to give back
    return Plan(take=take, give_back=give_back, release=release)


def _display(workflow: Workflow, hold: HoldDefinition, key: str, policy: MaskingPolicy) -> str:
    """The key as a teller may see it: masked by the field's declared class."""
    form = workflow.forms.get(hold.form)
    spec = form.field(hold.field) if form is not None else None
    return mask(key, spec.pii, policy) if spec is not None else key


def _refusal(
    workflow: Workflow,
    taken: Sequence[tuple[HoldDefinition, str, str, bool]],
    policy: MaskingPolicy,
) -> BlockedByFindings:
    """The block finding for each object another case holds (hold, key, holder, holder open)."""
    findings = []
    for hold, key, holder, still_open in taken:
        shown = _display(workflow, hold, key, policy)
        if still_open:
            code = HELD_BY_OPEN_CASE
            message = Text(
                zh=f"{hold.title.zh} {shown} 已有进行中的业务 {holder}",
                en=f"{hold.title.en} {shown} already has an open case, {holder}",
            )
        else:
            code = HELD_FOR_GOOD
            message = Text(
                zh=f"{hold.title.zh} {shown} 已由业务 {holder} 承接,不能再次承接",
                en=f"{hold.title.en} {shown} was already taken up by case {holder}",
            )
        findings.append(
            Finding(
                code=code,
                severity=Severity.BLOCK,
                message=message,
                field=hold.field,
                evidence={"case_reference": holder},  # shown as it is: a reference
            )
        )
    return BlockedByFindings(
        _BLOCKED,
        findings=findings,
        fields=[FieldError(f.field or "", f.code, f.message) for f in findings],
    )


def _taken_by_others(
    conn: Connection, reference: str, take: Sequence[tuple[HoldDefinition, str]]
) -> list[tuple[HoldDefinition, str, str, bool]]:
    wanted = {held_key(h, key): (h, key) for h, key in take}
    rows = conn.execute(_holders, {"held": list(wanted)}).all()
    return [
        (*wanted[row.held], row.case_reference, row.closed_at is None)
        for row in rows
        if row.case_reference != reference
    ]


def refuse_if_held(
    db: Database, workflow: Workflow, reference: str, step: Plan, policy: MaskingPolicy
) -> None:
    """Raise ``BlockedByFindings`` if another case holds an object the step would take.

    Only a courtesy before the transaction (the refusal is then the same as
    a check's); ``apply`` is what decides.
    """
    if not step.take:
        return
    with db.read() as conn:
        taken = _taken_by_others(conn, reference, step.take)
    if taken:
        raise _refusal(workflow, taken, policy)


def apply(
    conn: Connection,
    workflow: Workflow,
    reference: str,
    step: Plan,
    now: datetime,
    policy: MaskingPolicy,
) -> None:
    """Take and give back in the step's transaction; raises (rolling it back) if beaten to it."""
    for held_value in step.give_back:
        conn.execute(
            _give_back_key, {"b_reference": reference, "b_held": held_value, "released_at": now}
        )
    refused = []
    for hold, key in step.take:
        row = {
            "object": hold.object,
            "key": _stored_key(key),
            "case_reference": reference,
            "taken_at": now,
            "released_at": None,
            "held": held_key(hold, key),
        }
        if not records.insert_ignore(conn, reservations, [row]):
            refused += _taken_by_others(conn, reference, [(hold, key)])
    if refused:
        raise _refusal(workflow, refused, policy)
    if step.release:
        conn.execute(
            _give_back,
            {"b_reference": reference, "b_objects": list(step.release), "released_at": now},
        )
