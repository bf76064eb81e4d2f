"""The clean path: a legal representative unbinds their terminal without a finding."""

from __future__ import annotations

import pytest

from counter.store import journal

from .helpers import CLEAN, REGISTERED_PHONE, ZHANG_SAN, Counter

pytestmark = pytest.mark.postgres


def test_clean_unbind_completes_and_unbinds_at_the_acquirer(counter: Counter) -> None:
    case = counter.open()
    assert case.state == "identity_check"
    case = counter.identify(case, ZHANG_SAN)
    assert case.state == "info_check" and case.findings == []
    case = counter.fire(case, "submit_binding", CLEAN.form())
    assert case.state == "code_check"
    assert case.data["vars"]["merchant"] == {
        "merchant_no": CLEAN.merchant_no,
        "merchant_name": "北京示例餐饮有限公司",
        "legal_rep_name": "张三",
        "account_type": "personal_card",
        "account_holder": "张三",
    }
    sent = case.data["vars"]["unbind_code"]
    assert sent["sent_to"] == "138****8000"
    # only the code's HMAC and time are kept, never the code (wrong tries: the journal)
    assert set(sent) == {"digest", "nonce", "issued_at", "sent_to", "sends"}
    case = counter.through_code(case, REGISTERED_PHONE[CLEAN.merchant_no])
    case = counter.sign_off(case)
    # the acquirer's answer came through the outbox, right after the sign-off committed
    assert case.state == "completed" and case.final
    journal_steps = [
        e.trigger
        for e in counter.desk.journal(reference=case.reference)
        if e.kind in journal.STEP_KINDS  # the slip's own entry follows the steps
    ]
    assert journal_steps[-2:] == ["sign_off", "unbind_confirmed"]
    assert case.data["unbind_answer"]["outcome"] == "done"
    assert counter.acquirer.settlement_account(CLEAN.merchant_no, CLEAN.terminal_sn) is None
    [execution] = counter.acquirer.executions(case.reference)
    assert (execution.operation, execution.attempts, execution.replays) == ("unbind", 1, 0)
    assert "password" not in str(case.data) and "code" not in case.data["unbind_code"]
    assert journal.verify(counter.desk.db).ok
