"""Post-transaction review: a reproducible sample, reviewers who took no part, answered issues."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
from engine.parcel import GOOD_CODE, SUPERVISOR, TELLER
from hypothesis import given
from hypothesis import strategies as st

from counter.cases.desk import Desk
from counter.cases.post_review import PostReviews, sample
from counter.cases.records import REFERENCE_ZONE
from counter.cases.services import Services
from counter.cases.views import CaseView
from counter.engine.types import Actor
from counter.errors import FourEyesViolation, InvalidInput, PermissionDenied, StaleVersion
from counter.store import journal
from counter.store.db import Database

from .versions import in_state, new_version

REVIEWER = Actor("rita", frozenset({"post_reviewer"}), branch="RC001")
TELLER_REVIEWER = Actor("tina", frozenset({"post_reviewer"}), branch="RC001")  # the maker
OTHER_SUPERVISOR = Actor("sue", frozenset({"supervisor"}), branch="SH001")
POST_REVIEW = "\npost_review:\n  share: 0.1\n  states: [delivered]\n"


def _delivered(desk: Desk, *, approved: bool = False) -> CaseView:
    case = in_state(desk, "supervisor_review" if approved else "hand_over")
    if approved:
        case = desk.approve(reference=case.reference, actor=SUPERVISOR, version=case.version)
        case = desk.fire(reference=case.reference, trigger="submit_code", actor=TELLER,
                         data={"code": GOOD_CODE}, version=case.version)
    return desk.fire(reference=case.reference, trigger="hand_over", actor=TELLER,
                     data={"signed": "yes"}, version=case.version)


@pytest.fixture
def reviews(desk: Desk, tmp_path: Path) -> PostReviews:
    new_version(desk, tmp_path / "v2", migration=POST_REVIEW)
    return PostReviews(desk)


def test_the_day_sample_and_every_approved_case(
    db: Database, desk: Desk, reviews: PostReviews
) -> None:
    plain = [_delivered(desk) for _ in range(18)]
    approved = [_delivered(desk, approved=True) for _ in range(2)]
    cancelled = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    desk.fire(reference=cancelled.reference, trigger="cancel", actor=TELLER,
              data={"reason": "customer left"}, version=cancelled.version)
    day = datetime.now(REFERENCE_ZONE).date()
    drawn = reviews.draw(branch="BJ001", day=day)
    by_reason = {r.case_reference: r.reason for r in drawn}
    expected = sample([c.reference for c in plain + approved], share=0.1, branch="BJ001",
                      day=day.strftime("%Y%m%d"))
    assert len(expected) == 2
    assert {r for r, why in by_reason.items() if why == "sample"} == set(expected) - {
        c.reference for c in approved
    }
    assert {r for r, why in by_reason.items() if why == "approved_finding"} == {
        c.reference for c in approved
    }
    assert cancelled.reference not in by_reason
    assert reviews.draw(branch="BJ001", day=day) == drawn  # drawn again: the same, once
    assert reviews.backlog(branch="BJ001") == {"open": len(drawn), "issue": 0}
    assert journal.verify(db).ok


def test_a_raised_issue_is_answered_by_the_branch_supervisor(
    db: Database, desk: Desk, reviews: PostReviews
) -> None:
    case = _delivered(desk, approved=True)
    [review] = reviews.draw(branch="BJ001", day=datetime.now(REFERENCE_ZONE).date())
    for someone in (TELLER_REVIEWER, Actor("sam", frozenset({"post_reviewer"}))):  # maker, checker
        with pytest.raises(FourEyesViolation):
            reviews.raise_issue(review_id=review.id, actor=someone, reason="x")
    with pytest.raises(PermissionDenied):
        reviews.mark_reviewed(review_id=review.id, actor=SUPERVISOR)
    with pytest.raises(InvalidInput) as caught:
        reviews.raise_issue(review_id=review.id, actor=REVIEWER, reason="  ")
    assert caught.value.fields[0].field == "reason"
    raised = reviews.raise_issue(review_id=review.id, actor=REVIEWER,
                                 reason="no copy of the ID on file")
    assert raised.status == "issue" and raised.reviewer == "rita"
    with pytest.raises(StaleVersion):
        reviews.mark_reviewed(review_id=review.id, actor=REVIEWER)
    assert [r.id for r in reviews.queue(actor=SUPERVISOR)] == [review.id]
    with pytest.raises(PermissionDenied):
        reviews.answer(review_id=review.id, actor=OTHER_SUPERVISOR, answer="not mine")
    done = reviews.answer(review_id=review.id, actor=SUPERVISOR, answer="copy scanned today")
    assert (done.status, done.answered_by, done.answer) == ("answered", "sam",
                                                            "copy scanned today")
    assert reviews.queue(actor=SUPERVISOR) == []
    kinds = [(e.kind, e.actor) for e in desk.journal(reference=case.reference)
             if e.kind in ("post_review", journal.REFUSED)]
    assert kinds == [  # every refused decision journaled on the case, in its turn
        (journal.REFUSED, "tina"), (journal.REFUSED, "sam"), (journal.REFUSED, SUPERVISOR.username),
        ("post_review", "rita"), (journal.REFUSED, "sue"), ("post_review", "sam"),
    ]
    assert journal.verify(db).ok


@given(
    references=st.sets(st.from_regex(r"BJ001-20261125-0000[0-9]{2}", fullmatch=True),
                       max_size=40),
    share=st.floats(min_value=0, max_value=1),
)
def test_the_sample_is_reproducible_and_its_share(references: set[str], share: float) -> None:
    drawn = sample(references, share=share, branch="BJ001", day="20261125")
    assert drawn == sample(sorted(references, reverse=True), share=share, branch="BJ001",
                           day="20261125")
    assert set(drawn) <= references and len(drawn) == len(set(drawn))
    assert len(drawn) - 1 < share * len(references) <= len(drawn)  # the share, rounded up


@pytest.mark.postgres
def test_two_reviewers_at_once_decide_once(db: Database, desk: Desk, reviews: PostReviews) -> None:
    _delivered(desk, approved=True)
    [review] = reviews.draw(branch="BJ001", day=datetime.now(REFERENCE_ZONE).date())
    second_db = Database(db.url)
    other = PostReviews(Desk(second_db, desk.runtime, Services(db=db)))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(service: PostReviews, actor: Actor, issue: bool) -> None:
        barrier.wait()
        try:
            if issue:
                service.raise_issue(review_id=review.id, actor=actor, reason="missing copy")
            else:
                service.mark_reviewed(review_id=review.id, actor=actor)
            outcomes.append("decided")
        except StaleVersion:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=decide, args=(reviews, REVIEWER, True)),
        threading.Thread(
            target=decide, args=(other, Actor("rob", frozenset({"post_reviewer"})), False)
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second_db.dispose()
    assert sorted(outcomes) == ["decided", "refused"]
    entries = desk.journal(reference=review.case_reference)
    assert [e.kind for e in entries].count("post_review") == 1
    assert journal.verify(db).ok
