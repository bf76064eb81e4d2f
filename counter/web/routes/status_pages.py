"""The public status page: a customer checks a result by reference and last four digits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from counter.errors import NotFound
from counter.web.deps import CsrfChecked, MaybeConsoleUser, WebDep
from counter.web.lookups import status_of
from counter.web.routes.api_status import allow_lookup
from counter.web.templating import render

router = APIRouter(prefix="/status", include_in_schema=False)


@router.get("")
def status_page(request: Request, principal: MaybeConsoleUser, reference: str = "") -> Response:
    return render(
        request,
        "status.html",
        {"reference": reference[:40], "result": None, "not_found": False},
    )


@router.get("/{reference}")
def status_page_for(request: Request, reference: str, principal: MaybeConsoleUser) -> Response:
    """Where the QR code on a slip points: the form with the reference filled in."""
    return status_page(request, principal, reference)


@router.post("")
def status_lookup(
    request: Request,
    web: WebDep,
    principal: MaybeConsoleUser,
    _csrf: CsrfChecked,
    reference: Annotated[str, Form(max_length=40)] = "",
    account_last4: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    allow_lookup(web, request, reference)
    result = None
    if account_last4.isdigit() and len(account_last4) == 4:
        try:
            result = status_of(web, reference=reference, account_last4=account_last4)
        except NotFound:
            result = None
    return render(
        request,
        "status.html",
        {"reference": reference, "result": result, "not_found": result is None},
        status_code=200 if result else 404,
    )
