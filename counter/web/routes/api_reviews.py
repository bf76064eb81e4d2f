"""``/api/reviews``: post-transaction review (事后监督) for back-office systems.

The same rules as the console's ``/reviews`` (``counter.cases.post_review``):
a post reviewer lists every open review, draws a branch's day and decides;
a supervisor lists and answers the issues raised on their branch's cases.
A review out of the caller's reach answers 404 like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from counter.cases.post_review import (
    PostReviews,
    ReviewView,
    may_see_reviews,
    require_reviewer,
)
from counter.web.auth import Principal
from counter.web.deps import ApiUser, WebDep
from counter.web.schemas import ReviewAnswerIn, ReviewDrawIn, ReviewIssueIn

router = APIRouter(prefix="/reviews", tags=["post review"])

ReviewId = Annotated[int, Path(ge=1, le=2**62)]


def _reviews(web: WebDep, principal: Principal, review_id: int | None = None) -> PostReviews:
    """The reviews, to a caller who may see them (and ``review_id``, if given, in reach)."""
    reviews = PostReviews(web.desk)
    if review_id is None:
        may_see_reviews(principal.actor)
    else:
        reviews.visible(review_id=review_id, actor=principal.actor)
    return reviews


@router.get("", response_model=list[ReviewView])
def review_queue(principal: ApiUser, web: WebDep) -> list[ReviewView]:
    """A post reviewer: every open review. A supervisor: the issues their branch must answer."""
    return _reviews(web, principal).queue(actor=principal.actor)


@router.post("/draw", response_model=list[ReviewView])
def draw(body: ReviewDrawIn, principal: ApiUser, web: WebDep) -> list[ReviewView]:
    """Put a branch's day in the queue (its sample, every approved case); idempotent."""
    require_reviewer(principal.actor)
    return PostReviews(web.desk).draw(branch=body.branch.strip().upper(), day=body.day)


@router.post("/{review_id}/reviewed", response_model=ReviewView)
def mark_reviewed(review_id: ReviewId, principal: ApiUser, web: WebDep) -> ReviewView:
    """No issue found. Never by one who took part in the case (journaled refusal, 403)."""
    reviews = _reviews(web, principal, review_id)
    return reviews.mark_reviewed(review_id=review_id, actor=principal.actor)


@router.post("/{review_id}/issue", response_model=ReviewView)
def raise_issue(
    review_id: ReviewId, body: ReviewIssueIn, principal: ApiUser, web: WebDep
) -> ReviewView:
    """Raise an issue with its reason, for the branch's supervisor to answer."""
    reviews = _reviews(web, principal, review_id)
    return reviews.raise_issue(review_id=review_id, actor=principal.actor, reason=body.reason)


@router.post("/{review_id}/answer", response_model=ReviewView)
def answer(
    review_id: ReviewId, body: ReviewAnswerIn, principal: ApiUser, web: WebDep
) -> ReviewView:
    """A supervisor of the case's branch answers the raised issue."""
    reviews = _reviews(web, principal, review_id)
    return reviews.answer(review_id=review_id, actor=principal.actor, answer=body.answer)
