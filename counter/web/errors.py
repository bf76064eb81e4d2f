"""Turn counter's exceptions into HTTP answers: the one place that knows their statuses.

The JSON API answers every error in one shape::

    {"error": {"code": "...", "message": {"zh": "...", "en": "..."},
               "fields": [{"field": "...", "code": "...", "message": {"zh": "...", "en": "..."}}]}}

Console pages get an error page in the reader's language instead, and a
request without a valid session is sent to the login page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from counter.errors import (
    AuthenticationFailed,
    BlockedByFindings,
    CounterError,
    FieldError,
    InvalidInput,
    InvalidTrigger,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from counter.text import Text
from counter.web.i18n import catalog

__all__ = [
    "ERROR_RESPONSES",
    "ErrorDetail",
    "ErrorResponse",
    "FieldErrorOut",
    "error_payload",
    "install_error_handlers",
    "status_for",
]

log = logging.getLogger(__name__)


class FieldErrorOut(BaseModel):
    """What is wrong with one field (or, for findings, which field the finding is about)."""

    field: str
    code: str
    message: Text


class ErrorDetail(BaseModel):
    code: str
    message: Text
    fields: list[FieldErrorOut] = []


class ErrorResponse(BaseModel):
    """The shape of every error the JSON API answers."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 403, 404, 409, 413, 422, 429)
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
    return 500


def fields_of(error: CounterError) -> list[FieldError]:
    fields: list[FieldError] = list(error.fields) if isinstance(error, InvalidInput) else []
    if isinstance(error, BlockedByFindings):
        for finding in error.findings:
            fields.append(
                FieldError(
                    field=getattr(finding, "field", None) or "",
                    code=str(getattr(finding, "code", "finding")),
                    message=getattr(finding, "message", error.message),
                )
            )
    unique: dict[tuple[str, str, str], FieldError] = {}
    for item in fields:
        unique.setdefault((item.field, item.code, item.message.en), item)
    return list(unique.values())


def message_for(error: CounterError) -> Text:
    """The message shown for ``error``; a stale version always tells the reader to reload."""
    if isinstance(error, StaleVersion):
        return catalog().text("error.stale_version")
    if status_for(error) == 500:
        return catalog().text("error.internal")
    return error.message


def error_payload(code: str, message: Text, fields: Sequence[FieldError] = ()) -> dict[str, Any]:
    return ErrorResponse(
        error=ErrorDetail(
            code=code,
            message=message,
            fields=[FieldErrorOut(field=f.field, code=f.code, message=f.message) for f in fields],
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


def _validation_fields(error: RequestValidationError) -> list[FieldError]:
    fields = []
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
        fields.append(
            FieldError(
                field=".".join(location),
                code=str(problem.get("type", "invalid")),
                message=catalog().text("error.field_invalid"),
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
                error_payload(exc.code, message, fields_of(exc)),
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

    app.add_exception_handler(CounterError, on_counter_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
