"""The parcel-pickup workflow walked through the pure runtime, feature by feature."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from counter.engine import CaseSnapshot, Runtime, Severity
from counter.errors import (
    BlockedByFindings,
    FourEyesViolation,
    InvalidInput,
    InvalidTrigger,
    NotFound,
    PermissionDenied,
)

from .parcel import (
    AUDITOR,
    BOTH,
    GOOD_CODE,
    IDENTITY,
    NOW,
    SUPERVISOR,
    TELLER,
    TELLER2,
    fire,
    open_case,
    parcel_runtime,
)

MISMATCH = dict(IDENTITY, recipient_name="Nobody")


@pytest.fixture
def runtime() -> Runtime:
    return parcel_runtime()


@pytest.fixture
def case(runtime: Runtime) -> CaseSnapshot:
    return open_case(runtime)


def at_review(runtime: Runtime, case: CaseSnapshot) -> CaseSnapshot:
    waiting, _ = fire(runtime, case, "submit_identity", TELLER, MISMATCH)
    return waiting


def test_opening_runs_the_initial_state_and_pins_the_current_version(runtime: Runtime) -> None:
    snapshot, decision = runtime.start(
        "parcel_pickup", reference="T-9", actor=TELLER, services=None, now=NOW
    )
    assert snapshot.state == "identify"
    assert snapshot.definition_hash == runtime.catalog.current("parcel_pickup").hash
    assert (snapshot.branch, snapshot.opened_by, snapshot.version) == ("BJ001", "tina", 0)
    assert decision.trigger == "open" and decision.effects == ()
    assert snapshot.data == {"vars": {}}


def test_a_clean_case_walks_to_the_final_state(runtime: Runtime, case: CaseSnapshot) -> None:
    case, decision = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    assert (decision.source, decision.dest) == ("identify", "verify_code")
    assert decision.data["pickup_identity"] == IDENTITY
    assert [e.kind for e in decision.effects] == ["sms.send"]  # on_enter of verify_code
    assert decision.data["vars"] == {"codes_sent": 1}
    case, decision = fire(runtime, case, "submit_code", TELLER, {"code": f" {GOOD_CODE} "})
    assert decision.dest == "hand_over"
    assert decision.data["pickup_code"] == {}  # secret fields are never kept
    case, decision = fire(runtime, case, "hand_over", TELLER, {"signed": "yes"})
    assert decision.final and decision.dest == "delivered"
    assert [e.kind for e in decision.effects] == ["slip.issue"]
    assert runtime.available_triggers(case, TELLER) == []
    with pytest.raises(InvalidTrigger):
        fire(runtime, case, "cancel", TELLER, {"reason": "late"})


def test_conditions_choose_between_transitions(runtime: Runtime, case: CaseSnapshot) -> None:
    proxy = dict(IDENTITY, acting_as="proxy", proxy_letter_expiry="2027-01-31")
    _, decision = fire(runtime, case, "submit_identity", TELLER, proxy)
    assert decision.data["vars"]["proxy"] is True  # the is_proxy transition's after action
    _, decision = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    assert "proxy" not in decision.data["vars"]


def test_unless_refuses_when_its_condition_holds(runtime: Runtime, case: CaseSnapshot) -> None:
    case, _ = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    case, _ = fire(runtime, case, "resend_code", TELLER)
    case, decision = fire(runtime, case, "resend_code", TELLER)
    assert decision.data["vars"]["codes_sent"] == 3
    assert [e.key for e in decision.effects] == ["3"]
    with pytest.raises(InvalidTrigger, match="conditions of 'resend_code'"):
        fire(runtime, case, "resend_code", TELLER)


def test_a_role_not_listed_is_refused(runtime: Runtime, case: CaseSnapshot) -> None:
    with pytest.raises(PermissionDenied) as denied:
        fire(runtime, case, "submit_identity", AUDITOR, IDENTITY)
    assert not isinstance(denied.value, FourEyesViolation)
    assert runtime.available_triggers(case, AUDITOR) == []
    assert runtime.available_triggers(case, TELLER) == ["submit_identity", "cancel"]
    assert runtime.available_triggers(case, SUPERVISOR) == ["cancel"]


def test_an_unknown_trigger_names_trigger_and_state(runtime: Runtime, case: CaseSnapshot) -> None:
    with pytest.raises(InvalidTrigger) as caught:
        fire(runtime, case, "hand_over", TELLER, {"signed": "yes"})
    assert "'hand_over'" in caught.value.message.en
    assert "identify" in caught.value.message.en
    assert "核对身份" in caught.value.message.zh


def test_form_errors_come_field_by_field(runtime: Runtime, case: CaseSnapshot) -> None:
    bad = {"id_number": "12ab", "acting_as": "proxy", "parcels": "two", "extra": "x"}
    with pytest.raises(InvalidInput) as caught:
        fire(runtime, case, "submit_identity", TELLER, bad)
    by_field = {e.field: e for e in caught.value.fields}
    assert set(by_field) == {
        "extra",
        "recipient_name",
        "proxy_letter_expiry",
        "parcels",
        "id_number",
    }
    assert by_field["recipient_name"].message.zh == "领取人姓名为必填项"
    assert by_field["recipient_name"].message.en == "Recipient name is required"
    assert by_field["id_number"].code == "digits_only"
    assert by_field["extra"].code == "unknown_field"


def test_block_findings_refuse_the_step_and_name_the_field(
    runtime: Runtime, case: CaseSnapshot
) -> None:
    case, _ = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    with pytest.raises(BlockedByFindings) as caught:
        fire(runtime, case, "submit_code", TELLER, {"code": "9999"})
    assert [f.code for f in caught.value.findings] == ["code_wrong"]
    assert [e.field for e in caught.value.fields] == ["code"]


def test_block_wins_over_approve(runtime: Runtime, case: CaseSnapshot) -> None:
    both = dict(MISMATCH, id_number="000123")
    with pytest.raises(BlockedByFindings) as caught:
        fire(runtime, case, "submit_identity", TELLER, both)
    assert [f.code for f in caught.value.findings] == ["id_refused"]


def test_approvable_findings_go_to_review_and_approval_resumes(
    runtime: Runtime, case: CaseSnapshot
) -> None:
    waiting, decision = fire(runtime, case, "submit_identity", TELLER, MISMATCH)
    assert decision.dest == "supervisor_review"
    assert decision.effects == ()  # verify_code not entered yet
    assert decision.data["pickup_identity"]["recipient_name"] == "Nobody"
    pending = decision.pending
    assert pending is not None
    assert (pending.trigger, pending.source, pending.dest, pending.raised_by) == (
        "submit_identity",
        "identify",
        "verify_code",
        "tina",
    )
    assert [f.severity for f in pending.findings] == [Severity.APPROVE]
    assert decision.findings == pending.findings
    assert runtime.available_triggers(waiting, SUPERVISOR) == ["approve", "reject", "cancel"]
    assert runtime.available_triggers(waiting, TELLER) == ["cancel"]
    done, decision = fire(runtime, waiting, "approve", SUPERVISOR, {"comment": "seen the ID"})
    assert decision.dest == "verify_code" and decision.pending is None
    assert decision.note == "seen the ID"
    assert [e.kind for e in decision.effects] == ["sms.send"]  # dest's on_enter ran
    assert done.data["pickup_identity"]["recipient_name"] == "Nobody"


def test_approval_resumes_to_the_dest_of_the_raising_transition(
    runtime: Runtime, case: CaseSnapshot
) -> None:
    proxy = dict(MISMATCH, acting_as="proxy", proxy_letter_expiry="long_term")
    waiting, _ = fire(runtime, case, "submit_identity", TELLER, proxy)
    _, decision = fire(runtime, waiting, "approve", SUPERVISOR)
    assert decision.dest == "verify_code"
    assert decision.data["vars"]["proxy"] is True  # the raising transition's after actions


def test_four_eyes_even_for_someone_who_holds_the_role(runtime: Runtime) -> None:
    case = open_case(runtime)
    waiting, _ = fire(runtime, case, "submit_identity", BOTH, MISMATCH)
    with pytest.raises(FourEyesViolation):
        fire(runtime, waiting, "approve", BOTH)
    with pytest.raises(FourEyesViolation):
        fire(runtime, waiting, "reject", BOTH, {"reason": "mine"})
    assert runtime.available_triggers(waiting, BOTH) == ["cancel"]
    _, decision = fire(runtime, waiting, "approve", SUPERVISOR)
    assert decision.dest == "verify_code"


def test_four_eyes_also_bars_whoever_opened_the_case(runtime: Runtime) -> None:
    # BOTH opens the case, TELLER raises the findings: the opener may not approve them either.
    opened, _ = runtime.start("parcel_pickup", reference="T-9", actor=BOTH, services=None, now=NOW)
    waiting, _ = fire(runtime, opened, "submit_identity", TELLER, MISMATCH)
    assert waiting.pending is not None and waiting.pending.raised_by == TELLER.username
    with pytest.raises(FourEyesViolation):
        fire(runtime, waiting, "approve", BOTH)
    assert "approve" not in runtime.available_triggers(waiting, BOTH)
    _, decision = fire(runtime, waiting, "approve", SUPERVISOR)
    assert decision.dest == "verify_code"


def test_a_teller_cannot_approve(runtime: Runtime, case: CaseSnapshot) -> None:
    waiting = at_review(runtime, case)
    with pytest.raises(PermissionDenied):
        fire(runtime, waiting, "approve", TELLER2)


def test_reject_needs_a_reason_and_goes_to_reject_to(runtime: Runtime, case: CaseSnapshot) -> None:
    waiting = at_review(runtime, case)
    with pytest.raises(InvalidInput) as caught:
        fire(runtime, waiting, "reject", SUPERVISOR, {"reason": "  "})
    assert [e.field for e in caught.value.fields] == ["reason"]
    _, decision = fire(runtime, waiting, "reject", SUPERVISOR, {"reason": "wrong person"})
    assert (decision.dest, decision.final, decision.note) == ("refused", True, "wrong person")
    assert decision.pending is None


def test_approve_without_a_pending_approval_is_refused(
    runtime: Runtime, case: CaseSnapshot
) -> None:
    waiting = replace(at_review(runtime, case), pending=None)
    with pytest.raises(InvalidTrigger, match="nothing is waiting"):
        fire(runtime, waiting, "approve", SUPERVISOR)


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_cancel_works_from_every_open_state(runtime: Runtime, steps: int) -> None:
    case = open_case(runtime)
    path = [
        ("submit_identity", TELLER, MISMATCH),
        ("approve", SUPERVISOR, {}),
        ("submit_code", TELLER, {"code": GOOD_CODE}),
    ]
    for trigger, actor, data in path[:steps]:
        case, _ = fire(runtime, case, trigger, actor, data)
    with pytest.raises(InvalidInput):
        fire(runtime, case, "cancel", TELLER)
    _, decision = fire(runtime, case, "cancel", TELLER, {"reason": "customer left"})
    assert (decision.dest, decision.final, decision.note) == ("cancelled", True, "customer left")


def test_an_error_changes_nothing(runtime: Runtime, case: CaseSnapshot) -> None:
    case, _ = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    before = copy.deepcopy(case)
    with pytest.raises(BlockedByFindings):
        fire(runtime, case, "submit_code", TELLER, {"code": "0000"})
    assert case == before
    assert runtime.compiled(case.definition_hash).machine.models == []


def test_the_machine_is_compiled_once_per_version(runtime: Runtime, case: CaseSnapshot) -> None:
    compiled = runtime.compiled(case.definition_hash)
    fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    fire(runtime, open_case(runtime, "T-2"), "submit_identity", TELLER, IDENTITY)
    assert runtime.compiled(case.definition_hash) is compiled
    assert compiled.machine.models == []


def test_an_unknown_version_or_state_is_refused(runtime: Runtime, case: CaseSnapshot) -> None:
    with pytest.raises(NotFound):
        fire(runtime, replace(case, definition_hash="f" * 64), "cancel", TELLER, {"reason": "x"})
    with pytest.raises(InvalidTrigger, match="does not declare"):
        fire(runtime, replace(case, state="limbo"), "cancel", TELLER, {"reason": "x"})


def test_form_for_tells_the_console_what_to_ask(runtime: Runtime, case: CaseSnapshot) -> None:
    form = runtime.form_for(case, "submit_identity")
    assert form is not None and form.name == "pickup_identity"
    case, _ = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
    assert runtime.form_for(case, "resend_code") is None  # form: null
    cancel = runtime.form_for(case, "cancel")
    assert cancel is not None and cancel.name == "cancel_reason"
    with pytest.raises(InvalidTrigger):
        runtime.form_for(case, "nope")


def test_one_machine_serves_concurrent_cases(runtime: Runtime) -> None:
    cases = [open_case(runtime, f"T-{i}") for i in range(8)]

    def walk(case: CaseSnapshot) -> str:
        for _ in range(30):
            step, _ = fire(runtime, case, "submit_identity", TELLER, IDENTITY)
            step, _ = fire(runtime, step, "submit_code", TELLER, {"code": GOOD_CODE})
        return step.state

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(walk, cases)) == ["hand_over"] * 8
    assert runtime.compiled(cases[0].definition_hash).machine.models == []


def test_approve_where_nothing_can_be_approved_is_refused_cleanly(
    runtime: Runtime, case: CaseSnapshot
) -> None:
    waiting = at_review(runtime, case)
    pending = waiting.pending
    assert pending is not None
    elsewhere = replace(waiting, pending=replace(pending, dest="delivered"))
    with pytest.raises(InvalidTrigger, match="conditions of 'approve'"):
        fire(runtime, elsewhere, "approve", SUPERVISOR)
