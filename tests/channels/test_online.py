"""pos_unbind_online: a merchant applies, a reviewer approves, rejects or refers to a counter.

Every step goes through the Desk and the case is read back after it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flagship.helpers import CLEAN, PENDING_FUNDS, REGISTERED_PHONE, ZHANG_SAN, Counter, blocked
from sqlalchemy import insert

from counter.cases.sweeper import Sweeper
from counter.cases.views import CaseView
from counter.engine.types import Actor
from counter.errors import BlockedByFindings, NotFound, PermissionDenied
from counter.store.registry_tables import RegistryTerminal

from .helpers import codes, open_case, reasons, wrong

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]


def applied(desk: Counter, merchant: str = "merchant1", **changes: str) -> CaseView:
    """An application past request_code: the code went to the registered phone."""
    case = open_case(desk, "pos_unbind_online", merchant, "online")
    assert (case.state, case.channel) == ("application", "online")
    case = desk.fire(case, "request_code", CLEAN.form(**changes), actor=merchant)
    assert case.state == "code_check"
    return case


def test_the_code_message_says_where_and_to_tell_no_one(desk: Counter) -> None:
    case = applied(desk)
    [sms] = desk.sms.outbox(phone=PHONE)
    assert case.reference in sms.text and "正在网上办理" in sms.text
    assert "切勿告知任何人(包括银行工作人员)" in sms.text and "柜" not in sms.text


def submitted(desk: Counter) -> CaseView:
    case = applied(desk)
    case = desk.fire(
        case, "submit_application", {"code": desk.last_code(PHONE)}, actor="merchant1"
    )
    assert case.state == "online_review"
    return case


def test_a_clean_application_waits_for_a_reviewer_then_completes(desk: Counter) -> None:
    case = submitted(desk)
    assert codes(case) == {"online_application_review": "approve"}
    queue = desk.desk.approvals(actor=desk.actors["reviewer1"])
    assert [a.case_reference for a in queue] == [case.reference]
    case = desk.fire(case, "approve", {"comment": "looks right"}, actor="reviewer1")
    assert case.state == "completed" and case.final
    assert case.data["vars"]["merchant"]["merchant_no"] == CLEAN.merchant_no  # for the slip
    assert desk.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is None
    assert desk.acquirer.executions(case.reference)
    assert desk.desk.get(reference=case.reference, actor=desk.actors["merchant1"]).channel == (
        "online"
    )
    assert desk.desk.approvals(actor=desk.actors["reviewer1"]) == []


def test_the_reviewer_sees_the_counters_findings(desk: Counter) -> None:
    case = open_case(desk, "pos_unbind_online", "merchant2", "online")
    case = desk.fire(case, "request_code", PENDING_FUNDS.form(), actor="merchant2")
    phone = "13900139000"
    case = desk.fire(
        case, "submit_application", {"code": desk.last_code(phone)}, actor="merchant2"
    )
    assert codes(case) == {
        "pending_settlement_funds": "approve",
        "online_application_review": "approve",
    }


def test_rejected_with_a_reason(desk: Counter) -> None:
    case = submitted(desk)
    case = desk.fire(case, "reject", {"reason": "licence expired"}, actor="reviewer1")
    assert (case.state, case.final, case.pending) == ("rejected", True, None)
    assert desk.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is not None


def test_referred_to_a_counter(desk: Counter) -> None:
    case = submitted(desk)
    case = desk.fire(
        case, "refer_to_counter", {"reason": "bring the business licence"}, actor="reviewer1"
    )
    assert (case.state, case.final, case.pending) == ("referred_to_counter", True, None)
    assert case.state_title.zh == "请到银行柜面办理"
    assert reasons(case) == ["reviewer_referral"]
    assert case.data["vars"]["referral"]["merchant_no"] == CLEAN.merchant_no
    assert desk.desk.approvals(actor=desk.actors["reviewer1"]) == []
    decided = desk.desk.approvals(actor=desk.actors["reviewer1"], include_decided=True)
    assert [(a.decision, a.reason) for a in decided] == [
        ("refer_to_counter", "bring the business licence")
    ]


def test_a_merchant_applies_for_their_own_merchant_only(desk: Counter) -> None:
    case = open_case(desk, "pos_unbind_online", "merchant1", "online")
    assert blocked(
        desk, case, "request_code", PENDING_FUNDS.form(), actor="merchant1"
    ) == {"merchant_not_own": ("block", "merchant_no")}
    nobody = open_case(desk, "pos_unbind_online", "unbound", "online")
    assert blocked(desk, nobody, "request_code", CLEAN.form(), actor="unbound") == {
        "merchant_user_unbound": ("block", None)
    }


def refused(desk: Counter, case: CaseView, trigger: str, data: dict[str, str]) -> set[str]:
    """merchant2 tries a step on merchant1's case: how it is refused, and nothing changes.

    Where the Desk keeps merchants to their own cases, it does not even find
    the case (``not_found``); the workflow refuses it anyway
    (``merchant_not_own``), which ``test_the_workflow_itself_refuses`` shows.
    """
    try:
        return set(blocked(desk, case, trigger, data, actor="merchant2"))
    except NotFound:
        again = desk.reloaded(case)
        assert (again.state, again.version) == (case.state, case.version)
        return {"not_found"}


def test_a_merchant_cannot_act_on_another_merchants_application(desk: Counter) -> None:
    either = ({"merchant_not_own"}, {"not_found"})
    fresh = open_case(desk, "pos_unbind_online", "merchant1", "online")
    assert refused(desk, fresh, "withdraw", {"reason": "x"}) in either
    case = applied(desk)
    code = desk.last_code(PHONE)
    assert refused(desk, case, "submit_application", {"code": code}) in either
    assert refused(desk, case, "withdraw", {"reason": "not mine"}) in either
    case = desk.fire(case, "submit_application", {"code": code}, actor="merchant1")
    with pytest.raises((PermissionDenied, NotFound)):
        desk.fire(case, "approve", {}, actor="merchant2")


def test_the_workflow_itself_refuses_another_merchant(desk: Counter) -> None:
    """The engine's answer, whatever the Desk lets through: merchant_not_own."""
    fresh = open_case(desk, "pos_unbind_online", "merchant1", "online")
    case = applied(desk)
    runtime, services = desk.desk.runtime, desk.desk.services
    for view, trigger, data, field in (
        (fresh, "withdraw", {"reason": "x"}, None),
        (case, "withdraw", {"reason": "x"}, "merchant_no"),
        (case, "submit_application", {"code": desk.last_code(PHONE)}, "merchant_no"),
    ):
        snapshot = desk.desk.snapshot(reference=view.reference, actor=Actor.system())
        with pytest.raises(BlockedByFindings) as caught:
            runtime.decide(
                snapshot, trigger, desk.actors["merchant2"], data,
                services=services, now=desk.clock.now,
            )
        assert [(f.code, f.field) for f in caught.value.findings] == [("merchant_not_own", field)]


