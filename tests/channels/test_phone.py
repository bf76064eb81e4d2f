"""pos_unbind_phone: a service agent takes the call; findings to the reviewer; referrals.

Every step goes through the Desk and the case is read back after it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flagship.helpers import (
    CLEAN,
    FROZEN,
    PENDING_FUNDS,
    REGISTERED_PHONE,
    RISK_FLAGGED,
    Counter,
    blocked,
)

from counter.cases.sweeper import Sweeper
from counter.cases.views import CaseView
from counter.errors import BlockedByFindings, InvalidInput, NotFound, PermissionDenied

from .helpers import call_form, codes, open_case, reasons, wrong

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]
PENDING_PHONE = "13900139000"


def called(desk: Counter, form: dict[str, str]) -> CaseView:
    case = open_case(desk, "pos_unbind_phone", "agent1", "phone")
    assert (case.state, case.channel) == ("call_details", "phone")
    return desk.fire(case, "record_call", form, actor="agent1")


def test_a_clean_call_unbinds_once_the_code_is_read_back(desk: Counter) -> None:
    case = called(desk, call_form(CLEAN))
    assert case.state == "code_check"
    [sms] = desk.sms.outbox(phone=PHONE)
    assert "正在电话办理" in sms.text and "请仅告知本次通话中为您办理的客服人员" in sms.text
    case = desk.fire(case, "confirm_code", {"code": desk.last_code(PHONE)}, actor="agent1")
    assert (case.state, case.final) == ("completed", True)
    assert desk.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is None
    assert case.data["vars"]["merchant"]["merchant_no"] == CLEAN.merchant_no
    assert "account_number" not in case.data["phone_call"]  # only the last 4 were asked
    # Unbound now: a second call is refused, not referred, even from someone else.
    again = open_case(desk, "pos_unbind_phone", "agent1", "phone")
    by_agent = call_form(CLEAN, caller="agent")
    assert blocked(desk, again, "record_call", by_agent, actor="agent1") == {
        "terminal_not_bound": ("block", "terminal_sn")
    }


def test_what_a_counter_sends_to_a_supervisor_goes_to_the_reviewer(desk: Counter) -> None:
    case = called(desk, call_form(PENDING_FUNDS))
    case = desk.fire(
        case, "confirm_code", {"code": desk.last_code(PENDING_PHONE)}, actor="agent1"
    )
    assert case.state == "phone_review"
    assert codes(case) == {"pending_settlement_funds": "approve"}
    with pytest.raises(PermissionDenied):
        desk.fire(case, "approve", {}, actor="agent1")
    case = desk.fire(case, "approve", {"comment": "funds settle Friday"}, actor="reviewer1")
    assert case.state == "completed"


def test_the_reviewer_rejects(desk: Counter) -> None:
    case = called(desk, call_form(PENDING_FUNDS))
    case = desk.fire(
        case, "confirm_code", {"code": desk.last_code(PENDING_PHONE)}, actor="agent1"
    )
    case = desk.fire(case, "reject", {"reason": "settle first"}, actor="reviewer1")
    assert (case.state, case.final) == ("rejected", True)
    assert desk.acquirer.settlement_account(
        PENDING_FUNDS.merchant_no, PENDING_FUNDS.terminal_sn
    ) is not None


def test_the_reviewer_refers_to_a_counter(desk: Counter) -> None:
    case = called(desk, call_form(PENDING_FUNDS))
    case = desk.fire(
        case, "confirm_code", {"code": desk.last_code(PENDING_PHONE)}, actor="agent1"
    )
    case = desk.fire(case, "refer_to_counter", {"reason": "see the owner"}, actor="reviewer1")
    assert case.state == "referred_to_counter"
    assert reasons(case) == ["reviewer_referral"]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (call_form(CLEAN, caller="agent"), ["caller_not_legal_rep"]),
        (call_form(CLEAN, account_last4="0000"), ["account_last4_mismatch"]),
        (call_form(RISK_FLAGGED), ["merchant_risk_flagged"]),
        (
            call_form(RISK_FLAGGED, caller="agent", account_last4="9999"),
            ["merchant_risk_flagged", "caller_not_legal_rep", "account_last4_mismatch"],
        ),
    ],
    ids=["agent", "last4", "risk", "all"],
)
def test_calls_that_need_a_document_check_go_to_a_counter(
    desk: Counter, form: dict[str, str], expected: list[str]
) -> None:
    case = called(desk, form)
    assert (case.state, case.final) == ("referred_to_counter", True)
    assert case.state_title.en == "Referred to a branch counter"
    assert reasons(case) == expected
    assert case.data["vars"]["referral"]["referred_by"] == "agent1"
    assert desk.sms.outbox() == []  # no code is sent for a call that goes to a counter


def test_the_third_wrong_code_goes_to_a_counter(desk: Counter) -> None:
    case = called(desk, call_form(CLEAN))
    code = desk.last_code(PHONE)
    for left in (2, 1):
        with pytest.raises(BlockedByFindings) as caught:
            desk.fire(case, "confirm_code", {"code": wrong(code)}, actor="agent1")
        assert f"{left} tr" in caught.value.findings[0].message.en
    case = desk.fire(case, "confirm_code", {"code": wrong(code)}, actor="agent1")
    assert case.state == "referred_to_counter"
    kept = case.data["vars"]["unbind_code"]
    assert (kept["attempts"], kept["attempts_left"]) == (3, 0)
    assert reasons(case) == ["unbind_code_attempts_exhausted"]


def test_an_expired_code_blocks_until_resent(desk: Counter) -> None:
    case = called(desk, call_form(CLEAN))
    first = desk.last_code(PHONE)
    assert blocked(desk, case, "resend_code", {}, actor="agent1") == {
        "unbind_code_resend_too_soon": ("block", None)
    }
    desk.clock.advance(minutes=6)
    assert blocked(desk, case, "confirm_code", {"code": first}, actor="agent1") == {
        "unbind_code_expired": ("block", "code")
    }
    case = desk.fire(case, "resend_code", {}, actor="agent1")
    assert len(desk.sms.outbox(phone=PHONE)) == 2
    case = desk.fire(case, "confirm_code", {"code": desk.last_code(PHONE)}, actor="agent1")
    assert case.state == "completed"


def test_what_a_counter_refuses_the_phone_refuses(desk: Counter) -> None:
    case = open_case(desk, "pos_unbind_phone", "agent1", "phone")
    assert blocked(desk, case, "record_call", call_form(FROZEN), actor="agent1") == {
        "merchant_frozen_judicial": ("block", None)
    }
    unknown = call_form(CLEAN, merchant_no="102110058129999")
    assert blocked(desk, case, "record_call", unknown, actor="agent1") == {
        "merchant_unknown": ("block", "merchant_no")
    }
    other = call_form(CLEAN, terminal_sn="SN-PAX-000002")
    assert blocked(desk, case, "record_call", other, actor="agent1") == {
        "terminal_not_registered": ("block", "terminal_sn")
    }
    with pytest.raises(InvalidInput) as caught:
        desk.fire(case, "record_call", call_form(CLEAN, account_last4="12a4"), actor="agent1")
    assert [e.field for e in caught.value.fields] == ["account_last4"]
    case = desk.fire(case, "cancel", {"reason": "caller hung up"}, actor="agent1")
    assert case.state == "cancelled"


def test_only_service_agents_take_calls(desk: Counter) -> None:
    case = open_case(desk, "pos_unbind_phone", "agent1", "phone")
    with pytest.raises(PermissionDenied):
        desk.fire(case, "record_call", call_form(CLEAN), actor="reviewer1")
    with pytest.raises((PermissionDenied, NotFound)):  # NotFound: not the merchant's own case
        desk.fire(case, "record_call", call_form(CLEAN), actor="merchant1")
    with pytest.raises(NotFound):
        desk.fire(case, "record_call", call_form(CLEAN), actor="teller1")


def test_a_half_done_call_expires(desk: Counter) -> None:
    case = called(desk, call_form(CLEAN))
    desk.clock.advance(hours=9)
    assert Sweeper(desk.desk, idle=timedelta(hours=8)).run_once().expired == [case.reference]
    assert desk.reloaded(case).state == "expired"
