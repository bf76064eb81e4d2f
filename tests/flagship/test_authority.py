"""Tiered authority: levels by finding, the remote authorization centre, escalation on time."""

from __future__ import annotations

import json
import threading

import pytest

from counter.cases.desk import Desk
from counter.cases.escalation import escalate_due
from counter.cases.sweeper import Sweeper
from counter.engine.types import Actor
from counter.errors import NotFound, PermissionDenied
from counter.store import journal
from counter.store.db import Database

from .helpers import CHEN_SAN, PILOT, RISK_FLAGGED, WANG_WU, Counter

AUTHORIZER = Actor("authorizer1", frozenset({"authorizer"}), branch="RC001")


def _risk_flagged(counter: Counter) -> str:
    case = counter.fire(counter.through_identity(WANG_WU), "submit_binding", RISK_FLAGGED.form())
    assert case.state == "supervisor_review" and case.pending is not None
    assert case.pending.level == "branch_manager"
    return case.reference


def test_a_risk_flag_is_refused_for_a_supervisor_and_approved_by_the_branch_manager(
    counter: Counter,
) -> None:
    reference = _risk_flagged(counter)
    supervisor = counter.actors["supervisor1"]
    view = counter.desk.get(reference=reference, actor=supervisor)
    assert "approve" not in view.available_triggers and "reject" in view.available_triggers
    with pytest.raises(PermissionDenied) as caught:
        counter.desk.approve(reference=reference, actor=supervisor)
    assert "branch_manager" in caught.value.message.en
    assert counter.desk.get(reference=reference, actor=supervisor).version == view.version
    case = counter.fire(reference, "approve", {}, actor="manager1")
    assert case.state == "code_check"
    assert counter.desk.journal(reference=reference)[-1].actor == "manager1"


def test_the_remote_centre_takes_approvals_from_the_branch(counter: Counter) -> None:
    reference = _risk_flagged(counter)
    queue = counter.desk.approvals(actor=AUTHORIZER)
    assert [a.case_reference for a in queue] == [reference] and queue[0].branch == "BJ001"
    view = counter.desk.get(reference=reference, actor=AUTHORIZER)
    assert view.available_triggers == ["approve", "reject"]
    case = counter.desk.approve(reference=reference, actor=AUTHORIZER, comment="centre")
    assert counter.reloaded(case).state == "code_check"
    assert counter.desk.approvals(actor=AUTHORIZER) == []


def test_the_remote_centre_reads_only_the_cases_it_decides(counter: Counter) -> None:
    """An authorizer of another branch reaches a case whose approval waits for the centre,
    and one it decided; every other case of the branch answers as one that does not exist."""
    other = counter.through_identity(CHEN_SAN)  # at the information check: nothing to decide
    for read in (
        lambda: counter.desk.get(reference=other.reference, actor=AUTHORIZER),
        lambda: counter.desk.journal(reference=other.reference, actor=AUTHORIZER),
        lambda: counter.desk.live_mark(reference=other.reference, actor=AUTHORIZER),
    ):
        with pytest.raises(NotFound):
            read()
    with pytest.raises(NotFound):  # not "may not", which would say the case exists
        counter.desk.fire(reference=other.reference, trigger="cancel", actor=AUTHORIZER,
                          data={"reason": "not mine"})
    assert [e.kind for e in counter.desk.journal(reference=other.reference)].count(
        journal.REFUSED) == 0

    reference = _risk_flagged(counter)
    assert counter.desk.get(reference=reference, actor=AUTHORIZER).state == "supervisor_review"
    counter.desk.approve(reference=reference, actor=AUTHORIZER, comment="centre")
    decided = counter.desk.get(reference=reference, actor=AUTHORIZER)  # still: it decided it
    assert decided.state != "supervisor_review"


def test_every_sweep_round_escalates_the_worker_and_counter_sweep_alike(
    counter: Counter,
) -> None:
    """The outbox worker and ``counter sweep`` both run ``Sweeper.run_once``."""
    case = counter.fire(counter.through_identity(CHEN_SAN), "submit_binding", PILOT.form())
    sweeper = Sweeper(counter.desk)
    assert sweeper.run_once().escalated == 0
    counter.clock.advance(minutes=31)
    report = sweeper.run_once()
    assert report.escalated == 1 and "approvals escalated: 1" in str(report)
    assert counter.desk.journal(reference=case.reference)[-1].kind == "escalated"
    assert sweeper.run_once().escalated == 0


def test_an_approval_escalates_after_its_service_time(counter: Counter) -> None:
    case = counter.fire(counter.through_identity(CHEN_SAN), "submit_binding", PILOT.form())
    assert case.pending is not None and case.pending.level == "supervisor"
    risk = _risk_flagged(counter)
    counter.clock.advance(minutes=29)
    assert escalate_due(counter.desk) == []
    counter.clock.advance(minutes=2)
    done = {e.case_reference: e.to_level for e in escalate_due(counter.desk)}
    assert done == {case.reference: "branch_manager", risk: "remote"}
    assert escalate_due(counter.desk) == []  # once
    queue = {a.case_reference: a for a in counter.desk.approvals(actor=counter.actors["manager1"])}
    assert queue[case.reference].escalated_to == "branch_manager"
    assert queue[case.reference].escalated_at == counter.clock.now
    entry = counter.desk.journal(reference=case.reference)[-1]
    assert (entry.kind, entry.actor) == ("escalated", "system")
    note = json.loads(entry.note or "{}")
    assert note == {"shape": 1, "approval": queue[case.reference].id, "from_level": "supervisor",
                    "to_level": "branch_manager", "after_minutes": 30}
    after = counter.desk.get(reference=case.reference, actor=counter.actors["supervisor1"])
    assert after.version == case.version  # escalation moves no case
    rekey = {"rekey_account_number": PILOT.account_number}
    assert counter.fire(case, "approve", rekey, actor="supervisor1").state == "code_check"
    assert journal.verify(counter.desk.db).ok


@pytest.mark.postgres
def test_two_sweepers_escalate_an_approval_once(counter: Counter) -> None:
    reference = _risk_flagged(counter)
    counter.clock.advance(minutes=31)
    second_db = Database(counter.desk.db.url)
    other = Desk(second_db, counter.desk.runtime, counter.desk.services)
    barrier = threading.Barrier(2)
    done: list[int] = []

    def sweep(desk: Desk) -> None:
        barrier.wait()
        done.append(len(escalate_due(desk)))

    threads = [threading.Thread(target=sweep, args=(d,)) for d in (counter.desk, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second_db.dispose()
    assert sorted(done) == [0, 1]
    kinds = [e.kind for e in counter.desk.journal(reference=reference)]
    assert kinds.count("escalated") == 1
    assert journal.verify(counter.desk.db).ok
