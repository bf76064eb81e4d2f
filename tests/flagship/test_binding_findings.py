"""The binding step's findings: the merchant, terminal, account and person against the registry."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import (
    AGENT_ONLY,
    CHEN_SAN,
    CLEAN,
    CLOSED,
    CORPORATE,
    FENG_ER,
    FROZEN,
    LI_SI,
    PENDING_FUNDS,
    PILOT,
    RECENT_CHANGE,
    REGISTERED_PHONE,
    RISK_FLAGGED,
    SUN_BA,
    WANG_WU,
    WU_SHI,
    ZHANG_SAN,
    ZHAO_LIU,
    ZHENG_YI,
    ZHOU_JIU,
    Binding,
    Counter,
    Person,
    blocked,
    pending_findings,
)

AS_AGENT_FOR_FENG_ER = {"acting_as": "agent", "principal": FENG_ER, "mandate_ref": "WT-2026-0001"}


@pytest.mark.parametrize(
    ("person", "binding", "changes", "code", "field"),
    [
        (ZHANG_SAN, CLEAN, {"merchant_no": "102110058129999"}, "merchant_unknown", "merchant_no"),
        (ZHOU_JIU, CLOSED, {}, "merchant_closed", "merchant_no"),
        (SUN_BA, FROZEN, {}, "merchant_frozen_judicial", None),
        (ZHANG_SAN, CLEAN, {"terminal_sn": "SN-PAX-000002"}, "terminal_not_registered",
         "terminal_sn"),
        (ZHANG_SAN, CLEAN, {"account_number": PENDING_FUNDS.account_number}, "account_mismatch",
         "account_number"),
        (ZHANG_SAN, CLEAN, {"uscc": PENDING_FUNDS.uscc}, "uscc_mismatch", "uscc"),
        (ZHANG_SAN, PENDING_FUNDS, {}, "person_not_authorised", None),
    ],
)
def test_a_registry_mismatch_blocks(
    counter: Counter,
    person: Person,
    binding: Binding,
    changes: dict[str, str],
    code: str,
    field: str | None,
) -> None:
    case = counter.through_identity(person)
    found = blocked(counter, case, "submit_binding", binding.form(**changes))
    assert found == {code: ("block", field)}


def test_account_mismatch_evidence_is_masked(counter: Counter) -> None:
    from counter.errors import BlockedByFindings

    case = counter.through_identity(ZHANG_SAN)
    with pytest.raises(BlockedByFindings) as caught:
        counter.fire(case, "submit_binding", CLEAN.form(account_number="6217001234000056786"))
    [finding] = caught.value.findings
    assert finding.evidence == {
        "presented": "621700*********6786",
        "on_record": "622202*********0128",
    }


def test_an_agent_for_someone_else_is_not_authorised(counter: Counter) -> None:
    case = counter.through_identity(
        ZHAO_LIU, acting_as="agent", principal=ZHANG_SAN, mandate_ref="WT-9"
    )
    found = blocked(counter, case, "submit_binding", AGENT_ONLY.form())
    assert found == {"person_not_authorised": ("block", None)}


@pytest.mark.parametrize(
    ("person", "binding", "expected"),
    [
        (WANG_WU, RISK_FLAGGED, {"merchant_risk_flagged": "approve"}),
        (LI_SI, PENDING_FUNDS, {"pending_settlement_funds": "approve"}),
        (WU_SHI, RECENT_CHANGE, {"binding_changed_recently": "approve"}),
        (CHEN_SAN, PILOT, {"card_luhn_failed": "approve", "uscc_check_failed": "approve"}),
    ],
)
def test_approvable_binding_findings_wait_for_a_supervisor_then_send_the_code(
    counter: Counter, person: Person, binding: Binding, expected: dict[str, str]
) -> None:
    case = counter.through_identity(person)
    case = counter.fire(case, "submit_binding", binding.form())
    assert case.state == "supervisor_review"
    assert pending_findings(case) == expected
    assert "unbind_code" not in case.data["vars"]  # no code goes out before approval
    luhn = "card_luhn_failed" in expected  # the supervisor re-keys the account blind
    rekey = {"rekey_account_number": binding.account_number} if luhn else {}
    risk = "merchant_risk_flagged" in expected  # needs the branch manager's authority
    case = counter.fire(case, "approve", rekey, actor="manager1" if risk else "supervisor1")
    assert case.state == "code_check"
    assert case.data["vars"]["unbind_code"]["sends"] == 1
    assert case.data["vars"]["merchant"]["merchant_no"] == binding.merchant_no  # after approval


def test_pending_funds_evidence_holds_the_amount(counter: Counter) -> None:
    case = counter.fire(counter.through_identity(LI_SI), "submit_binding", PENDING_FUNDS.form())
    assert case.pending is not None
    [finding] = case.pending.findings
    assert finding.evidence == {"pending_settlement_cents": 1250000}
    assert "12,500.00" in finding.message.zh


def test_recent_change_counts_days(counter: Counter) -> None:
    case = counter.fire(counter.through_identity(WU_SHI), "submit_binding", RECENT_CHANGE.form())
    assert case.pending is not None
    assert case.pending.findings[0].evidence["days"] == 10


@pytest.mark.parametrize(
    ("person", "options", "binding"),
    [
        (ZHENG_YI, {}, CORPORATE),
        (ZHAO_LIU, AS_AGENT_FOR_FENG_ER, AGENT_ONLY),
    ],
)
def test_clean_bindings_go_straight_to_the_code(
    counter: Counter, person: Person, options: dict[str, Any], binding: Binding
) -> None:
    case = counter.through_identity(person, **options)
    case = counter.fire(case, "submit_binding", binding.form())
    assert case.state == "code_check" and case.findings == []


def test_the_code_goes_to_the_registered_phone_only(counter: Counter) -> None:
    case = counter.through_identity(ZHAO_LIU, **AS_AGENT_FOR_FENG_ER)
    case = counter.fire(case, "submit_binding", AGENT_ONLY.form())
    [sms] = counter.sms.outbox()
    assert sms.phone == REGISTERED_PHONE[AGENT_ONLY.merchant_no]
    assert case.reference in sms.text
    assert "正在柜面办理" in sms.text and sms.text.endswith("请仅告知办理柜员。")
    assert case.data["vars"]["unbind_code"]["sent_to"] == "159****9000"
