"""The merchant portal: a merchant user's terminals, their online unbind applications, the slip.

Only ``merchant`` users come here (staff are refused, 403); the sign-in in
turn keeps merchants out of the staff console (``counter.web.auth``). A
merchant sees the terminals the acquirer registers to the merchant number
bound to their user, with each bound account masked by the bank's policy,
and starts and follows ``pos_unbind_online`` cases. Every case is read
through the desk as the merchant, so another merchant's reference is not
found, exactly as an unknown one. The merchant number an application names
is always the user's own, never what the form posts.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from counter.cases.views import CaseSummary, CaseView
from counter.errors import NotFound, PermissionDenied
from counter.slips.issue import get_slip
from counter.text import Text
from counter.web.auth import MERCHANT_ROLE, Principal, check_csrf, console_principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.i18n import catalog
from counter.web.present import finding_out, masked_value
from counter.web.routes.case_pages import (
    accepted_sections,
    fire_form_step,
    step_forms,
    submitted_values,
)
from counter.web.templating import render

__all__ = ["ONLINE_WORKFLOW", "PORTAL_STEPS", "router", "status_text"]

router = APIRouter(prefix="/portal", include_in_schema=False)

ONLINE_WORKFLOW = "pos_unbind_online"
PORTAL_STEPS = ("request_code", "submit_application", "resend_code", "edit_application", "withdraw")
"""The steps a merchant takes on the portal, in the order the page offers them."""
_PREFILLED = ("merchant_no",)  # the user's own number: shown, never typed


def _merchant(principal: ConsoleUser) -> Principal:
    if not principal.has(MERCHANT_ROLE):
        raise PermissionDenied(catalog().text("portal.merchants_only"))
    return principal


MerchantUser = Annotated[Principal, Depends(_merchant)]


# --- what the merchant sees -----------------------------------------------------


@dataclass(frozen=True)
class TerminalRow:
    terminal_sn: str
    terminal_id: str
    account: str | None  # masked; None when no account is bound
    holder: str | None


def _terminals(web: WebContext, merchant_no: str) -> list[TerminalRow]:
    acquirer = web.desk.services.acquirer
    if acquirer is None or not merchant_no:
        return []
    policy = web.settings.masking
    rows = []
    for terminal in acquirer.terminals(merchant_no):
        bound = acquirer.settlement_account(merchant_no, terminal.terminal_sn)
        rows.append(
            TerminalRow(
                terminal_sn=terminal.terminal_sn,
                terminal_id=terminal.terminal_id,
                account=masked_value(bound.account_number, "account", policy) if bound else None,
                holder=masked_value(bound.holder, "name", policy) if bound else None,
            )
        )
    return rows


def _vars(case: CaseView) -> Mapping[str, Any]:
    found = case.data.get("vars")
    return found if isinstance(found, Mapping) else {}


def _reject_reason(web: WebContext, case: CaseView, principal: Principal) -> str:
    for entry in reversed(web.desk.journal(reference=case.reference, actor=principal.actor)):
        if entry.trigger == "reject":
            return entry.note or ""
    return ""


def _referral_reasons(case: CaseView) -> Text:
    referral = _vars(case).get("referral")
    reasons = referral.get("reasons", []) if isinstance(referral, Mapping) else []
    messages = [r.get("message") or {} for r in reasons if isinstance(r, Mapping)]
    return Text(
        zh=";".join(str(m.get("zh", "")) for m in messages if m),
        en="; ".join(str(m.get("en", "")) for m in messages if m),
    )


def status_text(web: WebContext, case: CaseView, principal: Principal) -> Text:
    """Where the application stands, as one plain sentence in Chinese and in English."""
    texts = catalog()
    key = f"portal.status.{case.state}"
    if case.state == "rejected":
        return texts.text(key, reason=_reject_reason(web, case, principal) or "-")
    if case.state == "referred_to_counter":
        reasons = _referral_reasons(case)
        return Text(
            zh=texts.text(key, reference=case.reference).zh + (reasons.zh or "-"),
            en=texts.text(key, reference=case.reference).en + (reasons.en or "-"),
        )
    if key in texts:
        return texts.text(key)
    return case.state_title


def _own_case(web: WebContext, principal: Principal, reference: str) -> CaseView:
    """The merchant's online case; any other reference is the same "not found"."""
    case = web.desk.get(reference=reference, actor=principal.actor)
    if case.workflow != ONLINE_WORKFLOW or case.opened_by != principal.username:
        raise NotFound(catalog().text("portal.not_found"))
    return case


def _applications(web: WebContext, principal: Principal) -> list[CaseSummary]:
    return [
        c
        for c in web.desk.list_cases(actor=principal.actor)
        if c.workflow == ONLINE_WORKFLOW and c.opened_by == principal.username
    ]


# --- pages ------------------------------------------------------------------------


