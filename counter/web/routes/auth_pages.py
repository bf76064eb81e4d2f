"""Console pages for signing in and out, the language switch and the password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from counter.errors import AuthenticationFailed, FieldError, InvalidInput
from counter.web import accounts, sessions
from counter.web.auth import (
    LANG_COOKIE,
    authenticate,
    session_cookie_name,
    sign_in_allowed,
    start_console_session,
)
from counter.web.deps import ConsoleUser, CsrfChecked, MaybeConsoleUser, WebDep
from counter.web.i18n import LANGS, catalog
from counter.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, principal: MaybeConsoleUser, next: str = "/") -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None, "username": ""})


@router.post("/login")
def login(
    request: Request,
    web: WebDep,
    _csrf: CsrfChecked,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    if not sign_in_allowed(request):
        throttled = render(
            request,
            "login.html",
            {"next": safe_next(next), "error": catalog().text("auth.throttled"),
             "username": username},
            status_code=429,
        )
        throttled.headers["Retry-After"] = "60"
        return throttled
    try:
        account = authenticate(web, username=username.strip(), password=password)
    except AuthenticationFailed as failure:
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": failure.message, "username": username},
            status_code=401,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    start_console_session(request, response, account)
    return response


@router.post("/logout")
def logout(request: Request, web: WebDep, principal: ConsoleUser, _csrf: CsrfChecked) -> Response:
    sessions.end_session(web.db, session_id=principal.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session_cookie_name(web), path="/")
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    web: WebDep,
    principal: MaybeConsoleUser,
    _csrf: CsrfChecked,
    lang: Annotated[str, Form(max_length=8)] = "zh",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Switch the console language: remembered on the user, or in a cookie before login."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang not in LANGS:
        return response
    if principal is not None:
        accounts.set_lang(web.db, username=principal.username, lang=lang)
    response.set_cookie(
        LANG_COOKIE, lang, httponly=True, samesite="strict", secure=web.settings.secure_cookies
    )
    return response


@router.get("/password")
def password_page(request: Request, principal: ConsoleUser, done: bool = False) -> Response:
    return render(request, "password.html", {"errors": {}, "summary": None, "done": done})


@router.post("/password")
def change_password(
    request: Request,
    web: WebDep,
    principal: ConsoleUser,
    _csrf: CsrfChecked,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    confirm_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        if new_password != confirm_password:
            raise InvalidInput(
                catalog().text("password.mismatch"),
                fields=[
                    FieldError(
                        field="confirm_password",
                        code="mismatch",
                        message=catalog().text("password.mismatch"),
                    )
                ],
            )
        account = accounts.find(web.db, username=principal.username)
        if account is None:
            raise AuthenticationFailed(catalog().text("auth.required"))
        accounts.change_password(
            web.db,
            web.settings,
            account=account,
            current=current_password,
            new=new_password,
            session_id=principal.session_id,
        )
    except AuthenticationFailed as locked:  # that wrong password locked the account
        request.state.principal = None  # and ended this session: show the page signed out
        response = render(
            request,
            "login.html",
            {"next": "/", "error": locked.message, "username": principal.username},
            status_code=401,
        )
        response.delete_cookie(session_cookie_name(web), path="/")
        return response
    except InvalidInput as refused:
        return render(
            request,
            "password.html",
            {
                "errors": {f.field: f.message for f in refused.fields},
                "summary": refused.message,
                "done": False,
            },
            status_code=422,
        )
    return RedirectResponse("/password?done=true", status_code=303)  # a reload changes nothing
