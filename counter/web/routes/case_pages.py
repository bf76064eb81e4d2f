"""Console pages for tellers: their cases, opening a case, and the case page with its step forms.

A step form posts to ``/cases/{reference}/steps/{trigger}``; the desk decides.
Refused input comes back as the same page with each error next to its field
and what the teller typed still in the form (never a secret field); a
success redirects to the case page (so a reload never fires twice), and a
per-render idempotency key makes a double click harmless.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from counter.branchday.sessions import current_session
from counter.cases.views import CaseSummary
from counter.engine.definition import BUILTIN_TRIGGERS, FormDefinition
from counter.engine.diagram import diagram
from counter.engine.forms import LONG_TERM
from counter.errors import (
    BlockedByFindings,
    InvalidInput,
    InvalidTrigger,
    NotFound,
    PeerUnavailable,
    StaleVersion,
)
from counter.text import Text
from counter.web.auth import MERCHANT_ROLE, PORTAL, Principal, check_csrf, console_principal
from counter.web.context import WebContext
from counter.web.deliveries import deliveries_out, sms_not_sent
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.errors import fields_of, message_for
from counter.web.i18n import catalog
from counter.web.present import case_out, finding_out, journal_out, masked_data
from counter.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class StepForm:
    """One thing the reader may do on the case page: a trigger and the form it collects."""

    trigger: str
    title: Text
    form: FormDefinition | None
    primary: bool


def trigger_title(
    web: WebContext, definition_hash: str, trigger: str, form: FormDefinition | None
) -> Text:
    """A trigger's name for people: the workflow's title for it, the catalog's, or its form's."""
    workflow = web.workflow_of(definition_hash).definition
    for transition in workflow.transitions:
        if transition.trigger == trigger and transition.title is not None:
            return transition.title
    key = f"trigger.{trigger}"
    if key in catalog():
        return catalog().text(key)
    if form is None:
        wf = web.workflow_of(definition_hash)
        declared = next((t for t in workflow.transitions if t.trigger == trigger), None)
        sources = workflow.expand_sources(declared) if declared is not None else []
        name = workflow.form_of(declared, sources[0]) if declared and sources else None
        form = wf.forms.get(name) if name else None
    if form is not None:
        return form.title
    return Text(zh=trigger, en=trigger)


def entry_title(web: WebContext, definition_hash: str, kind: str, trigger: str | None) -> Text:
    """A journal entry's name for people: its trigger's, or its kind's (open, slip, reprint)."""
    key = f"journal.{kind}"
    if kind == "refused" and trigger:  # which step was refused: its reasons follow
        refused, step = catalog().text(key), trigger_title(web, definition_hash, trigger, None)
        return Text(zh=f"{refused.zh}:{step.zh}", en=f"{refused.en}: {step.en}")
    if kind not in ("trigger", "approval") and key in catalog():
        return catalog().text(key)
    if trigger:
        return trigger_title(web, definition_hash, trigger, None)
    return Text(zh=kind, en=kind)


def step_forms(
    web: WebContext, principal: Principal, reference: str, available: list[str]
) -> list[StepForm]:
    snapshot = web.desk.snapshot(reference=reference, actor=principal.actor)
    state = web.workflow_of(snapshot.definition_hash).definition.states[snapshot.state]
    steps: list[StepForm] = []
    for trigger in available:
        if trigger in BUILTIN_TRIGGERS:
            continue  # decided on the approval page
        if any(s.trigger == trigger for s in steps):
            continue
        form = web.desk.runtime.form_for(snapshot, trigger)
        title = trigger_title(web, snapshot.definition_hash, trigger, form)
        steps.append(StepForm(trigger=trigger, title=title, form=form, primary=False))
    primary = next((s for s in steps if s.form is not None and s.form.name == state.form), None)
    primary = primary or (steps[0] if steps else None)
    ordered = [StepForm(s.trigger, s.title, s.form, s is primary) for s in steps]
    return sorted(ordered, key=lambda s: not s.primary)