@router.get("")
def portal_home(request: Request, web: WebDep, principal: MerchantUser) -> Response:
    merchant_no = principal.merchant_no or ""
    acquirer = web.desk.services.acquirer
    merchant = acquirer.merchant(merchant_no) if acquirer is not None and merchant_no else None
    return render(
        request,
        "portal/home.html",
        {
            "merchant_no": merchant_no,
            "merchant_name": merchant.merchant_name if merchant else "",
            "terminals": _terminals(web, merchant_no),
            "applications": _applications(web, principal),
            "state_title": _state_title(web),
        },
    )


def _state_title(web: WebContext) -> Any:
    workflow = web.desk.runtime.catalog.current(ONLINE_WORKFLOW).definition

    def title(state: str) -> Text:
        return workflow.state_title(state) if state in workflow.states else Text(zh=state, en=state)

    return title


@router.post("/applications")
def start_application(
    request: Request,
    web: WebDep,
    principal: MerchantUser,
    _csrf: CsrfChecked,
    terminal_sn: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Open an online unbind for one of the merchant's own terminals."""
    own = {t.terminal_sn for t in _terminals(web, principal.merchant_no or "")}
    if terminal_sn not in own:
        raise NotFound(catalog().text("portal.no_terminal"))
    case = web.desk.open_case(workflow=ONLINE_WORKFLOW, actor=principal.actor)
    return RedirectResponse(
        f"/portal/cases/{case.reference}?terminal={terminal_sn}", status_code=303
    )


def render_application(
    request: Request,
    web: WebContext,
    principal: Principal,
    reference: str,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, Text] | None = None,
    active: str | None = None,
    alert: Text | None = None,
    blocked: list[Any] | None = None,
    status_code: int = 200,
) -> Response:
    case = _own_case(web, principal, reference)
    steps = [
        s
        for s in step_forms(web, principal, reference, case.available_triggers)
        if s.trigger in PORTAL_STEPS
    ]
    steps.sort(key=lambda s: (not s.primary, PORTAL_STEPS.index(s.trigger)))
    policy = web.settings.masking
    return render(
        request,
        "portal/case.html",
        {
            "case": case,
            "status": status_text(web, case, principal),
            "steps": steps,
            "prefilled": _PREFILLED,
            "merchant_no": principal.merchant_no or "",
            "sections": accepted_sections(web, case.definition_hash, case.data),
            "findings": [finding_out(f, policy) for f in case.findings],
            "values": dict(values or {}),
            "errors": dict(errors or {}),
            "active": active,
            "alert": alert,
            "blocked": [finding_out(f, policy) for f in blocked or []],
            "idempotency_key": secrets.token_urlsafe(16),
            "has_slip": case.state == "completed",
        },
        status_code=status_code,
    )


@router.get("/cases/{reference}")
def application_page(
    request: Request,
    reference: str,
    web: WebDep,
    principal: MerchantUser,
    terminal: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    values = {"terminal_sn": terminal} if terminal else {}
    return render_application(
        request, web, principal, reference, values=values, active="request_code"
    )


@router.post("/cases/{reference}/steps/{trigger}")
async def application_step(request: Request, reference: str, trigger: str, web: WebDep) -> Response:
    raw = await request.form()
    principal = console_principal(request)
    if principal is None:
        return RedirectResponse(f"/login?next=/portal/cases/{reference}", status_code=303)
    _merchant(principal)
    check_csrf(request, str(raw.get("csrf_token") or ""))
    fields = {k: v for k, v in raw.items() if isinstance(v, str)}
    return await run_in_threadpool(_step, request, web, principal, reference, trigger, fields)


def _step(
    request: Request,
    web: WebContext,
    principal: Principal,
    reference: str,
    trigger: str,
    raw: Mapping[str, str],
) -> Response:
    case = _own_case(web, principal, reference)
    if trigger not in PORTAL_STEPS or trigger not in case.available_triggers:
        return render_application(
            request,
            web,
            principal,
            reference,
            alert=catalog().text("portal.step_unavailable"),
            status_code=409,
        )
    snapshot = web.desk.snapshot(reference=reference, actor=principal.actor)
    form = web.desk.runtime.form_for(snapshot, trigger)
    values = submitted_values(form, raw)
    if form is not None and form.field("merchant_no") is not None:
        values["merchant_no"] = principal.merchant_no or ""
    return fire_form_step(
        request, web, principal, reference, trigger, raw, form, values,
        render=render_application, done=f"/portal/cases/{reference}",
    )


@router.get("/cases/{reference}/slip.pdf")
def application_slip(reference: str, web: WebDep, principal: MerchantUser) -> Response:
    """The confirmation slip as stored when the case completed (404 until then)."""
    case = _own_case(web, principal, reference)
    slip = get_slip(web.desk, reference=case.reference, actor=principal.actor)
    return Response(
        slip.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{case.reference}.pdf"'},
    )