def test_a_merchant_cannot_read_another_merchants_application(desk: Counter) -> None:
    case = applied(desk)
    with pytest.raises(NotFound):
        desk.desk.get(reference=case.reference, actor=desk.actors["merchant2"])


def test_only_merchants_apply(desk: Counter) -> None:
    case = open_case(desk, "pos_unbind_online", "merchant1", "online")
    for actor in ("reviewer1", "agent1"):
        with pytest.raises(PermissionDenied):
            desk.fire(case, "request_code", CLEAN.form(), actor=actor)
    with pytest.raises(NotFound):  # a teller does not even see the remote centre's cases
        desk.fire(case, "request_code", CLEAN.form(), actor="teller1")


def test_a_blocking_finding_sends_the_merchant_back_to_correct(desk: Counter) -> None:
    case = applied(desk, account_number="6222021234567890136")
    code = desk.last_code(PHONE)
    assert blocked(desk, case, "submit_application", {"code": code}, actor="merchant1") == {
        "account_mismatch": ("block", "account_number")
    }
    case = desk.fire(case, "edit_application", {}, actor="merchant1")
    assert case.state == "application"
    case = desk.fire(case, "request_code", CLEAN.form(), actor="merchant1")
    assert len(desk.sms.outbox(phone=PHONE)) == 1  # the live code still stands
    case = desk.fire(case, "submit_application", {"code": code}, actor="merchant1")
    assert case.state == "online_review"


