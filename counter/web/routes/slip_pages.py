"""The slip in the console: preview the stored PDF, print it, reprint it (journaled).

The slip is rendered once when the case completes (``counter.slips.issue``);
these pages serve the stored file. A reprint is a new numbered copy marked
重打 / REPRINT, and only tellers and supervisors of the case's branch may ask
for one (the slip module's rule).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from counter.banking.masking import mask
from counter.errors import NotFound
from counter.slips.issue import get_slip, list_slips, reprint_slip
from counter.text import Text
from counter.web.auth import Principal
from counter.web.context import WebContext
from counter.web.deps import ConsoleUser, CsrfChecked, WebDep
from counter.web.i18n import catalog
from counter.web.security import FRAMEABLE
from counter.web.templating import render

router = APIRouter(include_in_schema=False)

Copy = Annotated[int | None, Query(ge=0, le=10_000)]


def pdf_response(pdf: bytes, reference: str, copy_number: int) -> Response:
    """The PDF inline, framable by our own preview page only."""
    name = f"{reference}-{copy_number}.pdf" if copy_number else f"{reference}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', FRAMEABLE: "1"},
    )


@router.get("/cases/{reference}/slip")
def slip_page(
    request: Request, reference: str, web: WebDep, principal: ConsoleUser, copy: Copy = None
) -> Response:
    return _slip_page(request, web, principal, reference, copy)


def _slip_page(
    request: Request,
    web: WebContext,
    principal: Principal,
    reference: str,
    copy: int | None,
    *,
    reason_error: Text | None = None,
) -> Response:
    prints = list_slips(web.desk, reference=reference, actor=principal.actor)
    case = web.desk.get(reference=reference, actor=principal.actor)
    shown = copy if copy is not None else (prints[-1].copy_number if prints else None)
    status = 422 if reason_error else 200 if prints else 404
    return render(
        request,
        "slip.html",
        {"case": case, "prints": prints, "shown": shown, "reason_error": reason_error},
        status_code=status,
    )


@router.get("/cases/{reference}/slip.pdf")
def slip_file(reference: str, web: WebDep, principal: ConsoleUser, copy: Copy = 0) -> Response:
    slip = get_slip(web.desk, reference=reference, actor=principal.actor, copy_number=copy)
    return pdf_response(slip.pdf, reference, slip.copy_number)


@router.post("/cases/{reference}/slip/reprint")
def reprint(
    request: Request,
    reference: str,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A numbered reprint, journaled with why the customer needs another copy (required)."""
    if not reason.strip():
        return _slip_page(
            request, web, principal, reference, None,
            reason_error=catalog().text("slip.reason_required"),
        )
    try:
        slip = reprint_slip(
            web.desk,
            reference=reference,
            actor=principal.actor,
            reason=mask(reason.strip(), "text", web.settings.masking),
        )
    except NotFound:
        return RedirectResponse(f"/cases/{reference}/slip", status_code=303)
    return RedirectResponse(f"/cases/{reference}/slip?copy={slip.copy_number}", status_code=303)
