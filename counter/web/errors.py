"""Turn counter's exceptions into HTTP answers: the one place that knows their statuses.

The JSON API answers every error in one shape (docs/api.md, "Errors")::

    {"error": {"code": "...", "message": {"zh": "...", "en": "..."},
               "fields": [{"field": "...", "code": "...", "message": {"zh": "...", "en": "..."}}],
               "findings": [{"code": "...", "severity": "block", "message": {...}}]}}

``fields`` name a real input each (a form field, ``version``, a header);
``findings`` are what checks found that concerns no single field (a frozen
merchant, a person not authorised). Anything unexpected is logged with its
trace and answered 500 in the same shape, with no trace in the answer
(:class:`CatchAll`). Console pages get an error page in the reader's
language instead, and a request without a valid session is sent to the
login page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from counter.errors import (
    AuthenticationFailed,
    BlockedByFindings,
    CounterError,
    FieldError,
    InvalidInput,
    InvalidTrigger,
    NotFound,
    PeerError,
    PeerUnavailable,
    PermissionDenied,
    StaleVersion,
)
from counter.text import Text
from counter.web.i18n import catalog

__all__ = [
    "ERROR_RESPONSES",
    "CatchAll",
    "ErrorDetail",
    "ErrorResponse",
    "FieldErrorOut",
    "FindingErrorOut",
    "error_payload",
    "field_messages",
    "fields_of",
    "findings_of",
    "install_error_handlers",
    "status_for",
]

log = logging.getLogger(__name__)


class FieldErrorOut(BaseModel):
    """What is wrong with one input field (a finding about a field is reported here too)."""

    field: str = Field(min_length=1)
    code: str
    message: Text


class FindingErrorOut(BaseModel):
    """A finding that stopped the step and concerns no single field."""

    code: str
    severity: str
    message: Text


class ErrorDetail(BaseModel):
    code: str
    message: Text
    fields: list[FieldErrorOut] = []
    findings: list[FindingErrorOut] = []


class ErrorResponse(BaseModel):
    """The shape of every error the JSON API answers."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (400, "The body is not JSON in UTF-8"),
        (401, "No valid bearer token"),
        (403, "The caller may not do this (decided before the body is read)"),
        (404, "No such thing, or not in the caller's reach"),
        (409, "The case changed since (reload it), or the step is not possible now"),
        (413, "The body is over 64 KiB"),
        (422, "Input refused: field errors in fields, other findings in findings"),
        (429, "Too many requests"),
        (500, "Unexpected error (logged; the answer holds no detail)"),
    )
}


def status_for(error: CounterError) -> int:
    """The HTTP status a counter error means."""
    if isinstance(error, AuthenticationFailed):
        return 401
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidTrigger | StaleVersion):
        return 409
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, PeerUnavailable):
        return 503  # an outside system is down: the same request may succeed later
    if isinstance(error, PeerError):
        return 502  # an outside system refused our request: its settings need a look
    return 500


def field_messages(error: CounterError) -> dict[str, Text]:
    """Each refused field's message, by field name: what a page shows beside each field."""
    return {f.field: f.message for f in fields_of(error) if f.field}


def fields_of(error: CounterError) -> list[FieldError]:
    """The field errors of ``error``: each names a field (findings about a field among them)."""
    fields: list[FieldError] = list(error.fields) if isinstance(error, InvalidInput) else []
    if isinstance(error, BlockedByFindings):
        for finding in error.findings:
            name = getattr(finding, "field", None)
            if name:
                fields.append(FieldError(name, str(finding.code), finding.message))
    unique: dict[tuple[str, str, str], FieldError] = {}
    for item in fields:
        if item.field:
            unique.setdefault((item.field, item.code, item.message.en), item)
    return list(unique.values())


def findings_of(error: CounterError) -> list[FindingErrorOut]:
    """The findings of ``error`` that concern no field, once each."""
    if not isinstance(error, BlockedByFindings):
        return []
    found: dict[str, FindingErrorOut] = {}
    for finding in error.findings:
        if not getattr(finding, "field", None):
            found.setdefault(
                str(finding.code),
                FindingErrorOut(
                    code=str(finding.code),
                    severity=str(getattr(finding, "severity", "block")),
                    message=getattr(finding, "message", error.message),
                ),
            )
    return list(found.values())


