"""``/api/approvals``: the supervisor queue and its decisions (four eyes is the desk's rule)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from counter.web.deps import ApiUser, WebDep
from counter.web.lookups import open_approval
from counter.web.present import approval_out
from counter.web.routes.api_cases import IdempotencyKey, shown
from counter.web.schemas import ApprovalDecisionIn, ApprovalOut, CaseOut, RejectIn

router = APIRouter(prefix="/approvals", tags=["approvals"])

ApprovalId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("", response_model=list[ApprovalOut])
def approval_queue(principal: ApiUser, web: WebDep) -> list[ApprovalOut]:
    """Waiting approvals of your branch, oldest first."""
    return [
        approval_out(a, web.settings.masking) for a in web.desk.approvals(actor=principal.actor)
    ]


@router.post("/{approval_id}/approve", response_model=CaseOut)
def approve(
    approval_id: ApprovalId,
    principal: ApiUser,
    web: WebDep,
    body: ApprovalDecisionIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    """Approve: the case goes on to where it was going. Never by the one who raised it."""
    approval = open_approval(web, approval_id, principal.actor)
    body = body or ApprovalDecisionIn()
    case = web.desk.approve(
        reference=approval.case_reference,
        actor=principal.actor,
        version=body.version,
        comment=body.comment,
        idempotency_key=idempotency_key,
        rekey=body.rekey,
    )
    return shown(web, case)


@router.post("/{approval_id}/reject", response_model=CaseOut)
def reject(
    approval_id: ApprovalId,
    body: RejectIn,
    principal: ApiUser,
    web: WebDep,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    """Reject with a reason: the case goes to the workflow's ``reject_to`` state."""
    approval = open_approval(web, approval_id, principal.actor)
    case = web.desk.reject(
        reference=approval.case_reference,
        actor=principal.actor,
        reason=body.reason,
        version=body.version,
        idempotency_key=idempotency_key,
    )
    return shown(web, case)
