"""The identity step's findings: what blocks, what goes to a supervisor, where the case goes."""

from __future__ import annotations

from typing import Any

import pytest

from counter.config import Settings

from .helpers import (
    CHEN_SAN,
    FENG_ER,
    HE_WU,
    LIU_SI,
    QIAN_QI,
    WU_SHI,
    ZHANG_SAN,
    ZHAO_LIU,
    Counter,
    Person,
    blocked,
    identity_form,
    pending_findings,
)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"id_number": "11010519800101001"}, "id_number_malformed", "id_number"),
        ({"id_number": "110105198001010017"}, "id_number_check_character", "id_number"),
        ({"id_number": "110105800101001"}, "id_number_legacy", "id_number"),
        ({"id_type": "travel_permit_hk_mo", "id_number": "X1234567"}, "id_number_malformed",
         "id_number"),
        ({"id_expiry": "2020-01-01"}, "id_document_expired", "id_expiry"),
        # long-term cards are issued from 46; 吴十 was born in 1992
        ({"id_number": WU_SHI.id_number, "name": WU_SHI.name, "id_expiry": "long_term"},
         "id_expiry_implausible", "id_expiry"),
    ],
)
def test_a_bad_document_blocks_with_a_field_error(
    counter: Counter, changes: dict[str, str], code: str, field: str
) -> None:
    case = counter.open()
    form = identity_form(ZHANG_SAN, counter.today(), **changes)
    assert blocked(counter, case, "submit_identity", form) == {code: ("block", field)}


def test_legacy_number_message_says_why(counter: Counter) -> None:
    from counter.errors import BlockedByFindings

    case = counter.open()
    form = identity_form(ZHANG_SAN, counter.today(), id_number="110105800101001")
    with pytest.raises(BlockedByFindings) as caught:
        counter.fire(case, "submit_identity", form)
    [finding] = caught.value.findings
    assert "15" in finding.message.zh and "18" in finding.message.en
    assert finding.evidence["id_number"] == "110********1001"  # masked


@pytest.mark.parametrize(
    ("person", "code"),
    [(QIAN_QI, "identity_mismatch"), (LIU_SI, "identity_not_found")],
)
def test_online_verification_refusal_blocks(counter: Counter, person: Person, code: str) -> None:
    case = counter.open()
    found = blocked(counter, case, "submit_identity", identity_form(person, counter.today()))
    assert list(found) == [code] and found[code][0] == "block"


@pytest.mark.parametrize(
    ("person", "options", "code"),
    [
        (HE_WU, {}, "identity_check_unavailable"),
        (CHEN_SAN, {}, "photo_score_low"),
        (ZHAO_LIU, {"acting_as": "agent", "principal": FENG_ER, "mandate_ref": "WT-2026-0001"},
         "agent_with_mandate"),
    ],
)
def test_approvable_identity_findings_go_to_a_supervisor_and_on(
    counter: Counter, person: Person, options: dict[str, Any], code: str
) -> None:
    case = counter.open()
    case = counter.identify(case, person, **options)
    assert case.state == "supervisor_review"
    assert pending_findings(case) == {code: "approve"}
    assert case.pending is not None and case.pending.dest == "info_check"
    queue = counter.desk.approvals(actor=counter.actors["supervisor1"])
    assert [a.case_reference for a in queue] == [case.reference]
    case = counter.fire(case, "approve", {"comment": "checked by hand"}, actor="supervisor1")
    assert case.state == "info_check" and case.pending is None


def test_photo_threshold_is_a_setting(counter: Counter, settings: Settings) -> None:
    counter.desk.services.settings = settings.model_copy(update={"photo_score_threshold": 50})
    case = counter.identify(counter.open(), CHEN_SAN)  # score 58
    assert case.state == "info_check"


def test_photo_score_evidence_is_masked(counter: Counter) -> None:
    case = counter.identify(counter.open(), CHEN_SAN)
    assert case.pending is not None
    [finding] = case.pending.findings
    assert finding.evidence["score"] == 58 and finding.evidence["threshold"] == 70
    assert finding.evidence["id_number"] == "110***********002X"
    assert finding.evidence["name"] == "陈*"


def test_an_agent_without_mandate_is_blocked(counter: Counter) -> None:
    case = counter.open()
    form = identity_form(ZHAO_LIU, counter.today(), acting_as="agent", principal=FENG_ER)
    assert blocked(counter, case, "submit_identity", form) == {
        "agent_mandate_missing": ("block", "mandate_ref")
    }


def test_an_agent_must_name_the_principal(counter: Counter) -> None:
    from counter.errors import InvalidInput

    case = counter.open()
    form = identity_form(ZHAO_LIU, counter.today(), acting_as="agent", mandate_ref="WT-1")
    with pytest.raises(InvalidInput) as caught:
        counter.fire(case, "submit_identity", form)
    assert [e.field for e in caught.value.fields] == ["principal_id_number"]
