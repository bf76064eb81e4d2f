"""``/api/workflows``: the services a case can be opened for, with states, triggers and forms."""

from __future__ import annotations

from fastapi import APIRouter

from counter.web.deps import ApiUser, WebDep
from counter.web.present import workflow_out, workflow_summary_out
from counter.web.schemas import WorkflowOut, WorkflowSummaryOut

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.get("", response_model=list[WorkflowSummaryOut])
def list_workflows(principal: ApiUser, web: WebDep) -> list[WorkflowSummaryOut]:
    catalog = web.desk.runtime.catalog
    return [workflow_summary_out(catalog.current(name)) for name in catalog.names()]


@router.get("/{name}", response_model=WorkflowOut)
def get_workflow(name: str, principal: ApiUser, web: WebDep) -> WorkflowOut:
    return workflow_out(web.desk.runtime.catalog.current(name))
