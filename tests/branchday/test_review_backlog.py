"""The dashboard shows the post-transaction review backlog: to review, and to answer."""

from __future__ import annotations

from flagship.helpers import Counter

from counter.branchday.dashboard import dashboard
from counter.cases.post_review import PostReviews
from counter.cases.records import REFERENCE_ZONE
from counter.engine.types import Actor

from .helpers import completed, open_at

REVIEWER = Actor("backoffice1", frozenset({"post_reviewer"}), branch="RC001")


def _backlog(counter: Counter) -> dict[str, int]:
    return dashboard(
        counter.desk.db, branch="BJ001", approvals=[], describe=counter.desk.workflow_of,
        now=counter.clock.now,
    ).reviews


def test_the_backlog_moves_from_review_to_answer(counter: Counter) -> None:
    open_at(counter, "teller1", window=1)
    case = completed(counter)
    assert _backlog(counter) == {"open": 0, "issue": 0}
    reviews = PostReviews(counter.desk)
    day = counter.clock.now.astimezone(REFERENCE_ZONE).date()
    [review] = reviews.draw(branch="BJ001", day=day)  # a tenth of one case, rounded up
    assert (review.case_reference, review.reason) == (case.reference, "sample")
    assert _backlog(counter) == {"open": 1, "issue": 0}
    reviews.raise_issue(review_id=review.id, actor=REVIEWER, reason="slip not signed")
    assert _backlog(counter) == {"open": 0, "issue": 1}
    reviews.answer(review_id=review.id, actor=counter.actors["supervisor1"], answer="signed now")
    assert _backlog(counter) == {"open": 0, "issue": 0}
