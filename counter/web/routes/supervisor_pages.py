"""Console pages for supervisors: one queue of what needs them, and one approval to decide.

The queue holds everything in the branch that waits for a supervisor, the
longest waiting first: approvals; cases at a step only a supervisor can take
(the acquirer refused the unbind: retry or cancel); open cases about to
expire for want of a step; issues the back office's post-transaction review
raised on the branch's cases. Four eyes is the desk's rule; the approval page
only hides the buttons from someone the desk would refuse (the case's own
teller) and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from counter.cases.post_review import open_issues
from counter.cases.sweeper import expirable_states
from counter.errors import InvalidInput
from counter.store.db import utcnow
from counter.text import Text
from counter.web.auth import Principal
from counter.web.case_view import supervisor_steps
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.errors import field_messages
from counter.web.lookups import open_approval
from counter.web.present import approval_out
from counter.web.routes.case_pages import accepted_sections
from counter.web.templating import render
from counter.web.wording import finding_title, shown_findings

router = APIRouter(include_in_schema=False)

EXPIRY_WARNING = timedelta(hours=1)
"""How long before the sweeper would expire an idle case the queue starts showing it."""


@dataclass(frozen=True)
class QueueItem:
    """One thing waiting for a supervisor."""

    kind: str  # approval | supervisor_step | expiring | review_issue
    reference: str
    href: str
    channel: str
    raised_by: str
    since: datetime
    why: list[Text]
    expires_at: datetime | None = None
    approval: Any = None  # the ApprovalOut of an approval (its level and escalation)

    @property
    def waiting_minutes(self) -> int:
        return max(0, int((utcnow() - self.since).total_seconds() // 60))


def queue_items(web: WebContext, principal: Principal) -> list[QueueItem]:
    """Everything in the principal's branch that needs a supervisor, longest waiting first."""
    policy = web.settings.masking
    items = [
        QueueItem(
            kind="approval",
            reference=a.case_reference,
            href=f"/approvals/{a.id}",
            channel=a.channel,
            raised_by=a.raised_by,
            since=a.raised_at,
            why=[finding_title(f.code) for f in a.findings],
            approval=a,
        )
        for a in (approval_out(v, policy) for v in web.desk.approvals(actor=principal.actor))
    ]
    catalog_ = web.desk.runtime.catalog
    names = set(catalog_.names())
    idle = timedelta(hours=web.settings.case_idle_hours)
    now = utcnow()
    for case in web.desk.list_cases(actor=principal.actor):
        if case.closed_at is not None or case.awaiting_approval or case.workflow not in names:
            continue
        definition = catalog_.current(case.workflow).definition
        if case.state not in definition.states:
            continue
        title = definition.state_title(case.state)
        if case.state in supervisor_steps(definition):
            items.append(
                QueueItem("supervisor_step", case.reference, f"/cases/{case.reference}",
                          case.channel, case.opened_by, case.updated_at, [title])
            )
        elif case.state in expirable_states(definition) and now - case.updated_at > idle - (
            EXPIRY_WARNING
        ):
            items.append(
                QueueItem("expiring", case.reference, f"/cases/{case.reference}", case.channel,
                          case.opened_by, case.updated_at, [title], case.updated_at + idle)
            )
    if principal.has("supervisor") and principal.branch:
        items += _review_issues(web, principal)
    return sorted(items, key=lambda item: item.since)


def _review_issues(web: WebContext, principal: Principal) -> list[QueueItem]:
    """Issues the back office raised on the branch's cases, for its supervisor to answer."""
    found = []
    for review in open_issues(web.db, branch=str(principal.branch)):
        case = web.desk.get(reference=review.case_reference, actor=principal.actor)
        found.append(QueueItem(
            "review_issue", review.case_reference, f"/reviews/{review.id}", case.channel,
            review.reviewer or "", review.reviewed_at or review.drawn_at or case.updated_at,
            [Text(zh=review.issue or "", en=review.issue or "")],
        ))
    return found


@router.get("/approvals")
def approval_queue(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    return render(
        request,
        "approvals.html",
        {
            "queue": queue_items(web, principal),
            "branch_seq": web.desk.branch_head(actor=principal.actor),
        },
    )


def without_rekeyed(data: Mapping[str, Any], rekey: Mapping[str, Any]) -> dict[str, Any]:
    """The case's data without what the approver must re-key blind (they must not see it)."""
    shown = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    for path in rekey:
        form, field = path.split(".", 1)
        section = shown.get(form)
        if isinstance(section, dict):
            section.pop(field, None)
    return shown


def render_approval(
    request: Request,
    web: WebContext,
    principal: Principal,
    approval_id: int,
    *,
    errors: dict[str, Text] | None = None,
    status_code: int = 200,
) -> Response:
    approval = open_approval(web, approval_id, principal.actor)
    case = web.desk.get(reference=approval.case_reference, actor=principal.actor)
    snapshot = web.desk.snapshot(reference=approval.case_reference, actor=principal.actor)
    rekey = web.desk.runtime.rekey_fields(snapshot)
    return render(
        request,
        "approval.html",
        {
            "approval": approval_out(approval, web.settings.masking),
            "findings": shown_findings(
                approval_out(approval, web.settings.masking).findings,
                web.workflow_of(case.definition_hash),
            ),
            "case": case,
            "sections": accepted_sections(
                web, case.definition_hash, without_rekeyed(case.data, rekey)
            ),
            "rekey": rekey,
            "may_decide": "approve" in case.available_triggers,
            "own_case": approval.raised_by == principal.username,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/approvals/{approval_id}")
def approval_page(
    request: Request, approval_id: int, web: WebDep, principal: ConsoleUser
) -> Response:
    return render_approval(request, web, principal, approval_id)


@router.post("/approvals/{approval_id}/approve")
def approve(
    request: Request,
    approval_id: int,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    version: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=500)] = "",
    rekey_field: Annotated[list[str] | None, Form()] = None,
    rekey_value: Annotated[list[str] | None, Form()] = None,
) -> Response:
    approval = open_approval(web, approval_id, principal.actor)
    try:
        web.desk.approve(
            reference=approval.case_reference,
            actor=principal.actor,
            version=version,
            comment=comment.strip() or None,
            rekey=dict(zip(rekey_field or [], rekey_value or [], strict=False)),
        )
    except InvalidInput as refused:
        errors = field_messages(refused)
        return render_approval(
            request, web, principal, approval_id, errors=errors or {"comment": refused.message},
            status_code=422,
        )
    return RedirectResponse(f"/approvals?decided={approval.case_reference}", status_code=303)


@router.post("/approvals/{approval_id}/reject")
def reject(
    request: Request,
    approval_id: int,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    approval = open_approval(web, approval_id, principal.actor)
    try:
        web.desk.reject(
            reference=approval.case_reference,
            actor=principal.actor,
            reason=reason,
            version=version,
        )
    except InvalidInput as refused:
        errors = field_messages(refused)
        return render_approval(
            request,
            web,
            principal,
            approval_id,
            errors=errors or {"reason": refused.message},
            status_code=422,
        )
    return RedirectResponse(f"/approvals?decided={approval.case_reference}", status_code=303)
