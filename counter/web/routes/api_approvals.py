"""``/api/approvals``: the supervisor queue and its decisions (four eyes is the desk's rule)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from counter.cases.views import ApprovalView
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


def _decision(trigger: str) -> Any:
    """A dependency: the waiting approval, once the caller is known to may ``trigger`` it."""

    def approval_to_decide(
        approval_id: ApprovalId, principal: ApiUser, web: WebDep,
        idempotency_key: IdempotencyKey = None,
    ) -> ApprovalView:
        # A repeat (same key) of a decision already taken is the desk's to answer.
        approval = open_approval(web, approval_id, principal.actor,
                                 decided_too=idempotency_key is not None)
        web.desk.authorize(reference=approval.case_reference, trigger=trigger,
                           actor=principal.actor)
        return approval

    return Depends(approval_to_decide)


@router.post("/{approval_id}/approve", response_model=CaseOut)
def approve(
    principal: ApiUser,
    web: WebDep,
    approval: Annotated[ApprovalView, _decision("approve")],
    body: ApprovalDecisionIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    """Approve (``{"reason"}`` optional): the case goes on to where it was going.

    Never by the one who raised it (four eyes); 403 before the body is read
    for a caller who may not approve.
    """
    body = body or ApprovalDecisionIn()
    case = web.desk.approve(
        reference=approval.case_reference,
        actor=principal.actor,
        version=body.version,
        comment=body.reason,
        idempotency_key=idempotency_key,
        rekey=body.rekey,
    )
    return shown(web, case)


@router.post("/{approval_id}/reject", response_model=CaseOut)
def reject(
    principal: ApiUser,
    web: WebDep,
    approval: Annotated[ApprovalView, _decision("reject")],
    body: RejectIn,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    """Reject with a reason (``{"reason"}`` required): the case goes to ``reject_to``."""
    case = web.desk.reject(
        reference=approval.case_reference,
        actor=principal.actor,
        reason=body.reason,
        version=body.version,
        idempotency_key=idempotency_key,
    )
    return shown(web, case)
