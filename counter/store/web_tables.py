"""Tables the web layer needs to share between processes: sessions, login lockouts
and rate-limit buckets.

Nothing here lives in process memory, so several app processes (or uvicorn
workers) can serve the same branch against one database. Rows are small and
written with single compare-and-set statements by ``counter.web``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = ["LoginAttempts", "RateBucket", "WebSession"]


class WebSession(SQLModel, table=True):
    """A signed-in browser or API client; the id is the SHA-256 of the opaque token it holds."""

    __tablename__ = "web_session"

    id: str = Field(
        primary_key=True, max_length=64
    )  # sha256 hex of the token; the token is never stored
    username: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=8)  # "cookie" (console) or "bearer" (JSON API)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


class LoginAttempts(SQLModel, table=True):
    """Failed logins in a row for one username, and until when the account is locked."""

    __tablename__ = "web_login_attempts"

    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RateBucket(SQLModel, table=True):
    """Requests counted for one key (``status:<client>``) in the window at ``window_start``."""

    __tablename__ = "web_rate_bucket"

    key: str = Field(primary_key=True, max_length=128)
    window_start: datetime = Field(sa_type=UTCDateTime)
    hits: int = 0
