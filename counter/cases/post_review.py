"""Post-transaction review (事后监督): the back office reviews what the counter did.

::

    reviews = PostReviews(desk)
    reviews.draw(branch="BJ001", day=date(2026, 11, 25))    # the day's sample, idempotent
    reviews.queue(actor=reviewer)                           # open reviews; a supervisor: issues
    reviews.mark_reviewed(review_id=7, actor=reviewer)
    reviews.raise_issue(review_id=8, actor=reviewer, reason="...")
    reviews.answer(review_id=8, actor=supervisor, answer="...")

Which cases: for each workflow that declares ``post_review``, the declared
``share`` (rounded up) of the cases closed at the branch that local day in
one of its ``states``, plus every case whose findings a supervisor
approved. The sample is reproducible: cases are ranked by the SHA-256 of
``branch/day/reference`` and the first ones taken, so drawing again (or
on another copy of the database) gives the same cases, and a drawn case
is never drawn twice.

A reviewer holds the ``post_reviewer`` role (it reads every branch's cases
and changes none) and is never the case's maker or checker (anyone who took
a step on it or decided its approval); a refused decision is journaled on
the case as a ``refused`` entry, like a refused step. A
raised issue needs a reason, and a supervisor of the case's branch must
answer it. Each decision is a compare-and-set on the review's status and a
``post_review`` entry in the case's journal (note: canonical JSON, shape 1,
``{"shape": 1, "review": ID, "outcome": "reviewed" | "issue" | "answered",
"text": ...}``); the case itself does not move.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update

from counter.cases import records
from counter.cases.desk import Desk
from counter.engine.types import Actor
from counter.errors import (
    CounterError,
    FieldError,
    FourEyesViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from counter.store import journal
from counter.store.db import Database
from counter.store.review_tables import PostReview
from counter.text import Text

__all__ = [
    "POST_REVIEW",
    "REVIEW_ROLE",
    "PostReviews",
    "ReviewView",
    "may_see_reviews",
    "no_review",
    "open_issues",
    "require_reviewer",
    "review_backlog",
    "sample",
]

REVIEW_ROLE = "post_reviewer"
POST_REVIEW = "post_review"

_reviews = PostReview.__table__  # type: ignore[attr-defined]


class ReviewView(BaseModel):
    """One case in the review queue."""

    model_config = ConfigDict(frozen=True)

    id: int
    case_reference: str
    branch: str
    day: str
    workflow: str
    reason: str
    status: str
    reviewer: str | None = None
    issue: str | None = None
    answered_by: str | None = None
    answer: str | None = None
    drawn_at: datetime | None = None
    reviewed_at: datetime | None = None

    @property
    def business_day(self) -> str:
        """``day`` (``20261125``, as case numbers write it) as people read it: ``2026-11-25``."""
        return f"{self.day[:4]}-{self.day[4:6]}-{self.day[6:]}"


def _rank(branch: str, day: str, reference: str) -> str:
    return hashlib.sha256(f"{branch}/{day}/{reference}".encode()).hexdigest()


def sample(references: Iterable[str], *, share: float, branch: str, day: str) -> list[str]:
    """The ``share`` (rounded up) of ``references`` drawn for review, always the same ones."""
    ordered = sorted(set(references), key=lambda r: _rank(branch, day, r))
    return ordered[: math.ceil(share * len(ordered))]


def review_backlog(db: Database, *, branch: str) -> dict[str, int]:
    """The branch's reviews waiting: ``open`` (for reviewers), ``issue`` (for its supervisor)."""
    with db.read() as conn:
        rows = conn.execute(
            select(_reviews.c.status, func.count())
            .where(_reviews.c.branch == branch, _reviews.c.status.in_(("open", "issue")))
            .group_by(_reviews.c.status)
        ).all()
    found = {str(status): int(count) for status, count in rows}
    return {status: found.get(status, 0) for status in ("open", "issue")}


def open_issues(db: Database, *, branch: str) -> list[ReviewView]:
    """The issues reviewers raised on the branch's cases that its supervisor has yet to answer."""
    with db.read() as conn:
        rows = conn.execute(
            select(_reviews)
            .where(_reviews.c.branch == branch, _reviews.c.status == "issue")
            .order_by(_reviews.c.id)
        ).all()
    return [ReviewView.model_validate(row, from_attributes=True) for row in rows]


def may_see_reviews(actor: Actor) -> None:
    """Refuse anyone but post reviewers and supervisors (who answer their branch's issues)."""
    if REVIEW_ROLE not in actor.roles and "supervisor" not in actor.roles:
        raise PermissionDenied(
            Text(zh="只有事后监督员和网点主管可以查看事后监督。",
                 en="Only post reviewers and branch supervisors see post-transaction review."),
            actor=actor.username,
        )


