"""The dashboard shows the post-transaction review backlog: to review, and to answer."""

from __future__ import annotations

import io

from flagship.helpers import Counter
from pypdf import PdfReader

from counter.branchday import close_counter, close_day, closed_day
from counter.branchday.dashboard import dashboard
from counter.branchday.figures import DayFigures, ReviewBacklog, figures_json
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


def test_the_end_of_day_report_shows_the_backlog_and_the_issues_to_answer(
    counter: Counter,
) -> None:
    open_at(counter, "teller1", window=1)
    case = completed(counter)
    reviews = PostReviews(counter.desk)
    day = counter.clock.now.astimezone(REFERENCE_ZONE).date()
    [review] = reviews.draw(branch="BJ001", day=day)
    reviews.raise_issue(review_id=review.id, actor=REVIEWER, reason="客户签名缺失")
    close_counter(counter.desk.db, actor=counter.actors["teller1"], now=counter.clock.now)
    closed = close_day(
        counter.desk.db, branch="BJ001", actor=counter.actors["supervisor1"],
        describe=counter.desk.workflow_of, now=counter.clock.now,
    )
    backlog = closed.figures.reviews
    assert (backlog.to_review, backlog.to_answer) == (0, 1)
    assert [(i.reference, i.reviewer, i.issue) for i in backlog.issues] == [
        (case.reference, "backoffice1", "客户签名缺失")
    ]
    text = "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(closed.pdf)).pages
    )
    assert "事后监督" in text and "1个问题待网点答复" in text
    assert case.reference in text and "客户签名缺失" in text
    # A day closed before the report showed the backlog still reads back.
    stored = closed_day(counter.desk.db, branch="BJ001", day=closed.day).figures
    assert stored.reviews == backlog
    assert DayFigures.model_validate(
        {k: v for k, v in figures_json(stored).items() if k != "reviews"}
    ).reviews == ReviewBacklog()
