"""One open case per terminal: the step that names it takes it, the case's end gives it back.

``workflows/pos_unbind.yaml`` and ``settlement_card_change.yaml`` hold the
terminal named at ``submit_binding`` (``holds``); the database's unique
index decides between two cases racing for it (``counter.cases.reservations``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter.cases.sweeper import Sweeper
from counter.cases.views import CaseView
from counter.engine.types import Actor
from counter.errors import BlockedByFindings

from .helpers import (
    CLEAN,
    CORPORATE,
    LI_SI,
    PENDING_FUNDS,
    REGISTERED_PHONE,
    ZHANG_SAN,
    ZHENG_YI,
    Binding,
    Counter,
)

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]


def at_binding(counter: Counter, workflow: str = "pos_unbind", who: object = ZHANG_SAN) -> CaseView:
    return counter.through_identity(who, workflow=workflow)  # type: ignore[arg-type]


def refused(counter: Counter, case: CaseView, binding: Binding = CLEAN) -> BlockedByFindings:
    """Submit ``binding`` on ``case``: it must be refused, and the case must not move."""
    with pytest.raises(BlockedByFindings) as caught:
        counter.fire(case, "submit_binding", binding.form())
    again = counter.reloaded(case)
    assert (again.state, again.version, again.data) == (case.state, case.version, case.data)
    return caught.value


def test_a_second_open_case_on_a_terminal_is_blocked_naming_the_first(counter: Counter) -> None:
    first = counter.fire(at_binding(counter), "submit_binding", CLEAN.form())
    assert first.state == "code_check"
    second = at_binding(counter)
    blocked = refused(counter, second)
    [finding] = blocked.findings
    assert (finding.code, str(finding.severity), finding.field) == (
        "held_by_open_case",
        "block",
        "terminal_sn",
    )
    assert finding.message.zh == f"终端 {CLEAN.terminal_sn} 已有进行中的业务 {first.reference}"
    assert finding.message.en == (
        f"Terminal {CLEAN.terminal_sn} already has an open case, {first.reference}"
    )
    assert [(f.field, f.code) for f in blocked.fields] == [("terminal_sn", "held_by_open_case")]
    assert finding.evidence == {"case_reference": first.reference}


def test_the_case_holding_the_terminal_goes_on(counter: Counter) -> None:
    first = counter.fire(at_binding(counter), "submit_binding", CLEAN.form())
    refused(counter, at_binding(counter))
    done = counter.sign_off(counter.through_code(first, PHONE))
    assert done.state == "completed"


def test_a_case_waiting_for_a_supervisor_holds_its_terminal(counter: Counter) -> None:
    waiting = counter.fire(at_binding(counter, who=LI_SI), "submit_binding", PENDING_FUNDS.form())
    assert waiting.state == "supervisor_review"
    finding = refused(counter, at_binding(counter, who=LI_SI), PENDING_FUNDS).findings[0]
    assert waiting.reference in finding.message.en


def _cancelled(counter: Counter) -> str:
    case = counter.fire(at_binding(counter), "submit_binding", CLEAN.form())
    return counter.fire(case, "cancel", {"reason": "客户改日再来"}).state


NEW_CARD = "6217001234567893"  # passes Luhn


def _completed(counter: Counter) -> str:
    """A card change: once it completes, the terminal settles to ``NEW_CARD``."""
    case = counter.fire(
        at_binding(counter, "settlement_card_change"), "submit_binding", CLEAN.form()
    )
    case = counter.fire(
        case,
        "submit_new_account",
        {
            "new_account_type": "personal_card",
            "new_account_number": NEW_CARD,
            "new_account_holder": "张三",
        },
    )
    return counter.sign_off(counter.through_code(case, PHONE)).state


def _expired(counter: Counter) -> str:
    case = counter.fire(at_binding(counter), "submit_binding", CLEAN.form())
    counter.clock.advance(hours=9)
    assert Sweeper(counter.desk, idle=timedelta(hours=8)).run_once().expired == [case.reference]
    return str(counter.desk.get(reference=case.reference, actor=Actor.system()).state)


@pytest.mark.parametrize(
    ("ending", "state"),
    [(_cancelled, "cancelled"), (_completed, "completed"), (_expired, "expired")],
)
def test_the_terminal_is_free_again_once_its_case_ends(
    counter: Counter, ending: Callable[[Counter], str], state: str
) -> None:
    assert ending(counter) == state
    account = NEW_CARD if state == "completed" else CLEAN.account_number
    case = counter.fire(
        at_binding(counter), "submit_binding", CLEAN.form(account_number=account)
    )
    # (a binding changed today goes to a supervisor: taken all the same)
    assert case.state == ("supervisor_review" if state == "completed" else "code_check")


def test_a_rejected_case_gives_its_terminal_back(counter: Counter) -> None:
    waiting = counter.fire(at_binding(counter, who=LI_SI), "submit_binding", PENDING_FUNDS.form())
    rejected = counter.fire(waiting, "reject", {"reason": "资金未结清"}, actor="supervisor1")
    assert rejected.state == "rejected"
    again = counter.fire(at_binding(counter, who=LI_SI), "submit_binding", PENDING_FUNDS.form())
    assert again.state == "supervisor_review"


def test_an_unbind_and_a_card_change_share_the_terminal(counter: Counter) -> None:
    change = counter.fire(
        at_binding(counter, "settlement_card_change"), "submit_binding", CLEAN.form()
    )
    assert change.state == "new_account"
    finding = refused(counter, at_binding(counter)).findings[0]
    assert change.reference in finding.message.zh
    counter.fire(change, "cancel", {"reason": "改办解绑"})
    unbind = counter.fire(at_binding(counter), "submit_binding", CLEAN.form())
    finding = refused(counter, at_binding(counter, "settlement_card_change")).findings[0]
    assert unbind.reference in finding.message.zh


@pytest.mark.postgres
def test_parallel_cases_for_one_terminal_let_one_through(counter: Counter, db_kind: str) -> None:
    """Six tellers submit the same terminal at once: exactly one case takes it."""
    cases = [at_binding(counter) for _ in range(6)]
    start = threading.Barrier(len(cases))
    teller = counter.actors["teller1"]

    def submit(case: CaseView) -> str:
        start.wait()
        try:
            counter.desk.fire(
                reference=case.reference,
                trigger="submit_binding",
                actor=teller,
                data=CLEAN.form(),
                version=case.version,
            )
        except BlockedByFindings as blocked:
            return str(blocked.findings[0].code)
        return "taken"

    with ThreadPoolExecutor(len(cases)) as pool:
        outcomes = list(pool.map(submit, cases))
    assert sorted(outcomes) == ["held_by_open_case"] * 5 + ["taken"]
    states = [counter.desk.get(reference=c.reference, actor=teller).state for c in cases]
    assert sorted(states) == ["code_check"] + ["info_check"] * 5


TERMINALS = (CORPORATE.terminal_sn, "SN-NEW-000008")  # the corporate merchant's two terminals
Step = tuple[str, int, int]  # ("submit", case, terminal) or ("cancel", case, _)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["submit", "cancel"]), st.integers(0, 2), st.integers(0, 1)),
        min_size=1,
        max_size=8,
    )
)
def test_whatever_the_order_a_terminal_has_at_most_one_open_case(
    counter: Counter, steps: list[Step]
) -> None:
    """Three cases, two terminals, submissions and cancellations in any order: a submission
    goes through exactly when no open case holds its terminal."""
    cases = [at_binding(counter, who=ZHENG_YI) for _ in range(3)]
    holder: dict[int, int] = {}  # terminal -> case holding it
    ended: set[int] = set()
    for action, index, terminal in steps:
        case = counter.reloaded(cases[index])
        if index in ended or (action == "submit" and case.state != "info_check"):
            continue
        if action == "cancel":
            cases[index] = counter.fire(case, "cancel", {"reason": "客户离开"})
            ended.add(index)
            holder = {t: i for t, i in holder.items() if i != index}
            continue
        binding = dataclasses.replace(CORPORATE, terminal_sn=TERMINALS[terminal])
        if terminal in holder:
            [finding] = refused(counter, case, binding).findings
            assert finding.code == "held_by_open_case"
            assert cases[holder[terminal]].reference in finding.message.en
        else:
            cases[index] = counter.fire(case, "submit_binding", binding.form())
            assert cases[index].state == "code_check"
            holder[terminal] = index
    for index in set(range(3)) - ended:  # free the terminals for the next example
        counter.fire(counter.reloaded(cases[index]), "cancel", {"reason": "客户离开"})