def require_reviewer(actor: Actor) -> None:
    """Refuse anyone but a post reviewer (who draws the day's cases into the queue)."""
    if REVIEW_ROLE not in actor.roles:
        raise PermissionDenied(
            Text(zh="只有事后监督员可以抽取业务。",
                 en="Only post reviewers draw cases for review."),
            actor=actor.username,
        )


def no_review(review_id: int) -> NotFound:
    """What a review out of reach answers: the same as one that does not exist."""
    return NotFound(
        Text(zh=f"没有事后监督记录 {review_id}", en=f"No post review {review_id}"),
        review=review_id,
    )


def _day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=records.REFERENCE_ZONE).astimezone(UTC)
    return start, start + timedelta(days=1)


class PostReviews:
    """The review queue over a desk's database (see the module docstring)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.db = desk.db

    def draw(self, *, branch: str, day: date) -> list[ReviewView]:
        """Put the day's sample and approved cases in the queue; returns all drawn that day."""
        if day > self.desk.services.now().astimezone(records.REFERENCE_ZONE).date():
            message = Text(zh=f"{day} 尚未到来,不能抽取", en=f"{day} has not come yet")
            raise InvalidInput(message, fields=[FieldError("day", "future", message)])
        start, end = _day_window(day)
        c, a = records.cases, records.approvals
        with self.db.read() as conn:
            closed = conn.execute(
                select(c.c.reference, c.c.workflow, c.c.definition_hash, c.c.state).where(
                    c.c.branch == branch, c.c.closed_at >= start, c.c.closed_at < end
                )
            ).all()
            approved = set(
                conn.execute(
                    select(a.c.case_reference).where(
                        a.c.decision == "approve",
                        a.c.case_reference.in_([row.reference for row in closed]),
                    )
                ).scalars()
            )
        label = day.strftime("%Y%m%d")
        by_workflow: dict[tuple[str, float], list[str]] = {}
        chosen: dict[str, tuple[str, str]] = {}
        for row in closed:
            definition = self.desk.workflow_of(row.definition_hash).definition
            rules = definition.post_review
            if rules is None:
                continue
            if row.reference in approved:
                chosen[row.reference] = (row.workflow, "approved_finding")
            if not rules.states or row.state in rules.states:
                by_workflow.setdefault((row.workflow, rules.share), []).append(row.reference)
        for (workflow, share), references in sorted(by_workflow.items()):
            for reference in sample(references, share=share, branch=branch, day=label):
                chosen.setdefault(reference, (workflow, "sample"))
        now = self.desk.services.now()
        with self.db.transaction() as conn:
            records.insert_ignore(
                conn,
                _reviews,
                [
                    {"case_reference": reference, "branch": branch, "day": label,
                     "workflow": workflow, "reason": why, "status": "open", "drawn_at": now}
                    for reference, (workflow, why) in sorted(chosen.items())
                ],
            )
        return self._select(_reviews.c.branch == branch, _reviews.c.day == label)

    def visible(self, *, review_id: int, actor: Actor) -> ReviewView:
        """The review as ``actor`` may see it: a reviewer any, a supervisor their branch's.

        Anyone else is refused; another branch's review answers as one not there."""
        may_see_reviews(actor)
        review = self.get(review_id=review_id)
        if REVIEW_ROLE not in actor.roles and review.branch != actor.branch:
            raise no_review(review_id)
        return review

    def queue(self, *, actor: Actor) -> list[ReviewView]:
        """A reviewer's open reviews; a supervisor's: the issues their branch must answer."""
        if REVIEW_ROLE in actor.roles:
            return self._select(_reviews.c.status == "open")
        if "supervisor" in actor.roles and actor.branch:
            return self._select(_reviews.c.status == "issue", _reviews.c.branch == actor.branch)
        return []

    def backlog(self, *, branch: str) -> dict[str, int]:
        """How many of the branch's reviews wait: ``open`` (reviewers) and ``issue`` (it)."""
        return review_backlog(self.db, branch=branch)

    def _select(self, *where: Any) -> list[ReviewView]:
        with self.db.read() as conn:
            rows = conn.execute(select(_reviews).where(*where).order_by(_reviews.c.id)).all()
        return [ReviewView.model_validate(row, from_attributes=True) for row in rows]

    def get(self, *, review_id: int) -> ReviewView:
        found = self._select(_reviews.c.id == review_id)
        if not found:
            raise no_review(review_id)
        return found[0]

    # --- decisions ----------------------------------------------------------

    def mark_reviewed(self, *, review_id: int, actor: Actor) -> ReviewView:
        return self._decide(review_id, actor, "reviewed", None)

    def raise_issue(self, *, review_id: int, actor: Actor, reason: str) -> ReviewView:
        return self._decide(review_id, actor, "issue", _required(reason, "reason"))

    def answer(self, *, review_id: int, actor: Actor, answer: str) -> ReviewView:
        """The branch's supervisor answers an issue the reviewer raised."""
        review = self.get(review_id=review_id)
        if "supervisor" not in actor.roles or actor.branch != review.branch:
            raise self._refused(review, actor, PermissionDenied(
                Text(
                    zh=f"只有网点 {review.branch} 的主管可以答复此问题",
                    en=f"only a supervisor of branch {review.branch} answers this issue",
                ),
                actor=actor.username,
            ))
        text = _required(answer, "answer")
        return self._write(review, actor, "issue", "answered",
                           {"answered_by": actor.username, "answer": text}, text)

    def _decide(
        self, review_id: int, actor: Actor, outcome: str, reason: str | None
    ) -> ReviewView:
        if REVIEW_ROLE not in actor.roles:
            refused = PermissionDenied(
                Text(
                    zh=f"{actor.username} 不是事后监督员,不能监督案件",
                    en=f"{actor.username} is not a post reviewer and cannot review cases",
                ),
                actor=actor.username,
            )
            try:
                review = self.get(review_id=review_id)
            except NotFound:
                raise refused from None  # the role decides first: no word of what exists
            raise self._refused(review, actor, refused)
        review = self.get(review_id=review_id)
        if actor.username in self.makers_and_checkers(review.case_reference):
            raise self._refused(review, actor, FourEyesViolation(
                Text(
                    zh=f"{actor.username} 经办或审批过案件 {review.case_reference},"
                    "不能监督它;请由另一位监督员办理",
                    en=f"{actor.username} took part in case {review.case_reference} "
                    "and cannot review it; another reviewer must",
                ),
                case=review.case_reference,
                actor=actor.username,
            ))
        values = {"reviewer": actor.username, "issue": reason}
        return self._write(review, actor, "open", outcome, values, reason)

    def _refused(self, review: ReviewView, actor: Actor, refused: CounterError) -> CounterError:
        """Journal ``refused`` on the case (who tried which review, and why not); return it."""
        with self.db.transaction() as conn:
            state = conn.execute(
                select(records.cases.c.state).where(
                    records.cases.c.reference == review.case_reference
                )
            ).scalar()
            journal.append(
                conn,
                stream=review.case_reference,
                actor=actor.username,
                at=self.desk.services.now(),
                trigger=None,
                from_state=state,
                **records.refusal_fields(refused),
            )
        self.desk._forget(review.case_reference)
        return refused

    def makers_and_checkers(self, reference: str) -> set[str]:
        """Who took a step on the case or decided its approval: never its reviewer."""
        with self.db.read() as conn:
            steps = journal.entries(conn, reference)
            deciders = conn.execute(
                select(records.approvals.c.decided_by).where(
                    records.approvals.c.case_reference == reference
                )
            ).scalars()
            people = {e.actor for e in steps if e.kind in journal.STEP_KINDS}
            return (people | {d for d in deciders if d}) - {Actor.system().username}

    def _write(
        self, review: ReviewView, actor: Actor, seen: str, outcome: str,
        values: dict[str, Any], text: str | None,
    ) -> ReviewView:
        now = self.desk.services.now()
        stamp = (
            {"answered_at": now} if outcome == "answered" else {"reviewed_at": now}
        )
        with self.db.transaction() as conn:
            moved = conn.execute(
                update(_reviews)
                .where(_reviews.c.id == review.id, _reviews.c.status == seen)
                .values(status=outcome, **values, **stamp)
            ).rowcount
            if moved != 1:
                raise StaleVersion(
                    Text(
                        zh=f"事后监督记录 {review.id} 已被处理(状态 {review.status})",
                        en=f"post review {review.id} was already decided "
                        f"(status {review.status})",
                    ),
                    review=review.id,
                )
            journal.append(
                conn,
                stream=review.case_reference,
                actor=actor.username,
                kind=POST_REVIEW,
                at=now,
                note=journal.canonical_json(
                    {"shape": 1, "review": review.id, "outcome": outcome, "text": text}
                ),
            )
        self.desk._forget(review.case_reference)
        return self.get(review_id=review.id)


def _required(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        message = Text(zh="请填写原因", en="A reason is required")
        raise InvalidInput(message, fields=[FieldError(field, "required", message)])
    if len(text) > 500:
        message = Text(zh="最多 500 个字符", en="At most 500 characters")
        raise InvalidInput(message, fields=[FieldError(field, "max_length", message)])
    return text

