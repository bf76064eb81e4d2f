"""Request dependencies as ``Annotated`` aliases, the only place routes get them from.

Every dependency here is ``async def`` and cheap (authenticating is one
indexed read, see ``counter.web.auth``): FastAPI runs a sync dependency in
the thread pool, one hop per callable, so a sync route crosses into a
thread once, for itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from counter.errors import AuthenticationFailed
from counter.web.auth import Principal, bearer_principal, check_csrf, console_principal_async
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


async def _web(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


async def _console_user(request: Request) -> Principal:
    principal = await console_principal_async(request)
    if principal is None:
        raise AuthenticationFailed(catalog().text("auth.required"))
    return principal


async def _csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    await console_principal_async(request)
    check_csrf(request, csrf_token)


async def _translator(request: Request) -> Translator:
    await console_principal_async(request)
    return Translator(catalog(), getattr(request.state, "lang", "zh"))


WebDep = Annotated[WebContext, Depends(_web)]
ApiUser = Annotated[Principal, Depends(bearer_principal)]
ConsoleUser = Annotated[Principal, Depends(_console_user)]
MaybeConsoleUser = Annotated[Principal | None, Depends(console_principal_async)]
CsrfChecked = Annotated[None, Depends(_csrf)]
TranslatorDep = Annotated[Translator, Depends(_translator)]
