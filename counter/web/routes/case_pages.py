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
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from counter.branchday.sessions import current_session
from counter.cases.views import CaseSummary
from counter.engine.definition import BUILTIN_TRIGGERS, FormDefinition
from counter.engine.diagram import people_diagram
from counter.engine.forms import LONG_TERM
from counter.engine.loader import Workflow
from counter.errors import (
    BlockedByFindings,
    InvalidInput,
    InvalidTrigger,
    NotFound,
    PeerUnavailable,
    StaleVersion,
)
from counter.store.db import utcnow
from counter.text import Text
from counter.web.auth import MERCHANT_ROLE, PORTAL, Principal, check_csrf, console_principal
from counter.web.case_view import code_panel, progress_steps, supervisor_steps
from counter.web.context import WebContext
from counter.web.deliveries import deliveries_out, sms_not_sent
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.errors import field_messages
from counter.web.i18n import catalog
from counter.web.present import case_journal_out, case_out, finding_out, masked_data, pii_fields
from counter.web.templating import clock_for, render, translator_for
from counter.web.wording import (
    entry_shown,
    listed_titles,
    page_message,
    shown_findings,
    trigger_words,
)

router = APIRouter(include_in_schema=False)

FAVICON = Path(__file__).resolve().parents[1] / "static" / "favicon.svg"


