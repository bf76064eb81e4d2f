"""Console pages of post-transaction review (事后监督): the back office's queue, the answers.

A post reviewer sees every open review, draws a branch's day into the
queue, and on each review reads the case (masked, its journal in words)
and marks it reviewed or raises an issue with its reason. A supervisor
sees the issues raised on their branch's cases and answers them. What may
be decided is ``counter.cases.post_review``'s rule (the reviewer never one
who worked on the case; every refusal journaled); the pages only leave out
the buttons the desk would refuse, and say why.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from counter.branchday import local_day
from counter.cases.post_review import (
    REVIEW_ROLE,
    PostReviews,
    ReviewView,
    may_see_reviews,
    require_reviewer,
)
from counter.errors import InvalidInput
from counter.store.db import utcnow
from counter.text import Text
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.errors import field_messages
from counter.web.i18n import catalog
from counter.web.present import case_journal_out
from counter.web.routes.case_pages import accepted_sections
from counter.web.templating import render
from counter.web.wording import entry_shown, state_words

router = APIRouter(prefix="/reviews", include_in_schema=False)

Reason = Annotated[str, Form(max_length=500)]


def _reviews(web: WebContext) -> PostReviews:
    return PostReviews(web.desk)


def _review_for(web: WebContext, principal: Principal, review_id: int) -> ReviewView:
    return _reviews(web).visible(review_id=review_id, actor=principal.actor)


def _queue(
    request: Request, web: WebContext, principal: Principal, *,
    errors: dict[str, Text] | None = None, status_code: int = 200,
) -> Response:
    may_see_reviews(principal.actor)
    found = web.desk.runtime.catalog
    return render(
        request,
        "reviews.html",
        {
            "queue": _reviews(web).queue(actor=principal.actor),
            "reviewer": principal.has(REVIEW_ROLE),
            "default_day": (local_day(utcnow()) - timedelta(days=1)).isoformat(),
            "workflow_titles": {n: found.current(n).definition.title for n in found.names()},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("")
def review_queue(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    return _queue(request, web, principal)


@router.post("/draw")
def draw(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    branch: Annotated[str, Form(max_length=20)] = "",
    day: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Put a branch's day in the queue (the sample and the approved cases); idempotent."""
    require_reviewer(principal.actor)
    code = branch.strip().upper()
    errors: dict[str, Text] = {}
    if not code:
        errors["branch"] = catalog().text("error.field_missing")
    try:
        when = date.fromisoformat(day.strip())
    except ValueError:
        errors["day"] = catalog().text("review.bad_day")
    if errors:
        return _queue(request, web, principal, errors=errors, status_code=422)
    try:
        drawn = _reviews(web).draw(branch=code, day=when)
    except InvalidInput as refused:
        errors = field_messages(refused)
        return _queue(request, web, principal, errors=errors, status_code=422)
    return RedirectResponse(
        f"/reviews?drawn={len(drawn)}&branch={code}&day={when.isoformat()}", status_code=303
    )


def render_review(
    request: Request,
    web: WebContext,
    principal: Principal,
    review_id: int,
    *,
    errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    review = _review_for(web, principal, review_id)
    case = web.desk.get(reference=review.case_reference, actor=principal.actor)
    workflow = web.workflow_of(case.definition_hash)
    entries = case_journal_out(
        web.desk.journal(reference=case.reference, actor=principal.actor),
        workflow,
        case.data,
        web.settings.masking,
    )
    took_part = principal.username in _reviews(web).makers_and_checkers(case.reference)
    return render(
        request,
        "review.html",
        {
            "review": review,
            "case": case,
            "sections": accepted_sections(web, case.definition_hash, case.data),
            "entries": [(e, entry_shown(e, workflow)) for e in entries],
            "state_words": lambda state: state_words(workflow, state),
            "may_review": principal.has(REVIEW_ROLE) and review.status == "open" and not took_part,
            "took_part": principal.has(REVIEW_ROLE) and review.status == "open" and took_part,
            "may_answer": principal.has("supervisor") and review.status == "issue"
            and principal.branch == review.branch,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/{review_id}")
def review_page(request: Request, review_id: int, web: WebDep, principal: ConsoleUser) -> Response:
    return render_review(request, web, principal, review_id)


def _decided(
    request: Request, web: WebContext, principal: Principal, review_id: int, field: str, decide: Any
) -> Response:
    """Run one decision; a bad field re-renders the review with its error (422)."""
    _review_for(web, principal, review_id)
    try:
        done: ReviewView = decide(_reviews(web))
    except InvalidInput as refused:
        errors = field_messages(refused)
        return render_review(
            request, web, principal, review_id, errors=errors or {field: refused.message},
            status_code=422,
        )
    return RedirectResponse(f"/reviews?decided={done.id}&status={done.status}", status_code=303)


@router.post("/{review_id}/pass")
def mark_reviewed(
    request: Request, review_id: int, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked
) -> Response:
    return _decided(
        request, web, principal, review_id, "reason",
        lambda reviews: reviews.mark_reviewed(review_id=review_id, actor=principal.actor),
    )


@router.post("/{review_id}/issue")
def raise_issue(
    request: Request, review_id: int, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked,
    reason: Reason = "",
) -> Response:
    return _decided(
        request, web, principal, review_id, "reason",
        lambda reviews: reviews.raise_issue(
            review_id=review_id, actor=principal.actor, reason=reason
        ),
    )


@router.post("/{review_id}/answer")
def answer(
    request: Request, review_id: int, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked,
    answer: Reason = "",
) -> Response:
    return _decided(
        request, web, principal, review_id, "answer",
        lambda reviews: reviews.answer(review_id=review_id, actor=principal.actor, answer=answer),
    )
