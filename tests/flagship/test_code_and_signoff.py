"""The unbind code (wrong, exhausted, expired, resent), the teller's sign-off, cancel, four eyes."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from counter.cases.views import CaseView
from counter.errors import BlockedByFindings, CounterError, FourEyesViolation, InvalidTrigger
from counter.store import journal, lockout, users
from counter.store.db import utcnow, write_transactions

from .helpers import (
    AGENT_ONLY,
    CLEAN,
    FENG_ER,
    PASSWORD,
    REGISTERED_PHONE,
    ZHANG_SAN,
    ZHAO_LIU,
    Counter,
    blocked,
    pending_findings,
)

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]


def at_code(counter: Counter) -> CaseView:
    case = counter.through_identity(ZHANG_SAN)
    return counter.fire(case, "submit_binding", CLEAN.form())


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_wrong_codes_are_refused_counted_and_send_nothing_new(counter: Counter) -> None:
    case = at_code(counter)
    code = counter.last_code(PHONE)
    for left in (2, 1):
        with pytest.raises(BlockedByFindings) as caught:
            counter.fire(case, "confirm_code", {"code": wrong(code)})
        (finding,) = caught.value.findings
        assert (finding.code, finding.field) == ("unbind_code_wrong", "code")
        assert f"{left} tr" in finding.message.en and f"{left} 次" in finding.message.zh
        again = counter.reloaded(case)
        assert (again.state, again.version, again.data) == (case.state, case.version, case.data)
    assert "supervisor" in finding.message.en  # the last try is warned
    refusals = [e for e in counter.desk.journal(reference=case.reference) if e.kind == "refused"]
    assert [(e.trigger, [f.code for f in e.findings]) for e in refusals] == [
        ("confirm_code", ["unbind_code_wrong"])
    ] * 2
    assert len(counter.sms.outbox(phone=PHONE)) == 1
    case = counter.fire(case, "confirm_code", {"code": code})  # the right one, third try
    assert case.state == "teller_signoff"


def test_third_wrong_code_goes_to_a_supervisor(counter: Counter) -> None:
    case = at_code(counter)
    code = counter.last_code(PHONE)
    for _ in range(2):
        with pytest.raises(BlockedByFindings):
            counter.fire(case, "confirm_code", {"code": wrong(code)})
    case = counter.fire(case, "confirm_code", {"code": wrong(code)})
    assert case.state == "supervisor_review"
    assert pending_findings(case) == {"unbind_code_attempts_exhausted": "approve"}
    assert case.pending is not None and case.pending.dest == "teller_signoff"
    (exhausted,) = case.pending.findings
    assert (exhausted.evidence["attempts"], exhausted.evidence["attempts_left"]) == (3, 0)
    # the case keeps no count that could say otherwise
    assert not {"attempts", "attempts_left"} & set(case.data["vars"]["unbind_code"])
    case = counter.fire(case, "approve", {"comment": "checked the licence"}, actor="supervisor1")
    assert case.state == "teller_signoff"


def test_a_new_code_has_three_tries_again(counter: Counter) -> None:
    case = at_code(counter)
    for _ in range(2):
        with pytest.raises(BlockedByFindings):
            counter.fire(case, "confirm_code", {"code": wrong(counter.last_code(PHONE))})
    counter.clock.advance(minutes=1)
    case = counter.fire(case, "resend_code", {})
    with pytest.raises(BlockedByFindings) as caught:
        counter.fire(case, "confirm_code", {"code": wrong(counter.last_code(PHONE))})
    assert "2 tries left" in caught.value.findings[0].message.en


def test_an_expired_code_blocks_until_the_teller_resends(counter: Counter) -> None:
    case = at_code(counter)
    first = counter.last_code(PHONE)
    counter.clock.advance(minutes=6)
    assert blocked(counter, case, "confirm_code", {"code": first}) == {
        "unbind_code_expired": ("block", "code")
    }
    case = counter.fire(case, "resend_code", {})
    assert case.state == "code_check"
    assert len(counter.sms.outbox(phone=PHONE)) == 2
    assert case.data["vars"]["unbind_code"]["sends"] == 2
    counter.clock.advance(minutes=1)
    case = counter.through_code(case, PHONE)


def test_resending_waits_a_minute_and_stops_after_five_codes(counter: Counter) -> None:
    case = at_code(counter)
    assert blocked(counter, case, "resend_code", {}) == {
        "unbind_code_resend_too_soon": ("block", None)
    }
    for sends in range(2, 6):
        counter.clock.advance(seconds=61)
        case = counter.fire(case, "resend_code", {})
        assert case.data["vars"]["unbind_code"]["sends"] == sends
    counter.clock.advance(seconds=61)
    assert blocked(counter, case, "resend_code", {}) == {
        "unbind_code_resend_limit": ("block", None)
    }
    assert len(counter.sms.outbox(phone=PHONE)) == 5
    case = counter.through_code(case, PHONE)  # the newest code is the one that counts


def test_a_malformed_code_is_a_field_error(counter: Counter) -> None:
    from counter.errors import InvalidInput

    case = at_code(counter)
    with pytest.raises(InvalidInput) as caught:
        counter.fire(case, "confirm_code", {"code": "12ab"})
    assert [e.field for e in caught.value.fields] == ["code"]


def test_sign_off_needs_the_tellers_own_password(counter: Counter) -> None:
    case = counter.through_code(at_code(counter), PHONE)
    assert blocked(counter, case, "sign_off", {"password": "not-the-password"}) == {
        "teller_password_wrong": ("block", "password")
    }
    assert counter.acquirer.executions(case.reference) == []
    (refused,) = [e for e in counter.desk.journal(reference=case.reference)
                  if e.kind == "refused"]
    assert (refused.actor, refused.trigger, [f.code for f in refused.findings]) == (
        "teller1", "sign_off", ["teller_password_wrong"]
    )
    assert "not-the-password" not in repr(refused)
    case = counter.sign_off(case)
    assert case.state == "completed"


def failures_of(counter: Counter, username: str) -> int:
    with counter.desk.db.read() as conn:
        found = conn.execute(
            text("SELECT failures FROM web_login_attempts WHERE username = :u"), {"u": username}
        ).scalar_one()
    return int(found)


def test_a_right_sign_off_password_resets_the_lockout_in_the_steps_own_transaction(
    counter_manual: Counter,
) -> None:
    """Two writes for the sign-off: the lockout's claim, then the step with the reset in it."""
    counter = counter_manual
    case = at_code(counter)
    counter.wired.dispatcher.run_once()  # the SMS
    case = counter.through_code(case, PHONE)
    blocked(counter, case, "sign_off", {"password": "not-the-password"})
    assert failures_of(counter, "teller1") == 1
    writes = write_transactions()
    case = counter.sign_off(case)
    assert write_transactions() - writes == 2
    assert case.state == "unbind_pending"
    assert failures_of(counter, "teller1") == 0


