"""Walks that leave a case where a test needs it: open, waiting for approval, done, cancelled."""

from __future__ import annotations

from flagship.helpers import (
    CHEN_SAN,
    CLEAN,
    REGISTERED_PHONE,
    ZHANG_SAN,
    Counter,
    Person,
    identity_form,
)

from counter.branchday import open_counter
from counter.cases.views import CaseView


def open_at(counter: Counter, teller: str = "teller1", window: int = 1) -> None:
    open_counter(
        counter.desk.db, actor=counter.actors[teller], window=window, now=counter.clock.now
    )


def identified(counter: Counter, teller: str = "teller1", person: Person = ZHANG_SAN) -> CaseView:
    case = counter.open(actor=teller)
    counter.clock.advance(seconds=30)
    return counter.fire(
        case, "submit_identity", identity_form(person, counter.today()), actor=teller
    )


def completed(counter: Counter, teller: str = "teller1") -> CaseView:
    """A clean unbind to the end (the local acquirer answers at once, the slip is issued)."""
    case = identified(counter, teller)
    counter.clock.advance(seconds=50)
    case = counter.fire(case, "submit_binding", CLEAN.form(), actor=teller)
    counter.clock.advance(seconds=40)
    code = counter.last_code(REGISTERED_PHONE[CLEAN.merchant_no])
    case = counter.fire(case, "confirm_code", {"code": code}, actor=teller)
    counter.clock.advance(seconds=20)
    case = counter.sign_off(case, actor=teller)
    assert case.state == "completed", case.state
    return case


def awaiting_approval(counter: Counter, teller: str = "teller1") -> CaseView:
    """A case whose identity step raised findings a supervisor must approve."""
    case = identified(counter, teller, CHEN_SAN)
    assert case.state == "supervisor_review", case.state
    return case


def cancelled(counter: Counter, teller: str = "teller1", reason: str = "客户改期") -> CaseView:
    case = counter.open(actor=teller)
    counter.clock.advance(seconds=15)
    case = counter.fire(case, "cancel", {"reason": reason}, actor=teller)
    assert case.state == "cancelled"
    return case
