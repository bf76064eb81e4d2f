"""Data functions for the web tables: sessions and rate-limit buckets.

Everything is one short statement or transaction against the shared
database, so any process can serve any request, and nothing is cached: a
session ended (sign-out, password change, lockout, a deactivated user) is
refused by every process at its next request. Counters are raised with
``UPDATE ... SET n = n + 1`` in SQL, never read-modify-write in Python.
Lockouts are the store's (``counter.store.lockout``).

Authenticating a request is one indexed read (:func:`lookup`): the session
row joined to the few user columns a request needs, never the password
hash. A session ends when idle for too long or when it reaches its absolute
lifetime, whichever comes first (:func:`judge`); its ``last_seen_at`` is
moved at most every ``TOUCH_EVERY`` and never by a background request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from counter.store.db import Database, as_utc
from counter.store.tables import User
from counter.store.web_tables import RateBucket, WebSession
from counter.web.accounts import ACCOUNT_COLUMNS, Account, account_of

__all__ = [
    "TOUCH_EVERY",
    "Freshness",
    "SessionUser",
    "create_session",
    "end_session",
    "hit_rate_limit",
    "judge",
    "lookup",
    "token_id",
    "touch",
]

# last_seen_at is refreshed at most this often, so reading a page is not a write each time.
TOUCH_EVERY = timedelta(seconds=30)

_sessions = WebSession.__table__  # type: ignore[attr-defined]
_buckets = RateBucket.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]

_lookup = (
    select(
        _sessions.c.kind,
        _sessions.c.csrf_token,
        _sessions.c.created_at,
        _sessions.c.last_seen_at,
        *ACCOUNT_COLUMNS,
    )
    .select_from(_sessions.join(_users, _users.c.username == _sessions.c.username))
)


def token_id(token: str) -> str:
    """The stored id of a session token: a database read gives no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionUser:
    """A session and the user it belongs to, as one request needs them (no password hash)."""

    id: str
    kind: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    account: Account


class Freshness(StrEnum):
    LIVE = "live"  # in use; nothing to write
    TOUCH = "touch"  # in use; its last_seen_at is due to move
    ENDED = "ended"  # idle too long, past its lifetime, or its user deactivated


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


_lookup_by_id = _lookup.where(_sessions.c.id == bindparam("sid"))


@dataclass(frozen=True)
class _DriverQuery:
    """``_lookup_by_id`` compiled once for SQLite, with each column's result processor."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]


_driver_queries: dict[str, _DriverQuery] = {}


def _driver_query(db: Database) -> _DriverQuery:
    dialect = db.engine.dialect
    found = _driver_queries.get(dialect.name)
    if found is None:
        columns = list(_lookup_by_id.selected_columns)
        found = _DriverQuery(
            sql=str(_lookup_by_id.compile(dialect=dialect)),
            names=tuple(str(c.key) for c in columns),
            processors=tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ),
        )
        _driver_queries[dialect.name] = found
    return found


def _read_row(db: Database, sid: str) -> Any:
    """The joined row of session ``sid``, or ``None``.

    On SQLite the statement (compiled once) runs straight on a pooled driver
    connection: one ``SELECT`` in autocommit sees one snapshot, and Core's
    per-call bookkeeping cost ten times the query here (about 800 against
    70 µs). Elsewhere, network round trips dominate: plain Core.
    """
    if not db.is_sqlite:
        with db.read() as conn:
            return conn.execute(_lookup_by_id, {"sid": sid}).first()
    query = _driver_query(db)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(query.sql, (sid,))
            values = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()  # back to the pool
    if values is None:
        return None
    return SimpleNamespace(
        **{
            name: value if process is None or value is None else process(value)
            for name, process, value in zip(query.names, query.processors, values, strict=True)
        }
    )


def lookup(db: Database, *, token: str) -> SessionUser | None:
    """The session of ``token`` with its user: one read by primary key, or ``None``."""
    sid = token_id(token)
    row = _read_row(db, sid)
    if row is None:
        return None
    return SessionUser(
        id=sid,
        kind=row.kind,
        csrf_token=row.csrf_token,
        created_at=as_utc(row.created_at),
        last_seen_at=as_utc(row.last_seen_at),
        account=account_of(row),
    )


def judge(
    record: SessionUser, *, now: datetime, idle: timedelta, lifetime: timedelta, background: bool
) -> Freshness:
    """Whether ``record`` is still good at ``now``, and whether this request moves it on.

    A background request (live-update polling) is authenticated like any
    other but is not activity: it never moves ``last_seen_at``.
    """
    if not record.account.active:
        return Freshness.ENDED
    if now - record.last_seen_at > idle or now - record.created_at > lifetime:
        return Freshness.ENDED
    if not background and now - record.last_seen_at > TOUCH_EVERY:
        return Freshness.TOUCH
    return Freshness.LIVE


def touch(db: Database, *, session_id: str, now: datetime) -> None:
    with db.transaction() as conn:
        conn.execute(update(_sessions).where(_sessions.c.id == session_id).values(last_seen_at=now))


def end_session(db: Database, *, session_id: str) -> None:
    with db.transaction() as conn:
        conn.execute(delete(_sessions).where(_sessions.c.id == session_id))


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