def message_for(error: CounterError) -> Text:
    """The message shown for ``error``; a stale version always tells the reader to reload."""
    if isinstance(error, StaleVersion):
        return catalog().text("error.stale_version")
    if status_for(error) == 500:
        return catalog().text("error.internal")
    return error.message


def error_payload(
    code: str,
    message: Text,
    fields: Sequence[FieldError] = (),
    findings: Sequence[FindingErrorOut] = (),
) -> dict[str, Any]:
    return ErrorResponse(
        error=ErrorDetail(
            code=code,
            message=message,
            fields=[FieldErrorOut(field=f.field, code=f.code, message=f.message) for f in fields],
            findings=list(findings),
        )
    ).model_dump(mode="json")


def _http_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        422: "invalid_input",
        429: "too_many_requests",
    }.get(status, "error")


def http_error_text(status: int) -> Text:
    key = f"error.http_{status}"
    return catalog().text(key) if key in catalog() else catalog().text("error.internal")


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def _page_error(request: Request, status: int, message: Text) -> Response:
    if status == 401:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    from counter.web.templating import render_error

    return render_error(request, status, message)


# pydantic's error types, by the catalog message that says them for people
_PROBLEMS = {
    "missing": "error.field_missing",
    "int_type": "error.field_integer",
    "int_parsing": "error.field_integer",
    "greater_than_equal": "error.field_too_small",
    "string_too_long": "error.field_too_long",
    "string_too_short": "error.field_missing",
    "string_type": "error.field_text",
    "extra_forbidden": "error.field_unknown",
    "json_invalid": "error.body_json",
}


def _validation_fields(error: RequestValidationError) -> list[FieldError]:
    fields = []
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
        kind = str(problem.get("type", "invalid"))
        fields.append(
            FieldError(
                field=".".join(location) or "body",  # the body as a whole (not an object)
                code=kind,
                message=catalog().text(_PROBLEMS.get(kind, "error.field_invalid")),
            )
        )
    return fields


def install_error_handlers(app: FastAPI) -> None:
    """Answer counter errors, request validation and plain HTTP errors in the shapes above."""

    async def on_counter_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CounterError)
        status = status_for(exc)
        if status == 500:
            log.error(
                "unexpected %s on %s: %s", type(exc).__name__, request.url.path, exc.message.en
            )
        message = message_for(exc)
        if is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(
                error_payload(exc.code, message, fields_of(exc), findings_of(exc)),
                status_code=status,
                headers=headers,
            )
        from counter.web.wording import page_message

        return _page_error(request, status, page_message(exc) if status != 500 else message)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        message = catalog().text("error.invalid_request")
        if is_api(request):
            return JSONResponse(
                error_payload("invalid_input", message, _validation_fields(exc)), status_code=422
            )
        return _page_error(request, 422, message)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = http_error_text(exc.status_code)
        if is_api(request):
            headers = dict(exc.headers or {})
            if exc.status_code == 401:
                headers.setdefault("WWW-Authenticate", "Bearer")
            return JSONResponse(
                error_payload(_http_code(exc.status_code), message),
                status_code=exc.status_code,
                headers=headers or None,
            )
        return _page_error(request, exc.status_code, message)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Only what escapes CatchAll gets here (an error in the outer middleware).
        return _internal_error(request)

    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(CounterError, on_counter_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


class CatchAll:
    """The last handler: any exception no other handler answered becomes a 500 in our shape.

    Logged with its trace (``log.exception``); the answer says only "internal
    error", as JSON under ``/api`` and as the console's error page elsewhere.
    It sits inside the security headers middleware, so the 500 carries them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # part of the answer is out: all that is left is to end it
                return
            await _internal_error(Request(scope, receive))(scope, receive, send)


def _internal_error(request: Request) -> Response:
    """The 500 answer: the shared JSON shape under ``/api``, the error page elsewhere."""
    message = catalog().text("error.internal")
    if is_api(request):
        return JSONResponse(error_payload("internal_error", message), status_code=500)
    try:
        return _page_error(request, 500, message)
    except Exception:  # the page itself failed: say it plainly, once
        log.exception("the error page failed too")
        return Response(message.zh + " / " + message.en, status_code=500,
                        media_type="text/plain; charset=utf-8")
