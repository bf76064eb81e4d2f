"""settlement_card_change: unbind the old account and bind a new one in one visit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from counter.adapters import SimulatedFailure
from counter.banking.accounts import luhn_check_digit
from counter.cases.dispatch import OutboxMessage
from counter.cases.services import Services
from counter.cases.views import CaseView
from counter.cases.wiring import deliver_unbind
from counter.store import journal

from .helpers import CLEAN, REGISTERED_PHONE, ZHANG_SAN, Counter, blocked

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]
NEW_CARD = "621700123456789" + luhn_check_digit("621700123456789")  # 16 digits, passes Luhn


def at_new_account(counter: Counter) -> CaseView:
    case = counter.through_identity(ZHANG_SAN, workflow="settlement_card_change")
    case = counter.fire(case, "submit_binding", CLEAN.form())
    assert case.state == "new_account"
    return case


def new_account(**changes: str) -> dict[str, str]:
    form = {
        "new_account_type": "personal_card",
        "new_account_number": NEW_CARD,
        "new_account_holder": "张三",
    }
    form.update(changes)
    return form


def test_a_clean_card_change_unbinds_then_binds(counter: Counter) -> None:
    case = at_new_account(counter)
    case = counter.fire(case, "submit_new_account", new_account())
    assert case.state == "code_check"
    case = counter.sign_off(counter.through_code(case, PHONE))
    assert case.state == "completed"
    bound = counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn)
    assert bound is not None and bound.account_number == NEW_CARD and bound.holder == "张三"
    executions = counter.acquirer.executions(case.reference)
    assert [(e.operation, e.outcome, e.attempts) for e in executions] == [
        ("unbind", "done", 1),
        ("bind", "done", 1),
    ]
    triggers = [
        e.trigger
        for e in counter.desk.journal(reference=case.reference)
        if e.kind in journal.STEP_KINDS  # the slip's own entry follows the steps
    ]
    assert triggers[-3:] == ["sign_off", "unbind_confirmed", "bind_confirmed"]


def test_the_merchant_itself_may_hold_a_corporate_account(counter: Counter) -> None:
    case = at_new_account(counter)
    case = counter.fire(
        case,
        "submit_new_account",
        new_account(
            new_account_type="corporate",
            new_account_number="110060123018000123",
            new_account_holder="北京示例餐饮有限公司",
        ),
    )
    assert case.state == "code_check"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"new_account_holder": "李四"}, "new_account_holder_mismatch"),
        ({"new_account_number": NEW_CARD[:-1] + str((int(NEW_CARD[-1]) + 1) % 10)},
         "new_card_luhn_failed"),
        ({"new_account_number": CLEAN.account_number}, "new_account_same_as_old"),
        ({"new_account_number": "6217001234"}, "new_account_malformed"),
    ],
)
def test_a_new_account_that_will_not_do_blocks(
    counter: Counter, changes: dict[str, str], code: str
) -> None:
    case = at_new_account(counter)
    found = blocked(counter, case, "submit_new_account", new_account(**changes))
    assert found[code][0] == "block"


def test_a_failed_bind_waits_for_a_supervisor_who_retries(
    make_counter: Callable[..., Counter],
) -> None:
    counter = make_counter(attach=False, max_attempts=1)
    dispatcher = counter.wired.dispatcher

    def unbind_then_acquirer_goes_down(message: OutboxMessage, services: Services) -> Any:
        answer = deliver_unbind(message, services)
        counter.acquirer.simulate_failure(
            CLEAN.merchant_no, SimulatedFailure.UNAVAILABLE, times=9
        )
        return answer

    dispatcher.register_handler("acquirer.unbind", unbind_then_acquirer_goes_down)
    case = at_new_account(counter)
    case = counter.fire(case, "submit_new_account", new_account())
    dispatcher.run_once()  # the SMS
    case = counter.sign_off(counter.through_code(case, PHONE))
    dispatcher.run_once()  # unbind done, bind unavailable: no retries left
    case = counter.desk.get(reference=case.reference, actor=counter.actors["supervisor1"])
    assert case.state == "bind_failed"
    assert set(case.available_triggers) == {"retry_bind", "cancel"}
    assert counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is None

    counter.acquirer.simulate_failure(CLEAN.merchant_no, None)
    case = counter.fire(case, "retry_bind", {}, actor="supervisor1")
    dispatcher.run_once()
    case = counter.desk.get(reference=case.reference, actor=counter.actors["teller1"])
    assert case.state == "completed"
    bound = counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn)
    assert bound is not None and bound.account_number == NEW_CARD
    assert [e.operation for e in counter.acquirer.executions(case.reference)] == ["unbind", "bind"]
