"""Data functions for the web tables: sessions, login lockouts and rate-limit buckets.

Everything is one short statement or transaction against the shared
database, so any process can serve any request. Counters are raised with
``UPDATE ... SET n = n + 1`` in SQL, never read-modify-write in Python.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from counter.store import journal
from counter.store.db import Database, as_utc
from counter.store.web_tables import LoginAttempts, RateBucket, WebSession

__all__ = [
    "LOCKOUT_AFTER",
    "LOCKOUT_FOR",
    "SessionRecord",
    "create_session",
    "end_session",
    "end_user_sessions",
    "hit_rate_limit",
    "locked_until",
    "record_failed_login",
    "record_good_login",
    "resolve_session",
    "token_id",
]

LOCKOUT_AFTER = 5
LOCKOUT_FOR = timedelta(minutes=15)
# last_seen_at is refreshed at most this often, so reading a page is not a write each time.
TOUCH_EVERY = timedelta(seconds=30)

_sessions = WebSession.__table__  # type: ignore[attr-defined]
_attempts = LoginAttempts.__table__  # type: ignore[attr-defined]
_buckets = RateBucket.__table__  # type: ignore[attr-defined]


def token_id(token: str) -> str:
    """The stored id of a session token: a database read gives no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionRecord:
    id: str
    username: str
    kind: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


def create_session(db: Database, *, username: str, kind: str, now: datetime) -> tuple[str, str]:
    """Start a session; returns the opaque token (for the cookie or bearer) and its CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with db.transaction() as conn:
        conn.execute(
            insert(_sessions).values(
                id=token_id(token),
                username=username,
                kind=kind,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
            )
        )
    return token, csrf


def resolve_session(
    db: Database, *, token: str, kind: str, idle: timedelta, now: datetime
) -> SessionRecord | None:
    """The live session for ``token``, or ``None``; an idle session is ended here."""
    sid = token_id(token)
    with db.read() as conn:
        row = conn.execute(select(_sessions).where(_sessions.c.id == sid)).mappings().first()
    if row is None or row["kind"] != kind:
        return None
    last_seen = as_utc(row["last_seen_at"])
    if now - last_seen > idle:
        with db.transaction() as conn:
            conn.execute(delete(_sessions).where(_sessions.c.id == sid))
        return None
    if now - last_seen > TOUCH_EVERY:
        with db.transaction() as conn:
            conn.execute(update(_sessions).where(_sessions.c.id == sid).values(last_seen_at=now))
        last_seen = now
    return SessionRecord(
        id=sid,
        username=row["username"],
        kind=row["kind"],
        csrf_token=row["csrf_token"],
        created_at=as_utc(row["created_at"]),
        last_seen_at=last_seen,
    )


def end_session(db: Database, *, session_id: str) -> None:
    with db.transaction() as conn:
        conn.execute(delete(_sessions).where(_sessions.c.id == session_id))


def end_user_sessions(db: Database, *, username: str, keep: str | None = None) -> int:
    """End every session of ``username`` but ``keep`` (after a password change)."""
    statement = delete(_sessions).where(_sessions.c.username == username)
    if keep is not None:
        statement = statement.where(_sessions.c.id != keep)
    with db.transaction() as conn:
        return int(conn.execute(statement).rowcount)


def locked_until(db: Database, *, username: str, now: datetime) -> datetime | None:
    """When the lock on ``username`` ends, if it is locked now."""
    with db.read() as conn:
        value = conn.execute(
            select(_attempts.c.locked_until).where(_attempts.c.username == username)
        ).scalar_one_or_none()
    if value is None:
        return None
    until = as_utc(value)
    return until if until > now else None


def record_failed_login(db: Database, *, username: str, now: datetime) -> datetime | None:
    """Count a failed login; returns the end of the lock if this failure locked the account.

    The lock is journaled (stream ``user:NAME``) in the same transaction.
    """
    with db.transaction() as conn:
        changed = conn.execute(
            update(_attempts)
            .where(_attempts.c.username == username)
            .values(failures=_attempts.c.failures + 1, last_failure_at=now)
        ).rowcount
        if not changed:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(_attempts).values(username=username, failures=1, last_failure_at=now)
                    )
            except IntegrityError:
                conn.execute(
                    update(_attempts)
                    .where(_attempts.c.username == username)
                    .values(failures=_attempts.c.failures + 1, last_failure_at=now)
                )
        until = now + LOCKOUT_FOR
        locked = conn.execute(
            update(_attempts)
            .where(_attempts.c.username == username, _attempts.c.failures >= LOCKOUT_AFTER)
            .values(failures=0, locked_until=until)
        ).rowcount
        if locked:
            journal.append(
                conn,
                stream=f"user:{username}",
                actor="system",
                kind="lockout",
                at=now,
                note=f"locked until {until.isoformat()} after {LOCKOUT_AFTER} failed logins",
            )
    return until if locked else None


def record_good_login(db: Database, *, username: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            update(_attempts)
            .where(_attempts.c.username == username, _attempts.c.failures > 0)
            .values(failures=0)
        )


def hit_rate_limit(db: Database, *, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one request for ``key``; ``True`` if it is within ``limit`` per ``window``."""
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % int(window.total_seconds()), tz=now.tzinfo)
    with db.transaction() as conn:
        changed = conn.execute(
            update(_buckets)
            .where(_buckets.c.key == key, _buckets.c.window_start == start)
            .values(hits=_buckets.c.hits + 1)
        ).rowcount
        if not changed:
            reset = conn.execute(
                update(_buckets)
                .where(_buckets.c.key == key, _buckets.c.window_start < start)
                .values(window_start=start, hits=1)
            ).rowcount
            if not reset:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(_buckets).values(key=key, window_start=start, hits=1))
                except IntegrityError:
                    conn.execute(
                        update(_buckets)
                        .where(_buckets.c.key == key)
                        .values(hits=_buckets.c.hits + 1)
                    )
        hits = conn.execute(select(_buckets.c.hits).where(_buckets.c.key == key)).scalar_one()
    return int(hits) <= limit