def test_a_sign_off_that_fails_in_its_transaction_still_resets_the_lockout(
    counter_manual: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reset rolled back with the failed step: it is written on its own, the case stays."""
    counter = counter_manual
    case = at_code(counter)
    counter.wired.dispatcher.run_once()
    case = counter.through_code(case, PHONE)
    blocked(counter, case, "sign_off", {"password": "not-the-password"})
    assert failures_of(counter, "teller1") == 1

    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("the disk went away mid-step")

    monkeypatch.setattr(counter.desk, "_write_outbox", broken)
    with pytest.raises(RuntimeError):
        counter.sign_off(case)
    assert failures_of(counter, "teller1") == 0
    assert counter.desk.get(reference=case.reference, actor=counter.actors["teller1"]).state == (
        "teller_signoff")


def test_a_lock_that_overtakes_a_right_sign_off_password_refuses_the_sign_off(
    counter_manual: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong passwords elsewhere lock the teller while their right one is being checked:
    the sign-off is decided again, refused as locked, and the case does not move."""
    counter = counter_manual
    case = at_code(counter)
    counter.wired.dispatcher.run_once()
    case = counter.through_code(case, PHONE)
    real = users.verify_password
    overtaken: list[bool] = []

    def lock_meanwhile(password_hash: str, password: str) -> bool:
        if password == PASSWORD and not overtaken:
            overtaken.append(True)
            policy = lockout.LockoutPolicy()
            wrong = [
                threading.Thread(target=lockout.check_password, args=(counter.desk.db,), kwargs={
                    "username": "teller1", "password": "guess", "where": "sign_in",
                    "now": utcnow(), "policy": policy})
                for _ in range(policy.after)
            ]
            for thread in wrong:  # threads: outside the step, each check commits its own
                thread.start()
                thread.join()
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", lock_meanwhile)
    assert blocked(counter, case, "sign_off", {"password": PASSWORD}) == {
        "teller_locked": ("block", "password")
    }
    assert overtaken == [True]
    assert counter.acquirer.executions(case.reference) == []
    assert lockout.locked_until(counter.desk.db, username="teller1", now=utcnow()) is not None


def test_a_sent_sms_moves_the_cases_live_mark_without_a_journal_entry(
    counter_manual: Counter,
) -> None:
    """The case page polls ``live_mark``: the code SMS going out must refresh its panel."""
    counter = counter_manual
    case = at_code(counter)
    teller = counter.actors["teller1"]
    entries = len(counter.desk.journal(reference=case.reference, actor=teller))
    mark = counter.desk.live_mark(reference=case.reference, actor=teller)
    assert counter.wired.dispatcher.run_once() == 1  # the SMS, and nothing journaled
    assert len(counter.desk.journal(reference=case.reference, actor=teller)) == entries
    assert counter.desk.live_mark(reference=case.reference, actor=teller) > mark


def test_cancel_from_an_open_state_with_a_reason(counter: Counter) -> None:
    case = counter.through_identity(ZHANG_SAN)
    case = counter.fire(case, "cancel", {"reason": "customer left"})
    assert case.state == "cancelled" and case.final
    assert counter.desk.journal(reference=case.reference)[-1].note == "customer left"


def test_cancel_while_waiting_for_a_supervisor_empties_the_queue(counter: Counter) -> None:
    case = counter.identify(
        counter.open(), ZHAO_LIU, acting_as="agent", principal=FENG_ER, mandate_ref="WT-1"
    )
    assert counter.desk.approvals(actor=counter.actors["supervisor1"])
    case = counter.fire(case, "cancel", {"reason": "the agent left"})
    assert case.state == "cancelled" and case.pending is None
    assert counter.desk.approvals(actor=counter.actors["supervisor1"]) == []


def test_cancel_is_refused_while_the_acquirer_has_the_request(counter_manual: Counter) -> None:
    counter = counter_manual
    case = counter.open()
    case = counter.identify(case, ZHANG_SAN)
    case = counter.fire(case, "submit_binding", CLEAN.form())
    counter.wired.dispatcher.run_once()  # the SMS
    case = counter.sign_off(counter.through_code(case, PHONE))
    assert case.state == "unbind_pending"
    with pytest.raises(InvalidTrigger):
        counter.fire(case, "cancel", {"reason": "changed my mind"})


def test_four_eyes_the_teller_who_raised_it_cannot_approve_even_as_supervisor(
    counter: Counter,
) -> None:
    case = counter.open(actor="senior1")
    case = counter.fire(
        case,
        "submit_identity",
        {
            "id_type": "resident_id",
            "id_number": ZHAO_LIU.id_number,
            "name": ZHAO_LIU.name,
            "id_expiry": "2036-03-01",
            "acting_as": "agent",
            "principal_id_number": FENG_ER.id_number,
            "mandate_ref": "WT-2026-0001",
        },
        actor="senior1",
    )
    assert case.state == "supervisor_review" and case.pending is not None
    assert case.pending.raised_by == "senior1"
    senior_view = counter.desk.get(reference=case.reference, actor=counter.actors["senior1"])
    assert "approve" not in senior_view.available_triggers
    with pytest.raises(FourEyesViolation):
        counter.fire(case, "approve", {}, actor="senior1")
    with pytest.raises(FourEyesViolation):
        counter.fire(case, "reject", {"reason": "mine"}, actor="senior1")
    case = counter.fire(case, "approve", {}, actor="supervisor1")
    assert case.state == "info_check"
    case = counter.fire(case, "submit_binding", AGENT_ONLY.form(), actor="senior1")
    assert case.state == "code_check"


def test_a_teller_cannot_approve(counter: Counter) -> None:
    from counter.errors import PermissionDenied

    case = counter.identify(
        counter.open(), ZHAO_LIU, acting_as="agent", principal=FENG_ER, mandate_ref="WT-1"
    )
    with pytest.raises(PermissionDenied):
        counter.fire(case, "approve", {}, actor="teller2")


def test_supervisor_rejects_with_a_reason(counter: Counter) -> None:
    case = counter.identify(
        counter.open(), ZHAO_LIU, acting_as="agent", principal=FENG_ER, mandate_ref="WT-1"
    )
    case = counter.fire(case, "reject", {"reason": "mandate not notarised"}, actor="supervisor1")
    assert case.state == "rejected" and case.final


def test_the_code_is_not_kept_in_the_outbox_once_delivered(counter: Counter) -> None:
    case = at_code(counter)
    code = counter.last_code(PHONE)
    with counter.desk.db.read() as conn:
        payloads = conn.execute(
            text(
                "SELECT status, payload FROM outbox WHERE case_reference = :r AND kind = 'sms.send'"
            ),
            {"r": case.reference},
        ).all()
    assert payloads and {row.status for row in payloads} == {"delivered"}
    stored = " ".join(str(row.payload) for row in payloads)
    assert code not in stored
    assert "redacted" in stored


@pytest.mark.postgres
def test_parallel_wrong_codes_get_three_tries_in_all(
    make_counter: Callable[..., Counter],
) -> None:
    """Guesses fired at once are counted one after another: two refusals, then the supervisor."""
    counters = [make_counter() for _ in range(5)]
    case = at_code(counters[0])
    guess = wrong(counters[0].last_code(PHONE))
    barrier = threading.Barrier(len(counters))
    outcomes: list[str] = []
    lock = threading.Lock()

    def try_code(counter: Counter) -> None:
        barrier.wait()
        try:
            after = counter.desk.fire(reference=case.reference, trigger="confirm_code",
                                      actor=counter.actors["teller1"], data={"code": guess},
                                      version=case.version)
            outcome = after.state
        except CounterError as refused:
            outcome = refused.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=try_code, args=(c,)) for c in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted(
        ["blocked", "blocked", "supervisor_review", "stale_version", "stale_version"]
    )
    entries = counters[0].desk.journal(reference=case.reference)
    assert [e.kind for e in entries][-3:] == ["refused", "refused", "trigger"]
    assert journal.verify(counters[0].desk.db).ok
