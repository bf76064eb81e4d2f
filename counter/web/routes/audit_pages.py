"""Console pages for auditors: read-only journals and the chain verification result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from counter.cases.views import CaseSummary
from counter.errors import PermissionDenied
from counter.store import journal
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, WebDep
from counter.web.i18n import catalog
from counter.web.present import case_journal_out
from counter.web.templating import render
from counter.web.wording import entry_shown, listed_titles, state_words

router = APIRouter(prefix="/audit", include_in_schema=False)

AUDIT_ROLES = frozenset({"auditor", "admin"})


def _auditor(principal: Principal) -> None:
    if not principal.roles & AUDIT_ROLES:
        raise PermissionDenied(catalog().text("audit.only_auditors"))


def _titles(web: WebContext, cases: list[CaseSummary]) -> dict[str, Any]:
    return {"state_titles": listed_titles(web.desk.runtime.catalog, cases)[1]}


@router.get("")
def audit_home(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    reference: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    _auditor(principal)
    if reference.strip():
        return RedirectResponse(f"/audit/cases/{reference.strip().upper()}", status_code=303)
    cases = web.desk.list_cases(actor=principal.actor, limit=50)
    return render(
        request, "audit.html", {"cases": cases, "report": None, **_titles(web, cases)}
    )


@router.get("/verify")
async def verify_all(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    """Recompute every hash of every journal stream (may take a while on a big journal)."""
    _auditor(principal)
    report = await run_in_threadpool(journal.verify, web.db)
    cases = web.desk.list_cases(actor=principal.actor, limit=50)
    return render(
        request, "audit.html", {"cases": cases, "report": report, **_titles(web, cases)}
    )


@router.get("/cases/{reference}")
def audit_case(request: Request, reference: str, web: WebDep, principal: ConsoleUser) -> Response:
    _auditor(principal)
    case = web.desk.get(reference=reference, actor=principal.actor)
    workflow = web.workflow_of(case.definition_hash)
    entries = case_journal_out(
        web.desk.journal(reference=reference, actor=principal.actor),
        workflow,
        case.data,
        web.settings.masking,
    )
    report = journal.verify(web.db, stream=reference)
    return render(
        request,
        "audit_case.html",
        {
            "case": case,
            "entries": [(e, entry_shown(e, workflow)) for e in entries],
            "state_words": lambda state: state_words(workflow, state),
            "report": report,
        },
    )
