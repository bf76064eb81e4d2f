"""The acquirer unbinds once per case whatever happens around the outbox.

Sign-off retried (same Idempotency-Key, or a stale second attempt), the
dispatcher delivering twice, the process dying between the commit and the
delivery or in the middle of it, the acquirer failing and being retried:
``execute_unbind`` changes the registry once, under the case reference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from counter.adapters import SimulatedFailure
from counter.cases import records
from counter.cases.dispatch import OutboxMessage
from counter.cases.services import Services
from counter.cases.views import CaseView
from counter.cases.wiring import deliver_unbind
from counter.errors import InvalidTrigger, StaleVersion
from counter.store import journal

from .helpers import CLEAN, REGISTERED_PHONE, ZHANG_SAN, Counter

pytestmark = pytest.mark.postgres  # the exactly-once guarantees must hold on both databases

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]


def at_signoff(counter: Counter) -> CaseView:
    """A clean case waiting for the teller's sign-off, its SMS delivered."""
    case = counter.through_identity(ZHANG_SAN)
    case = counter.fire(case, "submit_binding", CLEAN.form())
    counter.wired.dispatcher.run_once()
    return counter.through_code(case, PHONE)


def unbind_messages(counter: Counter, reference: str) -> list[Any]:
    outbox = records.outbox
    with counter.desk.db.read() as conn:
        return list(
            conn.execute(
                select(outbox).where(
                    outbox.c.case_reference == reference, outbox.c.kind == "acquirer.unbind"
                )
            )
        )


def executed_once(counter: Counter, reference: str) -> Any:
    [execution] = counter.acquirer.executions(reference)
    assert (execution.operation, execution.outcome, execution.attempts) == ("unbind", "done", 1)
    assert counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is None
    assert journal.verify(counter.desk.db).ok
    return execution


def test_sign_off_retried_with_the_same_idempotency_key(counter_manual: Counter) -> None:
    counter = counter_manual
    case = at_signoff(counter)
    first = counter.sign_off(case, version=case.version, idempotency_key="K-1")
    again = counter.sign_off(case, version=case.version, idempotency_key="K-1")
    assert again == first and again.state == "unbind_pending"
    assert len(unbind_messages(counter, case.reference)) == 1
    counter.wired.dispatcher.run_once()
    assert counter.desk.get(reference=case.reference, actor=counter.actors["teller1"]).state == (
        "completed"
    )
    assert executed_once(counter, case.reference).replays == 0


def test_a_stale_second_sign_off_is_refused(counter_manual: Counter) -> None:
    counter = counter_manual
    case = at_signoff(counter)
    counter.sign_off(case, version=case.version)
    with pytest.raises(StaleVersion):
        counter.sign_off(case, version=case.version)
    with pytest.raises(InvalidTrigger):  # without a version: not possible in unbind_pending
        counter.sign_off(case)
    counter.wired.dispatcher.run_once()
    assert len(unbind_messages(counter, case.reference)) == 1
    assert executed_once(counter, case.reference).replays == 0


def test_the_dispatcher_delivering_twice_executes_once(counter_manual: Counter) -> None:
    counter = counter_manual
    case = at_signoff(counter)
    counter.sign_off(case)
    counter.wired.dispatcher.run_once()
    [message] = unbind_messages(counter, case.reference)
    assert message.status == "delivered"
    with counter.desk.db.transaction() as conn:  # as if the delivery had not been recorded
        conn.execute(
            update(records.outbox)
            .where(records.outbox.c.id == message.id)
            .values(status="pending", next_attempt_at=counter.clock.now)
        )
    counter.wired.dispatcher.run_once()
    case = counter.desk.get(reference=case.reference, actor=counter.actors["teller1"])
    assert case.state == "completed"
    assert executed_once(counter, case.reference).replays == 1
    triggers = [e.trigger for e in counter.desk.journal(reference=case.reference)]
    assert triggers.count("unbind_confirmed") == 1


def test_a_crash_between_commit_and_delivery(
    make_counter: Callable[..., Counter],
) -> None:
    before = make_counter(attach=False)
    case = at_signoff(before)
    before.sign_off(case)  # committed with its outbox message; nothing delivered yet
    assert before.acquirer.executions(case.reference) == []
    del before  # the process dies: its dispatcher never runs

    after = make_counter(attach=False)  # a new process over the same database
    assert after.wired.dispatcher.run_once() >= 1
    case = after.desk.get(reference=case.reference, actor=after.actors["teller1"])
    assert case.state == "completed"
    assert executed_once(after, case.reference).replays == 0


