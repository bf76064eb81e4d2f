"""Who is asking: console sessions (cookie), API sessions (bearer), CSRF and lockout.

A console session is an opaque random token in an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` and ``__Host-`` prefixed when
``settings.secure_cookies``); the database keeps only its SHA-256 and a
CSRF token. A new token is issued at every login, so a token planted
before login (session fixation) is worthless. Forms shown before login
(login, status lookup) carry a token bound by HMAC to a random
``counter_pre`` cookie instead.

A ``merchant`` user signs in on the same page but belongs to the merchant
portal (``/portal``): the staff console refuses them (403), and their actor
carries the merchant number bound to their user.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import Response

from counter.errors import AuthenticationFailed, PermissionDenied
from counter.store.db import utcnow
from counter.web import accounts, sessions
from counter.web.context import WebContext
from counter.web.i18n import DEFAULT_LANG, LANGS, catalog

if TYPE_CHECKING:
    from counter.engine.types import Actor

__all__ = [
    "PRE_COOKIE",
    "Principal",
    "authenticate",
    "check_csrf",
    "console_principal",
    "csrf_token_for",
    "finish_pre_session",
    "session_cookie_name",
    "start_console_session",
]

log = logging.getLogger(__name__)

PRE_COOKIE = "counter_pre"
LANG_COOKIE = "counter_lang"
MERCHANT_ROLE = "merchant"
PORTAL = "/portal"
# Besides the portal, a merchant may sign in and out, switch language, change password,
# and open "/", whose home route sends them on to the portal.
_MERCHANT_PAGES = frozenset({"/", "/login", "/logout", "/lang", "/password"})


@dataclass(frozen=True)
class Principal:
    """A signed-in user for the length of one request."""

    username: str
    display_name: str
    roles: frozenset[str]
    branch: str | None
    lang: str
    session_id: str
    csrf_token: str
    merchant_no: str | None = None  # a merchant user's own merchant number

    @property
    def actor(self) -> Actor:
        from counter.engine.types import Actor

        attributes = {"merchant_no": self.merchant_no} if self.merchant_no else {}
        return Actor(
            username=self.username, roles=self.roles, branch=self.branch, attributes=attributes
        )

    def has(self, role: str) -> bool:
        return role in self.roles


def context_of(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def session_cookie_name(web: WebContext) -> str:
    return "__Host-counter_session" if web.settings.secure_cookies else "counter_session"


def _idle(web: WebContext) -> timedelta:
    return timedelta(minutes=web.settings.session_idle_minutes)


def authenticate(web: WebContext, *, username: str, password: str) -> accounts.Account:
    """Check a username and password, counting failures and locking after too many.

    Unknown users and wrong passwords get the same answer; a locked account
    is refused without looking at the password.
    """
    now = utcnow()
    texts = catalog()
    until = sessions.locked_until(web.db, username=username, now=now)
    if until is not None:
        raise AuthenticationFailed(texts.text("auth.locked"), username=username)
    account = accounts.check_password(web.db, username=username, password=password)
    if account is None:
        locked = sessions.record_failed_login(web.db, username=username, now=now)
        if locked is not None:
            log.warning("account %s locked after repeated failed logins", username)
            raise AuthenticationFailed(texts.text("auth.locked"), username=username)
        raise AuthenticationFailed(texts.text("auth.bad_credentials"), username=username)
    sessions.record_good_login(web.db, username=username)
    return account


def start_console_session(request: Request, response: Response, account: accounts.Account) -> None:
    """Sign in: end any session this browser had, issue a fresh token in the cookie."""
    web = context_of(request)
    old = request.cookies.get(session_cookie_name(web))
    if old:
        sessions.end_session(web.db, session_id=sessions.token_id(old))
    token, _ = sessions.create_session(
        web.db, username=account.username, kind="cookie", now=utcnow()
    )
    response.set_cookie(
        session_cookie_name(web),
        token,
        httponly=True,
        samesite="strict",
        secure=web.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(PRE_COOKIE, path="/")
    if MERCHANT_ROLE in account.roles and not _in_portal(response.headers.get("location", "")):
        response.headers["location"] = PORTAL


def _principal(web: WebContext, record: sessions.SessionRecord) -> Principal | None:
    account = accounts.find(web.db, username=record.username)
    if account is None or not account.active:
        sessions.end_session(web.db, session_id=record.id)
        return None
    return Principal(
        username=account.username,
        display_name=account.display_name or account.username,
        roles=frozenset(account.roles),
        branch=account.branch,
        lang=account.lang if account.lang in LANGS else DEFAULT_LANG,
        session_id=record.id,
        csrf_token=record.csrf_token,
        merchant_no=_merchant_no(web, account),
    )


def _merchant_no(web: WebContext, account: accounts.Account) -> str | None:
    if MERCHANT_ROLE not in account.roles:
        return None
    from counter.store.users import get_user

    return get_user(web.db, username=account.username).merchant_no


def _in_portal(path: str) -> bool:
    return path == PORTAL or path.startswith(PORTAL + "/")


def _keep_to_portal(request: Request, principal: Principal | None) -> None:
    """Refuse (403) a merchant user any console page but the portal's and their own account's."""
    if principal is None or not principal.has(MERCHANT_ROLE):
        return
    path = request.url.path
    if not (_in_portal(path) or path in _MERCHANT_PAGES or path.startswith("/status")):
        raise PermissionDenied(catalog().text("portal.staff_only"))


def console_principal(request: Request) -> Principal | None:
    """The console user of this request (cached on ``request.state``), or ``None``."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    web = context_of(request)
    token = request.cookies.get(session_cookie_name(web))
    principal = None
    if token:
        record = sessions.resolve_session(
            web.db, token=token, kind="cookie", idle=_idle(web), now=utcnow()
        )
        if record is not None:
            principal = _principal(web, record)
    request.state.principal = principal
    request.state.lang = principal.lang if principal else _anonymous_lang(request)
    _keep_to_portal(request, principal)
    return principal


