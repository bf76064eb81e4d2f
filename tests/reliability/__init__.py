"""Reliability tests; here, what the sweeper and backup tests share.

The test-only ``errand`` workflow (``tests/data/sweeper``) has a supervisor
review, a wait for an outside answer through the outbox, and an ``expire``
from the states where a teller or supervisor is expected next. Its names
are registered in a registry of its own, never in the default one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from counter.cases.desk import Desk
from counter.cases.dispatch import Dispatcher, OutboxMessage
from counter.cases.services import Services
from counter.engine import (
    ActionContext,
    Actor,
    Catalog,
    Effect,
    Finding,
    Registry,
    Runtime,
    Severity,
    StepContext,
)
from counter.store import journal
from counter.store.db import Database
from counter.text import Text

DATA = Path(__file__).resolve().parent.parent / "data" / "sweeper"
FORMS = DATA / "forms"
START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
REVIEW_ABOVE = 1000  # amounts above this go to a supervisor

TELLER = Actor("tina", frozenset({"teller"}), branch="BJ001")
TELLER2 = Actor("tom", frozenset({"teller"}), branch="BJ001")
SUPERVISOR = Actor("sam", frozenset({"supervisor"}), branch="BJ001")


class Clock:
    """A clock the test moves by hand (thread-safe)."""

    def __init__(self, now: datetime = START) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def errand_runtime() -> Runtime:
    registry = Registry()

    @registry.check("errand_amount")
    def errand_amount(ctx: StepContext) -> Iterable[Finding]:
        if int(ctx.form["amount"]) > REVIEW_ABOVE:
            yield Finding(
                "large_amount",
                Severity.APPROVE,
                Text(zh="金额较大,须主管审批", en="A large amount needs a supervisor"),
                field="amount",
            )

    @registry.action("errand_ask")
    def errand_ask(ctx: ActionContext) -> None:
        ctx.emit(Effect("errand.ask", {"case": ctx.case.reference}, on_success="answered"))

    return Runtime(Catalog.load(DATA / "workflows", FORMS, registry), registry)


def answer(message: OutboxMessage, services: Services) -> dict[str, str]:
    """The outside system: answers at once."""
    return {"answer": f"ok {message.case_reference}"}


def errand_desk(
    db: Database, clock: Callable[[], datetime] | None = None, *, attach: bool = True
) -> Desk:
    """A desk on the errand workflows whose outbox is delivered right after each commit."""
    services = Services(db=db, clock=clock or Clock())
    desk = Desk(db, errand_runtime(), services)
    dispatcher = Dispatcher(desk)
    dispatcher.register_handler("errand.ask", answer)
    if attach:
        dispatcher.attach()
    return desk


def open_errand(desk: Desk, *, amount: int = 10, actor: Actor = TELLER) -> str:
    """A new errand with its intake submitted (in review when ``amount`` is large)."""
    case = desk.open_case(workflow="errand", actor=actor)
    desk.fire(reference=case.reference, trigger="submit", actor=actor,
              data={"customer": "Li Lei", "amount": amount}, version=case.version)
    return case.reference


def inconsistencies(db: Database, desk: Desk) -> list[str]:
    """What is wrong with the stored cases, journal included; empty when all is well.

    Each case is in a state its definition declares, closed exactly when that
    state is final, has an open approval exactly when it is waiting for one,
    and has its outbox message waiting while it waits for the answer and
    delivered once it has the answer.
    """
    problems = [str(b) for b in journal.verify(db).broken]
    with db.read() as conn:
        cases = conn.execute(
            text("SELECT reference, definition_hash, state, pending, closed_at FROM teller_case")
        ).all()
        open_approvals: dict[str, int] = {
            row.case_reference: int(row.n)
            for row in conn.execute(
                text("SELECT case_reference, count(*) AS n FROM approvals "
                     "WHERE decided_at IS NULL GROUP BY case_reference")
            )
        }
        outbox = {
            (row.case_reference, row.status)
            for row in conn.execute(text("SELECT case_reference, status FROM outbox"))
        }
    for case in cases:
        states = desk.workflow_of(case.definition_hash).definition.states
        where = f"{case.reference} in {case.state}"
        if case.state not in states:
            problems.append(f"{where}: state not declared")
            continue
        if states[case.state].final != (case.closed_at is not None):
            problems.append(f"{where}: closed_at={case.closed_at}")
        if open_approvals.get(case.reference, 0) != (1 if case.pending else 0):
            problems.append(f"{where}: {open_approvals.get(case.reference, 0)} open approvals")
        if case.state == "waiting" and (case.reference, "pending") not in outbox:
            problems.append(f"{where}: no pending outbox message")
        if case.state == "done" and (case.reference, "delivered") not in outbox:
            problems.append(f"{where}: its outbox message is not delivered")
    return problems
