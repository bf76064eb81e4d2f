"""``/api/reviews``: post-transaction review (事后监督) for back-office systems.

The same rules as the console's ``/reviews`` (``counter.cases.post_review``):
a post reviewer lists every open review, draws a branch's day and decides;
a supervisor lists and answers the issues raised on their branch's cases.
A review out of the caller's reach answers 404 like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from counter.cases.post_review import REVIEW_ROLE, PostReviews, ReviewView, no_review
from counter.errors import PermissionDenied
from counter.web.auth import Principal
from counter.web.deps import ApiUser, WebDep
from counter.web.i18n import catalog
from counter.web.schemas import ReviewAnswerIn, ReviewDrawIn, ReviewIssueIn

router = APIRouter(prefix="/reviews", tags=["post review"])

ReviewId = Annotated[int, Path(ge=1, le=2**62)]


def _reviews(web: WebDep, principal: Principal) -> PostReviews:
    if not (principal.has(REVIEW_ROLE) or principal.has("supervisor")):
        raise PermissionDenied(catalog().text("review.only_roles"))
    return PostReviews(web.desk)


def _in_reach(reviews: PostReviews, principal: Principal, review_id: int) -> None:
    """404 for a review of another branch, to a supervisor (the reviewer sees every branch)."""
    if principal.has(REVIEW_ROLE):
        return
    if reviews.get(review_id=review_id).branch != principal.branch:
        raise no_review(review_id)


@router.get("", response_model=list[ReviewView])
def review_queue(principal: ApiUser, web: WebDep) -> list[ReviewView]:
    """A post reviewer: every open review. A supervisor: the issues their branch must answer."""
    return _reviews(web, principal).queue(actor=principal.actor)


@router.post("/draw", response_model=list[ReviewView])
def draw(body: ReviewDrawIn, principal: ApiUser, web: WebDep) -> list[ReviewView]:
    """Put a branch's day in the queue (its sample, every approved case); idempotent."""
    if not principal.has(REVIEW_ROLE):
        raise PermissionDenied(catalog().text("review.only_roles"))
    return PostReviews(web.desk).draw(branch=body.branch.strip().upper(), day=body.day)


@router.post("/{review_id}/reviewed", response_model=ReviewView)
def mark_reviewed(review_id: ReviewId, principal: ApiUser, web: WebDep) -> ReviewView:
    """No issue found. Never by one who took part in the case (journaled refusal, 403)."""
    reviews = _reviews(web, principal)
    _in_reach(reviews, principal, review_id)
    return reviews.mark_reviewed(review_id=review_id, actor=principal.actor)


@router.post("/{review_id}/issue", response_model=ReviewView)
def raise_issue(
    review_id: ReviewId, body: ReviewIssueIn, principal: ApiUser, web: WebDep
) -> ReviewView:
    """Raise an issue with its reason, for the branch's supervisor to answer."""
    reviews = _reviews(web, principal)
    _in_reach(reviews, principal, review_id)
    return reviews.raise_issue(review_id=review_id, actor=principal.actor, reason=body.reason)


@router.post("/{review_id}/answer", response_model=ReviewView)
def answer(
    review_id: ReviewId, body: ReviewAnswerIn, principal: ApiUser, web: WebDep
) -> ReviewView:
    """A supervisor of the case's branch answers the raised issue."""
    reviews = _reviews(web, principal)
    _in_reach(reviews, principal, review_id)
    return reviews.answer(review_id=review_id, actor=principal.actor, answer=body.answer)