def accepted_sections(
    web: WebContext, definition_hash: str, data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """What earlier steps accepted, masked, with labels: for the case page and the approval page."""
    workflow = web.workflow_of(definition_hash)
    shown = masked_data(workflow, data, web.settings.masking)
    sections = []
    for name, form in workflow.forms.items():
        values = shown.get(name)
        if not isinstance(values, Mapping) or not values:
            continue
        rows = []
        for spec in form.fields:
            if spec.name not in values or values[spec.name] in (None, ""):
                continue
            value = values[spec.name]
            label = next((c.label for c in spec.choices if c.value == value), None)
            if spec.type == "date_or_long_term" and value == LONG_TERM:
                label = catalog().text("form.long_term")
            rows.append({"label": spec.label, "value": label if label is not None else value})
        sections.append({"title": form.title, "rows": rows})
    return sections


def render_case(
    request: Request,
    web: WebContext,
    principal: Principal,
    reference: str,
    *,
    errors: Mapping[str, Text] | None = None,
    values: Mapping[str, Any] | None = None,
    active: str | None = None,
    alert: Text | None = None,
    blocked: list[Any] | None = None,
    status_code: int = 200,
) -> Response:
    view = web.desk.get(reference=reference, actor=principal.actor)
    workflow = web.workflow_of(view.definition_hash)
    policy = web.settings.masking
    case = case_out(view, workflow, policy)
    entries = journal_out(
        web.desk.journal(reference=reference, actor=principal.actor), policy, readable=True
    )
    definition = workflow.definition
    deliveries = deliveries_out(web.db, reference)
    return render(
        request,
        "case.html",
        {
            "case": case,
            "steps": step_forms(web, principal, reference, view.available_triggers),
            "sections": accepted_sections(web, view.definition_hash, view.data),
            "journal": entries,
            "entry_title": lambda e: entry_title(web, view.definition_hash, e.kind, e.trigger),
            "state_title": lambda state: (
                definition.state_title(state) if state in definition.states else None
            ),
            "errors": dict(errors or {}),
            "values": dict(values or {}),
            "active": active,
            "alert": alert,
            "blocked": [finding_out(f, policy) for f in blocked or []],
            "idempotency_key": secrets.token_urlsafe(16),
            "has_slip": bool(definition.slip) and view.state == "completed",
            "deliveries": deliveries,
            "sms_not_sent": sms_not_sent(view.state, deliveries),
        },
        status_code=status_code,
    )


@router.get("/")
def home(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    if principal.has(MERCHANT_ROLE):  # a merchant's home is the portal (bookmarks, old links)
        return RedirectResponse(PORTAL, status_code=303)
    if not principal.has("teller"):
        if principal.has("supervisor"):
            return RedirectResponse("/approvals", status_code=303)
        if principal.has("auditor"):
            return RedirectResponse("/audit", status_code=303)
    cases = [
        c
        for c in web.desk.list_cases(actor=principal.actor)
        if c.closed_at is None and c.opened_by == principal.username
    ]
    return _case_list(request, web, principal, cases, not_found=None)


def _case_list(
    request: Request,
    web: WebContext,
    principal: Principal,
    cases: list[CaseSummary],
    *,
    not_found: str | None,
    searched: str | None = None,
) -> Response:
    """The home page over ``cases`` (its open cases, or the cases a search found)."""
    catalog_ = web.desk.runtime.catalog
    current = {name: catalog_.current(name).definition for name in catalog_.names()}
    titles: dict[str, Text] = {}
    states: dict[str, Text] = {}
    for c in cases:
        definition = current.get(c.workflow)
        titles[c.reference] = definition.title if definition else Text(zh=c.workflow, en=c.workflow)
        known = definition is not None and c.state in definition.states
        states[c.reference] = (
            definition.state_title(c.state)
            if definition and known
            else Text(zh=c.state, en=c.state)
        )
    return render(
        request,
        "home.html",
        {
            "cases": cases,
            "titles": titles,
            "states": states,
            "not_found": not_found,
            "searched": searched,
            "counter_closed": _counter_closed(web, principal),
        },
        status_code=404 if not_found else 200,
    )


def _counter_closed(web: WebContext, principal: Principal) -> bool:
    """Whether a teller's counter is closed (the home page then sends them to ``/counter``)."""
    return principal.has("teller") and current_session(web.db, teller=principal.username) is None


@router.get("/search")
def search(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    reference: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Find a case by reference (straight to its page) or by a merchant's name (a list)."""
    typed = reference.strip()
    if not typed:
        return RedirectResponse("/", status_code=303)
    wanted = typed.upper()
    if len(wanted) <= 40:
        try:
            web.desk.get(reference=wanted, actor=principal.actor)
        except NotFound:
            pass
        else:
            return RedirectResponse(f"/cases/{wanted}", status_code=303)
    try:
        cases = web.desk.list_cases(actor=principal.actor, merchant_name=typed)
    except InvalidInput:
        cases = []
    if not cases:
        return _case_list(request, web, principal, [], not_found=reference)
    return _case_list(request, web, principal, cases, not_found=None, searched=typed)


@router.get("/cases/new")
def new_case_page(request: Request, web: WebDep, principal: ConsoleUser) -> Response:
    workflows = web.desk.openable(principal.actor)
    return render(
        request,
        "new_case.html",
        {"workflows": workflows, "counter_closed": _counter_closed(web, principal)},
    )


@router.post("/cases")
def open_case(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    workflow: Annotated[str, Form(max_length=64)],
) -> Response:
    case = web.desk.open_case(workflow=workflow, actor=principal.actor)
    return RedirectResponse(f"/cases/{case.reference}", status_code=303)


@router.get("/cases/{reference}")
def case_page(request: Request, reference: str, web: WebDep, principal: ConsoleUser) -> Response:
    return render_case(request, web, principal, reference)


@router.get("/cases/{reference}/diagram.svg")
def case_diagram(reference: str, web: WebDep, principal: ConsoleUser) -> Response:
    """The workflow drawn with the case's current state highlighted."""
    view = web.desk.get(reference=reference, actor=principal.actor)
    svg = diagram(web.workflow_of(view.definition_hash), "svg", highlight=view.state)
    return Response(svg, media_type="image/svg+xml")


def submitted_values(form: FormDefinition | None, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The step's fields from a posted HTML form (``date_or_long_term`` has a checkbox)."""
    values: dict[str, Any] = {}
    for spec in form.fields if form is not None else ():
        if spec.type == "date_or_long_term" and raw.get(f"{spec.name}__long_term"):
            values[spec.name] = LONG_TERM
            continue
        value = raw.get(spec.name)
        if isinstance(value, str):
            values[spec.name] = value
    return values


@router.post("/cases/{reference}/steps/{trigger}")
async def fire_step(request: Request, reference: str, trigger: str, web: WebDep) -> Response:
    raw = await request.form()
    principal = console_principal(request)
    if principal is None:
        return RedirectResponse(f"/login?next=/cases/{reference}", status_code=303)
    check_csrf(request, str(raw.get("csrf_token") or ""))
    fields = {k: v for k, v in raw.items() if isinstance(v, str)}
    return await run_in_threadpool(_fire_step, request, web, principal, reference, trigger, fields)


def _fire_step(
    request: Request,
    web: WebContext,
    principal: Principal,
    reference: str,
    trigger: str,
    raw: Mapping[str, str],
) -> Response:
    snapshot = web.desk.snapshot(reference=reference, actor=principal.actor)
    try:
        form = web.desk.runtime.form_for(snapshot, trigger)
    except InvalidTrigger as refused:
        return render_case(
            request, web, principal, reference, alert=message_for(refused), status_code=409
        )
    values = submitted_values(form, raw)
    return fire_form_step(
        request, web, principal, reference, trigger, raw, form, values,
        render=render_case, done=f"/cases/{reference}",
    )


class StepPage(Protocol):
    """How a page shows a case again: ``render_case`` here, the portal's application page."""

    def __call__(
        self,
        request: Request,
        web: WebContext,
        principal: Principal,
        reference: str,
        *,
        errors: Mapping[str, Text] | None = ...,
        values: Mapping[str, Any] | None = ...,
        active: str | None = ...,
        alert: Text | None = ...,
        blocked: list[Any] | None = ...,
        status_code: int = ...,
    ) -> Response: ...


def fire_form_step(
    request: Request,
    web: WebContext,
    principal: Principal,
    reference: str,
    trigger: str,
    raw: Mapping[str, str],
    form: FormDefinition | None,
    values: Mapping[str, Any],
    *,
    render: StepPage,
    done: str,
) -> Response:
    """Fire a step posted from a page: on to ``done``, or the page again with what went wrong.

    A conflict shows the page with its message (409); refused input shows it
    with each field's error next to the field and what was typed, secrets
    (passwords, one-time codes) left out (422).
    """
    try:
        version = int(raw.get("version", ""))
    except ValueError:
        version = -1
    try:
        web.desk.fire(
            reference=reference,
            trigger=trigger,
            actor=principal.actor,
            data=values,
            version=version,
            idempotency_key=raw.get("idempotency_key") or None,
        )
    except (StaleVersion, InvalidTrigger) as conflict:
        return render(
            request, web, principal, reference, alert=message_for(conflict), status_code=409
        )
    except (InvalidInput, PeerUnavailable) as refused:
        # PeerUnavailable: an outside system did not answer a check; nothing changed and the
        # teller sends the same step again, with what they typed still in the form.
        secret = {
            spec.name
            for spec in (form.fields if form is not None else ())
            if spec.secret or spec.type in ("password", "code")
        }
        return render(
            request,
            web,
            principal,
            reference,
            errors={f.field: f.message for f in fields_of(refused) if f.field},
            values={name: value for name, value in values.items() if name not in secret},
            active=trigger,
            alert=refused.message,
            blocked=list(refused.findings) if isinstance(refused, BlockedByFindings) else None,
            status_code=503 if isinstance(refused, PeerUnavailable) else 422,
        )
    return RedirectResponse(done, status_code=303)
