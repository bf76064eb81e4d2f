"""Console pages for supervisors: the branch's approval queue and one approval to decide.

Four eyes is the desk's rule; the page only hides the buttons from someone
the desk would refuse (the case's own teller) and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from counter.errors import InvalidInput
from counter.text import Text
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.errors import fields_of
from counter.web.lookups import open_approval
from counter.web.present import approval_out
from counter.web.routes.case_pages import accepted_sections
from counter.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/approvals")
def approval_queue(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    queue = [
        approval_out(a, web.settings.masking) for a in web.desk.approvals(actor=principal.actor)
    ]
    return render(request, "approvals.html", {"queue": queue})


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
        errors = {f.field: f.message for f in fields_of(refused) if f.field}
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
        errors = {f.field: f.message for f in fields_of(refused) if f.field}
        return render_approval(
            request,
            web,
            principal,
            approval_id,
            errors=errors or {"reason": refused.message},
            status_code=422,
        )
    return RedirectResponse(f"/approvals?decided={approval.case_reference}", status_code=303)
