"""``/api/cases``: open cases, read them, fire their triggers, read their journal.

Every rule (who may fire what, four eyes, versions, idempotency) is the
desk's; these routes only translate HTTP to desk calls and mask the answer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from counter.cases.views import CaseView
from counter.slips.issue import get_slip
from counter.web.context import WebContext
from counter.web.deps import ApiUser, WebDep
from counter.web.present import case_journal_out, case_out, case_summary_out
from counter.web.routes.slip_pages import pdf_response
from counter.web.schemas import CaseCreateIn, CaseOut, CaseSummaryOut, JournalEntryOut, TriggerIn

router = APIRouter(prefix="/cases", tags=["cases"])

Reference = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a request safely: the same key has one effect and answers the "
        "case as it stands (after the same access check); kept 24 hours by default.",
    ),
]


def shown(web: WebContext, case: CaseView) -> CaseOut:
    return case_out(case, web.workflow_of(case.definition_hash), web.settings.masking)


@router.get("", response_model=list[CaseSummaryOut])
def list_cases(
    principal: ApiUser,
    web: WebDep,
    state: Annotated[str | None, Query(max_length=64)] = None,
    scope: Annotated[
        Literal["mine", "branch"], Query(description="mine: cases you opened; branch: all you see")
    ] = "mine",
    include_closed: bool = False,
    merchant_name: Annotated[
        str | None,
        Query(max_length=200, description="only cases of merchants whose name holds this text"),
    ] = None,
) -> list[CaseSummaryOut]:
    """Your open cases (or every case you may see, with ``scope=branch``), newest first."""
    cases = web.desk.list_cases(actor=principal.actor, state=state, merchant_name=merchant_name)
    return [
        case_summary_out(c)
        for c in cases
        if (scope == "branch" or c.opened_by == principal.username)
        and (include_closed or c.closed_at is None)
    ]


def may_open(principal: ApiUser, web: WebDep) -> None:
    """403 before the body is read for a caller who may open no case at all (an auditor)."""
    web.desk.check_may_open(principal.actor)


@router.post("", response_model=CaseOut, status_code=201)
def open_case(
    principal: ApiUser, web: WebDep, _allowed: Annotated[None, Depends(may_open)],
    body: CaseCreateIn,
) -> CaseOut:
    return shown(web, web.desk.open_case(workflow=body.workflow, actor=principal.actor))


@router.get("/{reference}", response_model=CaseOut)
def get_case(reference: Reference, principal: ApiUser, web: WebDep) -> CaseOut:
    return shown(web, web.desk.get(reference=reference, actor=principal.actor))


TriggerName = Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


def may_fire(
    reference: Reference, trigger: TriggerName, principal: ApiUser, web: WebDep
) -> None:
    """403 (journaled) before the body is read when the caller may not fire this at all."""
    web.desk.authorize(reference=reference, trigger=trigger, actor=principal.actor)


@router.post("/{reference}/triggers/{trigger}", response_model=CaseOut)
def fire_trigger(
    reference: Reference,
    trigger: TriggerName,
    principal: ApiUser,
    web: WebDep,
    _allowed: Annotated[None, Depends(may_fire)],
    body: TriggerIn,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    """Fire ``trigger`` with the step's form values at the version you last read.

    403 before the body is looked at when your role may not fire it; 409 when
    the case moved on since (reload it); 422 when the data is refused or a
    check blocks the step (``error.fields``, ``error.findings``). Nothing
    changes in any of these; a forbidden or blocked attempt is journaled.
    """
    case = web.desk.fire(
        reference=reference,
        trigger=trigger,
        actor=principal.actor,
        data=body.data,
        version=body.version,
        idempotency_key=idempotency_key,
    )
    return shown(web, case)


@router.get("/{reference}/journal", response_model=list[JournalEntryOut])
def case_journal(reference: Reference, principal: ApiUser, web: WebDep) -> list[JournalEntryOut]:
    entries = web.desk.journal(reference=reference, actor=principal.actor)
    case = web.desk.get(reference=reference, actor=principal.actor)
    workflow = web.workflow_of(case.definition_hash)
    return case_journal_out(entries, workflow, case.data, web.settings.masking)


@router.get(
    "/{reference}/slip.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The slip as PDF."}},
)
def case_slip(
    reference: Reference,
    principal: ApiUser,
    web: WebDep,
    copy: Annotated[int, Query(ge=0, le=10_000, description="0: the original; n: reprint n")] = 0,
) -> Response:
    """The case's printed slip as stored when it completed (404 until it is issued)."""
    slip = get_slip(web.desk, reference=reference, actor=principal.actor, copy_number=copy)
    return pdf_response(slip.pdf, reference, slip.copy_number)
