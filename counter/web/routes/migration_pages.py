"""Console pages of case migration: preview, prepare, and (another user) confirm or withdraw.

What ``counter cases migrate`` does, for operations staff at a browser:
``/migrations`` lists the stored plans and previews what a migration (or a
revert of the last one) would do to every running case of a workflow;
preparing stores that plan, and a second ``operations`` user confirms it
on its page, when each case moves in its own transaction and is
journaled. The rules (four eyes by compare-and-set on the plan, the
case's version compare-and-set) are ``counter.cases.migration``'s; the
page leaves out the confirm button for the plan's own preparer and says
why.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from counter.cases.migration import MIGRATION_ROLE, CaseMigrations, MigrationView
from counter.errors import InvalidInput, NotFound, PermissionDenied
from counter.text import Text
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.i18n import catalog
from counter.web.templating import render
from counter.web.wording import state_words

router = APIRouter(prefix="/migrations", include_in_schema=False)

WorkflowName = Annotated[str, Form(max_length=64)]


def _migrations(web: WebContext, principal: Principal) -> CaseMigrations:
    if not principal.has(MIGRATION_ROLE):
        raise PermissionDenied(catalog().text("migration.only_operations"))
    return CaseMigrations(web.desk)


def _page(
    request: Request, web: WebContext, principal: Principal, *,
    preview: MigrationView | None = None, plan: MigrationView | None = None,
    error: Any = None, status_code: int = 200,
) -> Response:
    migrations = _migrations(web, principal)
    found = web.desk.runtime.catalog

    def state(definition_hash: str, name: str) -> Text:
        """A state in words, from the definition version it belongs to (its name if unknown)."""
        try:
            words = state_words(web.workflow_of(definition_hash), name)
        except NotFound:
            words = None
        return words or Text(zh=name, en=name)

    return render(
        request,
        "migration.html" if plan is not None else "migrations.html",
        {
            "workflows": [(n, found.current(n).definition.title) for n in found.names()],
            "plans": migrations.recent() if plan is None else [],
            "preview": preview,
            "plan": plan,
            "state": state,
            "own_plan": plan is not None and plan.prepared_by == principal.username,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("")
def migrations_home(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    workflow: Annotated[str, Query(max_length=64)] = "",
    revert: Annotated[bool, Query()] = False,
) -> Response:
    """The plans; with ``workflow``, the preview of migrating (or reverting) its cases."""
    if not workflow:
        return _page(request, web, principal)
    try:
        preview = _migrations(web, principal).plan(workflow=workflow, revert=revert)
    except InvalidInput as refused:
        return _page(request, web, principal, error=refused.message, status_code=422)
    return _page(request, web, principal, preview=preview)


@router.post("")
def prepare(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    workflow: WorkflowName = "",
    revert: Annotated[bool, Form()] = False,
) -> Response:
    """Store the plan as the preview showed it, for another user to confirm."""
    migrations = _migrations(web, principal)
    try:
        plan = migrations.prepare(workflow=workflow, actor=principal.actor, revert=revert)
    except InvalidInput as refused:
        return _page(request, web, principal, error=refused.message, status_code=422)
    return RedirectResponse(f"/migrations/{plan.id}", status_code=303)


@router.get("/{migration_id}")
def migration_page(
    request: Request, migration_id: int, web: WebDep, principal: ConsoleUser
) -> Response:
    plan = _migrations(web, principal).get(migration_id=migration_id)
    return _page(request, web, principal, plan=plan)


@router.post("/{migration_id}/confirm")
def confirm(
    request: Request, migration_id: int, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked
) -> Response:
    """A second operations user: every case planned to move moves (each journaled)."""
    _migrations(web, principal).confirm(migration_id=migration_id, actor=principal.actor)
    return RedirectResponse(f"/migrations/{migration_id}", status_code=303)


@router.post("/{migration_id}/withdraw")
def withdraw(
    request: Request, migration_id: int, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked
) -> Response:
    _migrations(web, principal).withdraw(migration_id=migration_id, actor=principal.actor)
    return RedirectResponse(f"/migrations/{migration_id}", status_code=303)
