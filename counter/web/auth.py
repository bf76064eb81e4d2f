"""Who is asking: console sessions (cookie), API sessions (bearer), CSRF and sign-in.

A console session is an opaque random token in an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` and ``__Host-`` prefixed when
``settings.secure_cookies``); the database keeps only its SHA-256 and a
CSRF token. A new token is issued at every login, so a token planted
before login (session fixation) is worthless. Forms shown before login
(login, status lookup) carry a token bound by HMAC to a random
``counter_pre`` cookie instead.

Authenticating a request is one indexed read on the event loop
(``sessions.lookup``), cheap enough for ``async`` dependencies: a request
crosses into a thread for its sync route only, and for the rare write a
session needs (moving ``last_seen_at`` at most every 30 seconds, ending an
expired session). A request with the header ``X-Counter-Background: 1``
(live-update polling) is authenticated but does not count as activity.

Sign-in is throttled per client address (``login_per_address_per_minute``,
counted in the database, so every process shares it) and every password
check counts toward the lockout (``counter.store.lockout``).

A ``merchant`` user signs in on the same page but belongs to the merchant
portal (``/portal``): the staff console refuses them (403), and their actor
carries the merchant number bound to their user.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from anyio import to_thread
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
    "bearer_principal",
    "check_csrf",
    "console_principal",
    "console_principal_async",
    "csrf_token_for",
    "finish_pre_session",
    "session_cookie_name",
    "sign_in_allowed",
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
BACKGROUND_HEADER = "x-counter-background"


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


def authenticate(web: WebContext, *, username: str, password: str) -> accounts.Account:
    """Check a username and password under the lockout (``AuthenticationFailed`` if wrong)."""
    return accounts.sign_in(web.db, web.settings, username=username, password=password)


def sign_in_allowed(request: Request) -> bool:
    """Count one sign-in attempt from this client address; ``False`` past the limit."""
    web = context_of(request)
    limit = web.settings.login_per_address_per_minute
    if limit <= 0:
        return True
    client = request.client.host if request.client else "unknown"
    return sessions.hit_rate_limit(
        web.db, key=f"login:{client}", limit=limit, window=timedelta(minutes=1), now=utcnow()
    )


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


def _resolve(
    request: Request, token: str, kind: str
) -> tuple[Principal | None, Callable[[], None] | None]:
    """The principal of ``token`` (one read), and the write it is due, if any, left to do."""
    web = context_of(request)
    record = sessions.lookup(web.db, token=token)
    if record is None or record.kind != kind:
        return None, None
    now = utcnow()
    settings = web.settings
    freshness = sessions.judge(
        record,
        now=now,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_lifetime_hours),
        background=request.headers.get(BACKGROUND_HEADER) == "1",
    )
    if freshness is sessions.Freshness.ENDED:
        return None, lambda: sessions.end_session(web.db, session_id=record.id)
    account = record.account
    principal = Principal(
        username=account.username,
        display_name=account.display_name or account.username,
        roles=frozenset(account.roles),
        branch=account.branch,
        lang=account.lang if account.lang in LANGS else DEFAULT_LANG,
        session_id=record.id,
        csrf_token=record.csrf_token,
        merchant_no=account.merchant_no if MERCHANT_ROLE in account.roles else None,
    )
    if freshness is sessions.Freshness.TOUCH:
        return principal, lambda: sessions.touch(web.db, session_id=record.id, now=now)
    return principal, None


def _in_portal(path: str) -> bool:
    return path == PORTAL or path.startswith(PORTAL + "/")


def _keep_to_portal(request: Request, principal: Principal | None) -> None:
    """Refuse (403) a merchant user any console page but the portal's and their own account's."""
    if principal is None or not principal.has(MERCHANT_ROLE):
        return
    path = request.url.path
    if not (_in_portal(path) or path in _MERCHANT_PAGES or path.startswith("/status")):
        raise PermissionDenied(catalog().text("portal.staff_only"))


def _cookie_principal(request: Request) -> tuple[Principal | None, Callable[[], None] | None]:
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached, None
    token = request.cookies.get(session_cookie_name(context_of(request)))
    principal, write = _resolve(request, token, "cookie") if token else (None, None)
    request.state.principal = principal
    request.state.lang = principal.lang if principal else _anonymous_lang(request)
    return principal, write


def _write_off_the_loop(write: Callable[[], None]) -> None:
    """Run ``write`` here, or, called on the event loop, in a thread without waiting.

    Touching a session waits for the writer lock on SQLite: an ``async``
    route calling :func:`console_principal` must not hold up the loop on it.
    The write is bookkeeping (``last_seen_at``, removing an ended row), so
    not waiting for it changes no answer.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        write()
        return
    done = loop.run_in_executor(None, write)
    done.add_done_callback(_log_failure)


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("a session's bookkeeping write failed", exc_info=done.exception())


def console_principal(request: Request) -> Principal | None:
    """The console user of this request (cached on ``request.state``), or ``None``.

    For code already in a thread (or an ``async`` route that calls it
    directly); dependencies use :func:`console_principal_async`.
    """
    principal, write = _cookie_principal(request)
    if write is not None:
        _write_off_the_loop(write)
    _keep_to_portal(request, principal)
    return principal


async def console_principal_async(request: Request) -> Principal | None:
    """:func:`console_principal` on the event loop; its rare write goes to a thread."""
    principal, write = _cookie_principal(request)
    if write is not None:
        await to_thread.run_sync(write)
    _keep_to_portal(request, principal)
    return principal


async def bearer_principal(request: Request) -> Principal:
    """The API caller from ``Authorization: Bearer``; 401 without a live token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(catalog().text("auth.required"))
    principal, write = _resolve(request, token.strip(), "bearer")
    if write is not None:
        await to_thread.run_sync(write)
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