def test_wrong_codes_are_counted_and_the_third_goes_to_the_reviewer(desk: Counter) -> None:
    case = applied(desk)
    code = desk.last_code(PHONE)
    for left in (2, 1):
        with pytest.raises(BlockedByFindings) as caught:
            desk.fire(case, "submit_application", {"code": wrong(code)}, actor="merchant1")
        assert {f.code: f.field for f in caught.value.findings} == {"unbind_code_wrong": "code"}
        assert f"{left} tr" in caught.value.findings[0].message.en
    case = desk.fire(case, "submit_application", {"code": wrong(code)}, actor="merchant1")
    assert case.state == "online_review"
    assert codes(case) == {
        "unbind_code_attempts_exhausted": "approve",
        "online_application_review": "approve",
    }
    case = desk.fire(case, "refer_to_counter", {"reason": "call back failed"}, actor="reviewer1")
    assert case.state == "referred_to_counter"


def test_an_expired_code_blocks_until_a_new_one_is_sent(desk: Counter) -> None:
    case = applied(desk)
    first = desk.last_code(PHONE)
    assert blocked(desk, case, "resend_code", {}, actor="merchant1") == {
        "unbind_code_resend_too_soon": ("block", None)
    }
    desk.clock.advance(minutes=6)
    assert blocked(desk, case, "submit_application", {"code": first}, actor="merchant1") == {
        "unbind_code_expired": ("block", "code")
    }
    case = desk.fire(case, "resend_code", {}, actor="merchant1")
    assert len(desk.sms.outbox(phone=PHONE)) == 2
    case = desk.fire(
        case, "submit_application", {"code": desk.last_code(PHONE)}, actor="merchant1"
    )
    assert case.state == "online_review"


def test_the_merchant_withdraws(desk: Counter) -> None:
    case = submitted(desk)
    case = desk.fire(case, "withdraw", {"reason": "changed my mind"}, actor="merchant1")
    assert (case.state, case.state_title.en) == ("cancelled", "Withdrawn")


def test_an_idle_application_expires_but_never_while_under_review(desk: Counter) -> None:
    # Two merchants' terminals: one terminal has one open case at a time.
    left = open_case(desk, "pos_unbind_online", "merchant2", "online")
    left = desk.fire(left, "request_code", PENDING_FUNDS.form(), actor="merchant2")
    waiting = submitted(desk)
    desk.clock.advance(hours=9)
    report = Sweeper(desk.desk, idle=timedelta(hours=8)).run_once()
    assert report.expired == [left.reference]
    assert desk.reloaded(waiting).state == "online_review"
    gone = desk.desk.get(reference=left.reference, actor=Actor.system())
    assert (gone.state, gone.state_title.en) == ("expired", "Expired")


def test_a_merchant_who_changes_the_terminal_gives_the_first_one_back(desk: Counter) -> None:
    """The merchant's second terminal: the application holds whichever it names last."""
    second = "SN-PAX-000011"
    with desk.desk.db.transaction() as conn:
        conn.execute(
            insert(RegistryTerminal.__table__).values(  # type: ignore[attr-defined]
                terminal_sn=second, merchant_no=CLEAN.merchant_no, terminal_id="10000011",
                account_type="personal_card", account_number=CLEAN.account_number,
                account_holder="张三", updated_at=desk.clock.now,
            )
        )
    case = applied(desk)
    case = desk.fire(case, "edit_application", {}, actor="merchant1")
    case = desk.fire(case, "request_code", CLEAN.form(terminal_sn=second), actor="merchant1")
    counter = desk.through_identity(ZHANG_SAN)
    counter = desk.fire(counter, "submit_binding", CLEAN.form())  # the first terminal is free
    assert counter.state == "code_check"
    again = desk.through_identity(ZHANG_SAN)
    assert blocked(desk, again, "submit_binding", CLEAN.form(terminal_sn=second)) == {
        "held_by_open_case": ("block", "terminal_sn")
    }
