"""Whole parcel cases through the desk, reloading from the database after every step."""

from __future__ import annotations

import pytest
from engine.parcel import (
    AUDITOR,
    GOOD_CODE,
    IDENTITY,
    SUPERVISOR,
    TELLER,
    TELLER2,
    parcel_runtime,
)

from counter.cases.desk import Desk
from counter.cases.views import CaseView
from counter.engine.types import Actor
from counter.errors import (
    BlockedByFindings,
    FourEyesViolation,
    InvalidInput,
    InvalidTrigger,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from counter.store import journal
from counter.text import Text

OTHER_BRANCH = Actor("olga", frozenset({"teller"}), branch="SH001")


def step(desk: Desk, view: CaseView, trigger: str, actor: Actor, **data: object) -> CaseView:
    """Fire, then reload: the stored case must be exactly what the step returned."""
    after = desk.fire(
        reference=view.reference, trigger=trigger, actor=actor, data=data, version=view.version
    )
    assert after.version == view.version + 1
    assert desk.get(reference=view.reference, actor=actor) == after
    return after


@pytest.mark.postgres
def test_a_clean_case_from_open_to_delivered(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    assert view.reference.startswith("BJ001-")
    assert len(view.reference) == len("BJ001-20261125-000001")
    assert (view.state, view.version, view.opened_by) == ("identify", 1, "tina")
    assert desk.get(reference=view.reference, actor=TELLER) == view
    view = step(desk, view, "submit_identity", TELLER, **IDENTITY)
    assert view.state == "verify_code" and view.data["vars"]["codes_sent"] == 1
    view = step(desk, view, "submit_code", TELLER, code=GOOD_CODE)
    assert "code" not in view.data.get("pickup_code", {})  # secrets are never stored
    view = step(desk, view, "hand_over", TELLER, signed="yes")
    assert view.state == "delivered" and view.final and view.closed_at is not None
    assert view.available_triggers == []
    entries = desk.journal(reference=view.reference)
    assert [e.kind for e in entries] == ["open", "trigger", "trigger", "trigger"]
    assert [e.to_state for e in entries] == ["identify", "verify_code", "hand_over", "delivered"]
    assert journal.verify(desk.db).ok


@pytest.mark.postgres
def test_references_count_per_branch_and_day(desk: Desk) -> None:
    first = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    second = desk.open_case(workflow="parcel_pickup", actor=TELLER2)
    elsewhere = desk.open_case(workflow="parcel_pickup", actor=OTHER_BRANCH)
    assert first.reference.endswith("-000001") and second.reference.endswith("-000002")
    assert elsewhere.reference.startswith("SH001-") and elsewhere.reference.endswith("-000001")


@pytest.mark.postgres
def test_approval_four_eyes_and_approve(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    view = step(desk, view, "submit_identity", TELLER, **{**IDENTITY, "recipient_name": "Nobody"})
    assert view.state == "supervisor_review"
    assert view.pending is not None and view.pending.raised_by == "tina"
    assert [f.code for f in view.findings] == ["name_mismatch"]
    (waiting,) = desk.approvals(actor=SUPERVISOR)
    expected = view.pending.model_copy(update={"workflow": "parcel_pickup", "branch": "BJ001"})
    assert waiting == expected
    assert desk.approvals(actor=OTHER_BRANCH) == []
    assert "approve" in desk.get(reference=view.reference, actor=SUPERVISOR).available_triggers
    with pytest.raises((FourEyesViolation, PermissionDenied)):
        desk.approve(reference=view.reference, actor=TELLER, version=view.version)
    view = desk.approve(reference=view.reference, actor=SUPERVISOR, version=view.version)
    assert view.state == "verify_code" and view.pending is None
    assert desk.approvals(actor=SUPERVISOR) == []
    (decided,) = desk.approvals(actor=SUPERVISOR, include_decided=True)
    assert (decided.decision, decided.decided_by) == ("approve", "sam")
    assert desk.journal(reference=view.reference)[-1].kind == "approval"
    assert journal.verify(desk.db).ok


def test_reject_needs_a_reason_and_ends_the_case(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    view = step(desk, view, "submit_identity", TELLER, **{**IDENTITY, "recipient_name": "Nobody"})
    with pytest.raises(InvalidInput):
        desk.fire(reference=view.reference, trigger="reject", actor=SUPERVISOR, data={},
                  version=view.version)
    view = desk.reject(reference=view.reference, actor=SUPERVISOR, reason="no proof",
                       version=view.version)
    assert view.state == "refused" and view.final
    (decided,) = desk.approvals(actor=SUPERVISOR, include_decided=True)
    assert (decided.decision, decided.reason) == ("reject", "no proof")


def test_refusals_change_nothing(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    for trigger, actor, data, error in [
        ("submit_identity", SUPERVISOR, IDENTITY, PermissionDenied),
        ("submit_identity", TELLER, {"id_number": "12a"}, InvalidInput),
        ("submit_identity", TELLER, {**IDENTITY, "id_number": "000123"}, BlockedByFindings),
        ("hand_over", TELLER, {}, InvalidTrigger),
        ("submit_identity", AUDITOR, IDENTITY, PermissionDenied),
    ]:
        with pytest.raises(error):
            desk.fire(reference=view.reference, trigger=trigger, actor=actor, data=data,
                      version=view.version)
        assert desk.get(reference=view.reference, actor=TELLER) == view
    # forbidden and blocked attempts are journaled (tests/cases/test_refusals.py), no step
    assert [e.kind for e in desk.journal(reference=view.reference)] == [
        "open", "refused", "refused", "refused"
    ]


def test_branch_isolation(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    with pytest.raises(NotFound):
        desk.get(reference=view.reference, actor=OTHER_BRANCH)
    with pytest.raises(NotFound):
        desk.fire(reference=view.reference, trigger="cancel", actor=OTHER_BRANCH,
                  data={"reason": "x"}, version=view.version)
    assert desk.get(reference=view.reference, actor=AUDITOR).available_triggers == []
    assert [c.reference for c in desk.list_cases(actor=AUDITOR)] == [view.reference]
    assert desk.list_cases(actor=OTHER_BRANCH) == []
    assert [c.reference for c in desk.list_cases(actor=TELLER2, state="identify")] == [
        view.reference
    ]
    with pytest.raises(PermissionDenied):
        desk.open_case(workflow="parcel_pickup", actor=AUDITOR)


def test_a_stale_version_is_refused(desk: Desk) -> None:
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    step(desk, view, "submit_identity", TELLER, **IDENTITY)
    with pytest.raises(StaleVersion) as caught:
        desk.fire(reference=view.reference, trigger="cancel", actor=TELLER,
                  data={"reason": "x"}, version=view.version)
    assert "reload" in caught.value.message.en


def test_an_old_case_keeps_its_definition(desk: Desk) -> None:
    """A case opened under a version no longer in the catalog runs on its stored bundle."""
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    fresh = Desk(desk.db, parcel_runtime(), desk.services)
    fresh.runtime.catalog._by_hash.pop(view.definition_hash)  # as if the file had changed
    assert view.definition_hash not in fresh.runtime.catalog
    fresh.authorize(reference=view.reference, trigger="submit_identity", actor=TELLER)
    with pytest.raises(PermissionDenied):  # and a refusal is decided on it too
        fresh.authorize(reference=view.reference, trigger="submit_identity", actor=SUPERVISOR)
    after = fresh.fire(reference=view.reference, trigger="submit_identity", actor=TELLER,
                       data=IDENTITY, version=view.version)
    assert after.definition_hash == view.definition_hash and after.state == "verify_code"


def test_case_lists_and_the_queue_carry_the_stored_channel(desk: Desk) -> None:
    """The channel the case was opened through, not the one its workflow declares."""
    by_phone = desk.open_case(workflow="parcel_pickup", actor=TELLER, channel="phone")
    at_counter = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    step(desk, by_phone, "submit_identity", TELLER, **{**IDENTITY, "recipient_name": "Nobody"})
    assert {c.reference: c.channel for c in desk.list_cases(actor=TELLER)} == {
        by_phone.reference: "phone",
        at_counter.reference: "counter",
    }
    (waiting,) = desk.approvals(actor=SUPERVISOR)
    assert (waiting.case_reference, waiting.channel) == (by_phone.reference, "phone")


def test_only_who_may_act_in_the_first_state_opens_a_case(desk: Desk) -> None:
    """A service agent of the branch may not open a parcel case: nothing there is theirs."""
    agent = Actor("sue", frozenset({"service_agent"}), branch="BJ001")
    with pytest.raises(PermissionDenied) as caught:
        desk.open_case(workflow="parcel_pickup", actor=agent)
    assert caught.value.message.zh.endswith("(可开立的角色:supervisor、teller)")
    assert "(opened by: supervisor, teller)" in caught.value.message.en
    assert desk.list_cases(actor=AUDITOR) == []  # nothing was written, no number used
    first = desk.open_case(workflow="parcel_pickup", actor=SUPERVISOR)
    assert first.reference.endswith("-000001")


def test_what_joins_the_opening_fails_with_it(desk: Desk) -> None:
    """A ``within`` that raises (the counter closed meanwhile) leaves no case and no number."""
    seen: list[str] = []

    def refuse(conn: object, reference: str) -> None:
        seen.append(reference)
        raise PermissionDenied(Text(zh="柜台已关闭", en="counter closed"))

    with pytest.raises(PermissionDenied):
        desk.open_case(workflow="parcel_pickup", actor=TELLER, within=refuse)
    assert seen == [seen[0]] and seen[0].endswith("-000001")
    assert desk.list_cases(actor=AUDITOR) == []
    with pytest.raises(NotFound):
        desk.get(reference=seen[0], actor=AUDITOR)
    assert desk.open_case(workflow="parcel_pickup", actor=TELLER).reference == seen[0]