@router.get("/favicon.ico")
def favicon() -> Response:
    """The console's icon (an SVG: every browser the bank runs reads it)."""
    return Response(
        FAVICON.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# Steps that end a case for good: labelled as what they do, behind a confirmation.
DESTRUCTIVE = frozenset({"cancel", "reject", "withdraw"})


@dataclass(frozen=True)
class StepForm:
    """One thing the reader may do on the case page: a trigger and the form it collects."""

    trigger: str
    title: Text
    form: FormDefinition | None
    primary: bool

    @property
    def destructive(self) -> bool:
        return self.trigger in DESTRUCTIVE


def trigger_title(
    web: WebContext, definition_hash: str, trigger: str, form: FormDefinition | None = None
) -> Text:
    """A trigger's name for people (``counter.web.wording.trigger_words``)."""
    return trigger_words(web.workflow_of(definition_hash), trigger)


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


# An outside system's own technical words (the acquirer's error, often in English) are shown
# folded under their label: the outcome above them says what happened in the reader's words.
_OWN_WORDS = frozenset({"error"})


def _system_forms(workflow: Workflow) -> set[str]:
    """Forms that only the system fills in: outside systems' answers."""
    definition = workflow.definition
    found = set()
    for transition in definition.transitions:
        sources = definition.expand_sources(transition)
        form = definition.form_of(transition, sources[0]) if sources else transition.form
        if form and set(transition.roles) == {"system"}:
            found.add(form)
    return found


def accepted_sections(
    web: WebContext, definition_hash: str, data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """What earlier steps accepted, masked, with labels: for the case page and the approval page."""
    workflow = web.workflow_of(definition_hash)
    shown = masked_data(workflow, data, web.settings.masking)
    answers = _system_forms(workflow)
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
            if label is None:
                label = catalog().find(f"value.{spec.name}.{value}")
            mono = spec.type == "text" and not spec.choices and spec.pii == "none" and bool(
                spec.validators
            )
            rows.append(
                {
                    "label": spec.label,
                    "value": label if label is not None else value,
                    "mono": mono,
                    "folded": name in answers and spec.name in _OWN_WORDS,
                }
            )
        sections.append({"title": form.title, "rows": rows})
    return sections


def error_summary(
    steps: list[StepForm], active: str | None, errors: Mapping[str, Text]
) -> list[dict[str, Any]]:
    """Links from the summary above the forms to each field in error, in the form's order."""
    step = next((s for s in steps if s.trigger == active), None)
    if step is None or step.form is None:
        return []
    links = []
    for spec in step.form.fields:
        if spec.name in errors:
            anchor = f"{step.trigger}-{spec.name}"
            if spec.type == "choice" and len(spec.choices) <= 4:
                anchor += "-1"  # the group's first radio: the link then moves the focus there
            links.append({"href": f"#{anchor}", "label": spec.label, "message": errors[spec.name]})
    return links


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
    # Read before what the page shows, so that any change after it is polled (``live_mark``).
    live_seen = web.desk.live_mark(reference=reference, actor=principal.actor)
    view = web.desk.get(reference=reference, actor=principal.actor)
    workflow = web.workflow_of(view.definition_hash)
    policy = web.settings.masking
    case = case_out(view, workflow, policy)
    journal = web.desk.journal(reference=reference, actor=principal.actor)
    entries = case_journal_out(journal, workflow, view.data, policy)
    definition = workflow.definition
    steps = step_forms(web, principal, reference, view.available_triggers)
    errors = dict(errors or {})
    pending_findings = shown_findings(case.pending.findings, workflow) if case.pending else []
    deliveries = deliveries_out(web.db, reference)
    return render(
        request,
        "case.html",
        {
            "case": case,
            "steps": steps,
            "primary": next((s for s in steps if s.primary and not s.destructive), None),
            "sections": accepted_sections(web, view.definition_hash, view.data),
            "journal": [entry_shown(e, workflow) for e in reversed(entries)],
            "live_seen": live_seen,
            "progress": progress_steps(workflow, view.state, entries, case.pending),
            "code": code_panel(
                view, workflow, lambda: web.desk.refusals_since_step(reference, "unbind_code_wrong")
            ),
            "pending_findings": pending_findings,
            # Shown once: what the last step found, unless the review card shows it already.
            "findings": [] if case.pending or blocked else shown_findings(case.findings, workflow),
            "errors": errors,
            "summary": error_summary(steps, active, errors),
            "values": dict(values or {}),
            "active": active,
            "alert": alert,
            # A finding about a field is said next to it (and in the summary): not a third time.
            "blocked": shown_findings(
                [
                    finding_out(f, policy, pii_fields(workflow))
                    for f in blocked or []
                    if not (getattr(f, "field", None) and f.field in errors)
                ],
                workflow,
            ),
            "idempotency_key": secrets.token_urlsafe(16),
            "has_slip": bool(definition.slip) and view.state == "completed",
            "deliveries": deliveries,
            "sms_not_sent": sms_not_sent(view.state, deliveries),
            "supervisor_only": not steps and not case.final and not case.pending,
            "with_supervisor": view.state in supervisor_steps(definition),
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
        if principal.has("post_reviewer"):
            return RedirectResponse("/reviews", status_code=303)
        if principal.has("operations"):
            return RedirectResponse("/migrations", status_code=303)
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
    titles, states = listed_titles(web.desk.runtime.catalog, cases)
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
            "example_reference": _example_reference(web, principal),
            "branch_seq": web.desk.branch_head(actor=principal.actor),
        },
        status_code=404 if not_found else 200,
    )


def _example_reference(web: WebContext, principal: Principal) -> str:
    """What a reference of this branch looks like today (``BJ001-20261202-000123``)."""
    today = clock_for(web.settings.branch_zone).local(utcnow()).strftime("%Y%m%d")
    return f"{principal.branch or 'BJ001'}-{today}-000123"


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
def case_diagram(
    request: Request, reference: str, web: WebDep, principal: ConsoleUser
) -> Response:
    """The workflow drawn by title with the case's current state highlighted (cached)."""
    view = web.desk.get(reference=reference, actor=principal.actor)
    workflow = web.workflow_of(view.definition_hash)
    svg = people_diagram(
        workflow,
        translator_for(request).lang,
        highlight=view.state,
        trigger_title=lambda trigger: trigger_words(workflow, trigger),
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private"})


@router.get("/cases/{reference}/changed")
def case_changed(
    reference: str,
    web: WebDep,
    principal: ConsoleUser,
    seen: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Whether the case moved past ``seen`` (``Reading.live_mark``: its journal, or a
    delivery of its outbox): what an open case page polls.

    Pages send it with ``X-Counter-Background: 1`` so that polling does not keep
    an idle session alive.
    """
    head = web.desk.live_mark(reference=reference, actor=principal.actor)
    return JSONResponse({"seq": head, "changed": head != seen})


@router.get("/changes")
def branch_changed(
    web: WebDep, principal: ConsoleUser, seen: Annotated[int, Query(ge=0)] = 0
) -> Response:
    """Whether anything was journaled in the reader's branch since ``seen``: for lists."""
    head = web.desk.branch_head(actor=principal.actor)
    return JSONResponse({"seq": head, "changed": head != seen})


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
            request, web, principal, reference, alert=page_message(refused), status_code=409
        )
    values = submitted_values(form, raw)
    return fire_form_step(
        request, web, principal, reference, trigger, raw, form, values,
        render=render_case, done=f"/cases/{reference}?done={trigger}",
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
        snapshot = web.desk.snapshot(reference=reference, actor=principal.actor)
        alert = page_message(conflict, web.workflow_of(snapshot.definition_hash))
        return render(request, web, principal, reference, alert=alert, status_code=409)
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
            errors=field_messages(refused),
            values={name: value for name, value in values.items() if name not in secret},
            active=trigger,
            alert=refused.message,
            blocked=list(refused.findings) if isinstance(refused, BlockedByFindings) else None,
            status_code=503 if isinstance(refused, PeerUnavailable) else 422,
        )
    return RedirectResponse(done, status_code=303)