def test_a_crash_in_the_middle_of_the_delivery(make_counter: Callable[..., Counter]) -> None:
    class Died(BaseException):
        """The process ends: not an error the dispatcher could catch and retry."""

    def execute_then_die(message: OutboxMessage, services: Services) -> Any:
        deliver_unbind(message, services)  # the acquirer executed...
        raise Died  # ...but its answer never reached our database

    before = make_counter(attach=False)
    case = at_signoff(before)
    before.sign_off(case)
    before.wired.dispatcher.register_handler("acquirer.unbind", execute_then_die)
    with pytest.raises(Died):
        before.wired.dispatcher.run_once()

    after = make_counter(attach=False)
    assert after.wired.dispatcher.run_once() == 0  # claimed by the dead process: lease runs
    after.clock.advance(seconds=after.wired.dispatcher.lease.total_seconds() + 1)
    after.wired.dispatcher.run_once()
    case = after.desk.get(reference=case.reference, actor=after.actors["teller1"])
    assert case.state == "completed"
    assert executed_once(after, case.reference).replays == 1


def test_an_unavailable_acquirer_is_retried_with_backoff_then_surfaces_to_a_supervisor(
    make_counter: Callable[..., Counter],
) -> None:
    counter = make_counter(attach=False, max_attempts=3, base_delay=timedelta(seconds=2))
    dispatcher = counter.wired.dispatcher
    case = at_signoff(counter)
    counter.acquirer.simulate_failure(CLEAN.merchant_no, SimulatedFailure.UNAVAILABLE, times=5)
    counter.sign_off(case)

    assert dispatcher.run_once() == 0  # attempt 1 failed: retried in 2 s
    [message] = unbind_messages(counter, case.reference)
    assert message.attempts == 1 and message.next_attempt_at > counter.clock.now
    assert dispatcher.run_once() == 0  # not due yet
    counter.clock.advance(seconds=2)
    assert dispatcher.run_once() == 0  # attempt 2 failed: retried in 4 s
    counter.clock.advance(seconds=3)
    assert dispatcher.run_once() == 0 and unbind_messages(counter, case.reference)[0].attempts == 2
    counter.clock.advance(seconds=1)
    assert dispatcher.run_once() == 1  # attempt 3, the last: unbind_failed

    case = counter.desk.get(reference=case.reference, actor=counter.actors["supervisor1"])
    assert case.state == "acquirer_failed"
    assert set(case.available_triggers) == {"retry_unbind", "cancel"}
    failed = counter.desk.list_cases(actor=counter.actors["supervisor1"], state="acquirer_failed")
    assert [c.reference for c in failed] == [case.reference]
    teller_view = counter.desk.get(reference=case.reference, actor=counter.actors["teller1"])
    assert teller_view.available_triggers == []
    assert counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is not None

    counter.acquirer.simulate_failure(CLEAN.merchant_no, None)  # the acquirer is back
    case = counter.fire(case, "retry_unbind", {}, actor="supervisor1")
    assert case.state == "unbind_pending"
    dispatcher.run_once()
    case = counter.desk.get(reference=case.reference, actor=counter.actors["teller1"])
    assert case.state == "completed"
    [execution] = counter.acquirer.executions(case.reference)
    assert (execution.outcome, execution.attempts) == ("done", 4)  # 3 unavailable, 1 done
    assert counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is None


def test_a_refusal_surfaces_at_once_and_a_supervisor_closes_the_case(
    counter_manual: Counter,
) -> None:
    counter = counter_manual
    case = at_signoff(counter)
    counter.acquirer.simulate_failure(CLEAN.merchant_no, SimulatedFailure.REFUSED)
    counter.sign_off(case)
    assert counter.wired.dispatcher.run_once() == 1
    case = counter.desk.get(reference=case.reference, actor=counter.actors["supervisor1"])
    assert case.state == "acquirer_failed"
    assert case.data["unbind_answer"]["outcome"] == "refused"
    case = counter.fire(case, "cancel", {"reason": "acquirer refused"}, actor="supervisor1")
    assert case.state == "cancelled"
    assert counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is not None
