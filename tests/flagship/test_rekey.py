"""Blind re-keying: a card failing Luhn is approved only if the supervisor types it again."""

from __future__ import annotations

import pytest

from counter.errors import BlockedByFindings
from counter.store import journal

from .helpers import CHEN_SAN, PILOT, RISK_FLAGGED, WANG_WU, Counter


def test_a_mismatch_is_refused_and_a_match_approves(counter: Counter) -> None:
    case = counter.through_identity(CHEN_SAN)
    case = counter.fire(case, "submit_binding", PILOT.form())
    assert case.state == "supervisor_review"
    reference, version = case.reference, case.version
    snapshot = counter.desk.snapshot(reference=reference, actor=counter.actors["supervisor1"])
    [(path, field)] = counter.desk.runtime.rekey_fields(snapshot).items()
    assert path == "pos_binding.account_number"
    assert (field.name, field.secret, field.pii) == ("rekey_account_number", True, "account")
    wrong = PILOT.account_number[:-1] + "1"
    for typed in ({}, {"pos_binding.account_number": wrong}):
        with pytest.raises(BlockedByFindings) as caught:
            counter.desk.approve(
                reference=reference, actor=counter.actors["supervisor1"], rekey=typed
            )
        [finding] = caught.value.findings
        assert finding.code == ("rekey_mismatch" if typed else "rekey_missing")
        assert finding.field == "rekey_account_number"
        assert wrong not in str(finding.as_dict()) and PILOT.account_number not in str(
            finding.as_dict()
        )
        case = counter.desk.get(reference=reference, actor=counter.actors["supervisor1"])
        assert (case.state, case.version) == ("supervisor_review", version)  # nothing changed
    spaced = " ".join(PILOT.account_number[i : i + 4] for i in range(0, 19, 4))
    case = counter.desk.approve(
        reference=reference, actor=counter.actors["supervisor1"],
        rekey={"pos_binding.account_number": spaced},
    )
    assert counter.reloaded(case).state == "code_check"
    entries = counter.desk.journal(reference=reference)
    assert entries[-1].kind == "approval"
    assert all(PILOT.account_number not in (e.note or "") for e in entries)
    assert journal.verify(counter.desk.db).ok


def test_other_findings_ask_for_no_rekey(counter: Counter) -> None:
    case = counter.through_identity(WANG_WU)
    case = counter.fire(case, "submit_binding", RISK_FLAGGED.form())
    snapshot = counter.desk.snapshot(reference=case.reference, actor=counter.actors["supervisor1"])
    assert counter.desk.runtime.rekey_fields(snapshot) == {}
    case = counter.fire(case, "approve", {}, actor="manager1")  # risk flag: branch manager
    assert case.state == "code_check"