def bearer_principal(request: Request) -> Principal:
    """The API caller from ``Authorization: Bearer``; 401 without a live token."""
    web = context_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(catalog().text("auth.required"))
    record = sessions.resolve_session(
        web.db, token=token.strip(), kind="bearer", idle=_idle(web), now=utcnow()
    )
    principal = _principal(web, record) if record is not None else None
    if principal is None:
        raise AuthenticationFailed(catalog().text("auth.required"))
    request.state.principal = principal
    request.state.lang = principal.lang
    return principal


def _anonymous_lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def _pre_token(web: WebContext, seed: str) -> str:
    return hmac.new(
        web.settings.secret_key.encode("utf-8"), b"pre:" + seed.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def csrf_token_for(request: Request) -> str:
    """The CSRF token forms on this page must carry."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        token: str = principal.csrf_token
        return token
    web = context_of(request)
    seed = request.cookies.get(PRE_COOKIE) or getattr(request.state, "new_pre", None)
    if not seed:
        seed = secrets.token_urlsafe(24)
        request.state.new_pre = seed
    return _pre_token(web, seed)


def finish_pre_session(request: Request, response: Response) -> None:
    """Set the pre-login cookie if this page made one for its forms."""
    seed = getattr(request.state, "new_pre", None)
    if seed:
        response.set_cookie(
            PRE_COOKIE,
            seed,
            httponly=True,
            samesite="strict",
            secure=context_of(request).settings.secure_cookies,
            path="/",
        )


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a form post whose token does not belong to this browser's session."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        expected = principal.csrf_token
    else:
        seed = request.cookies.get(PRE_COOKIE)
        expected = _pre_token(context_of(request), seed) if seed else ""
    if not submitted or not expected or not hmac.compare_digest(submitted, expected):
        raise PermissionDenied(catalog().text("error.csrf"))
