"""``/api/session``: trade a username and password for a bearer token, and end it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from counter.store.db import utcnow
from counter.web import sessions
from counter.web.auth import authenticate
from counter.web.deps import ApiUser, WebDep
from counter.web.openapi import BEARER_AUTH

router = APIRouter(tags=["session"])


class Credentials(BaseModel):
    """A sign-in for the JSON API."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    """A bearer token: send it as ``Authorization: Bearer <token>``; it ends when idle."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret
    username: str
    roles: list[str]
    branch: str | None
    idle_minutes: int


@router.post("/session", response_model=TokenOut)
def open_session(credentials: Credentials, web: WebDep) -> TokenOut:
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
    )


@router.delete("/session", status_code=204, dependencies=[BEARER_AUTH])
def close_session(principal: ApiUser, web: WebDep) -> Response:
    sessions.end_session(web.db, session_id=principal.session_id)
    return Response(status_code=204)
