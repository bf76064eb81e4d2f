"""Finding things for a request: a waiting approval by id, a case for the public status lookup.

Access rules stay the desk's: an approval is looked up among those the
desk lets the actor see, and the status lookup reads through the desk as a
read-only actor, then answers only if the account's last four digits match.
"""

from __future__ import annotations

import hmac

from counter.cases.views import ApprovalView
from counter.engine.types import Actor
from counter.errors import InvalidTrigger, NotFound
from counter.web.context import WebContext
from counter.web.i18n import catalog
from counter.web.schemas import StatusOut

__all__ = ["STATUS_READER", "open_approval", "status_of"]

# Reads any branch's case and can change none (the desk lets auditors read all).
STATUS_READER = Actor(username="status-lookup", roles=frozenset({"auditor"}))
_ACCOUNT_CLASSES = ("account", "card")


def open_approval(
    web: WebContext, approval_id: int, actor: Actor, *, decided_too: bool = False
) -> ApprovalView:
    """The waiting approval ``approval_id`` in the actor's reach; 404, or 409 once decided.

    ``decided_too``: a decided one as well (a repeated request the desk may answer).
    """
    for approval in web.desk.approvals(actor=actor, include_decided=True):
        if approval.id == approval_id:
            if approval.decided_at is not None and not decided_too:
                raise InvalidTrigger(catalog().text("approval.decided"), approval=approval_id)
            return approval
    raise NotFound(catalog().text("approval.not_found"), approval=approval_id)


def status_of(web: WebContext, *, reference: str, account_last4: str) -> StatusOut:
    """Service, state and completion time, if ``account_last4`` ends an account on the case.

    A wrong reference and a wrong last four digits raise the same ``NotFound``.
    """
    not_found = NotFound(catalog().text("status.not_found"))
    wanted = reference.strip().upper()
    try:
        case = web.desk.get(reference=wanted, actor=STATUS_READER)
    except NotFound:
        raise not_found from None
    workflow = web.workflow_of(case.definition_hash)
    endings = []
    for form in workflow.forms.values():
        section = case.data.get(form.name)
        if not isinstance(section, dict):
            continue
        for spec in form.fields:
            value = section.get(spec.name)
            if spec.pii in _ACCOUNT_CLASSES and isinstance(value, str) and len(value) >= 4:
                endings.append(value[-4:])
    matched = False
    for ending in endings:  # no early exit: the same work whether or not it matches
        matched |= hmac.compare_digest(ending.encode(), account_last4.encode())
    if not matched:
        raise not_found
    return StatusOut(
        service=case.title,
        state=case.state_title,
        completed=case.final,
        completed_at=case.closed_at if case.final else None,
    )
