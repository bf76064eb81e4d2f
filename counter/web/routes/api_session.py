"""``/api/session``: trade a username and password for a bearer token, and end it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from counter.store.db import utcnow
from counter.web import sessions
from counter.web.auth import authenticate, sign_in_allowed
from counter.web.deps import ApiUser, WebDep
from counter.web.openapi import BEARER_AUTH

router = APIRouter(tags=["session"])


class Credentials(BaseModel):
    """A sign-in for the JSON API."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    """A bearer token: send it as ``Authorization: Bearer <token>``; it ends when idle
    (``idle_minutes``) or ``lifetime_hours`` after sign-in, whichever comes first."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret
    username: str
    roles: list[str]
    branch: str | None
    idle_minutes: int
    lifetime_hours: float


@router.post("/session", response_model=TokenOut)
def open_session(credentials: Credentials, web: WebDep, request: Request) -> TokenOut:
    """Sign in (throttled per client address; every wrong password counts toward the lockout)."""
    if not sign_in_allowed(request):
        raise HTTPException(status_code=429, headers={"Retry-After": "60"})
    account = authenticate(web, username=credentials.username, password=credentials.password)
    token, _ = sessions.create_session(
        web.db, username=account.username, kind="bearer", now=utcnow()
    )
    return TokenOut(
        token=token,
        username=account.username,
        roles=sorted(account.roles),
        branch=account.branch,
        idle_minutes=web.settings.session_idle_minutes,
        lifetime_hours=web.settings.session_lifetime_hours,
    )


@router.delete("/session", status_code=204, dependencies=[BEARER_AUTH])
def close_session(principal: ApiUser, web: WebDep) -> Response:
    sessions.end_session(web.db, session_id=principal.session_id)
    return Response(status_code=204)
