"""Request dependencies as ``Annotated`` aliases, the only place routes get them from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from counter.errors import AuthenticationFailed
from counter.web.auth import Principal, bearer_principal, check_csrf, console_principal
from counter.web.context import WebContext
from counter.web.i18n import Translator, catalog

__all__ = [
    "ApiUser",
    "ConsoleUser",
    "CsrfChecked",
    "MaybeConsoleUser",
    "TranslatorDep",
    "WebDep",
]


def _web(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def _console_user(request: Request) -> Principal:
    principal = console_principal(request)
    if principal is None:
        raise AuthenticationFailed(catalog().text("auth.required"))
    return principal


def _csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    console_principal(request)
    check_csrf(request, csrf_token)


def _translator(request: Request) -> Translator:
    console_principal(request)
    return Translator(catalog(), getattr(request.state, "lang", "zh"))


WebDep = Annotated[WebContext, Depends(_web)]
ApiUser = Annotated[Principal, Depends(bearer_principal)]
ConsoleUser = Annotated[Principal, Depends(_console_user)]
MaybeConsoleUser = Annotated[Principal | None, Depends(console_principal)]
CsrfChecked = Annotated[None, Depends(_csrf)]
TranslatorDep = Annotated[Translator, Depends(_translator)]
