"""Password checks that count toward one lockout, decided in the database.

Every place a person types their password (signing in, a teller's sign-off,
changing the password) goes through :func:`check_password`. A check first
*claims* its place with one conditional statement::

    UPDATE web_login_attempts SET failures = failures + 1
     WHERE username = :u AND failures < :after
       AND (locked_until IS NULL OR locked_until <= :now)

so a check in flight counts as a failure until it is known to be right. At
most ``after`` checks can be in flight or failed at once, whatever the
number of threads or processes: a claim that finds no room locks the
account instead of checking, and a locked account is refused without
looking at the password. A right password resets the count only if the
account is not locked by then (``... WHERE locked_until IS NULL OR <= now``),
so a right password that was overtaken by the lock is refused too. Checked
while a step is decided (a teller's sign-off), the reset rides in the step's
own transaction (``Database.joined_writes``): the step is one write after
its claim, and a lock that overtook it makes the step be decided again, and
refused as locked. PostgreSQL
re-evaluates the ``WHERE`` of a row another transaction just changed, SQLite
runs one writer at a time: either way the statements are atomic.

Failures of a known user and every lock are journaled on the stream
``user:NAME`` (kinds ``password_wrong`` with where it happened as the note,
and ``lockout``); a lock also ends every session of the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from counter.errors import StaleVersion
from counter.store import journal, users
from counter.store.db import Database, as_utc
from counter.store.tables import User
from counter.store.web_tables import LoginAttempts, WebSession

__all__ = [
    "LockoutPolicy",
    "Verdict",
    "check_password",
    "locked_until",
    "unlock",
]

log = logging.getLogger(__name__)

_attempts = LoginAttempts.__table__  # type: ignore[attr-defined]
_sessions = WebSession.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]

# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = users.hash_password("counter-unknown-user-placeholder")
_JOURNAL_TRIES = 3


@dataclass(frozen=True)
class LockoutPolicy:
    """How many wrong passwords in a row lock an account, and for how long."""

    after: int = 5
    duration: timedelta = timedelta(minutes=15)


class Verdict(StrEnum):
    RIGHT = "right"  # the password is right and the user active
    WRONG = "wrong"  # wrong password, unknown or inactive user (counted)
    LOCKED = "locked"  # locked now: the password was not looked at, or was overtaken


def _not_locked(now: datetime) -> ColumnElement[bool]:
    return or_(_attempts.c.locked_until.is_(None), _attempts.c.locked_until <= now)


def _claim(db: Database, *, username: str, now: datetime, policy: LockoutPolicy) -> bool:
    """Count this check as a failure in advance; ``False`` (and locked) when there is no room."""
    claim = (
        update(_attempts)
        .where(
            _attempts.c.username == username,
            _attempts.c.failures < policy.after,
            _not_locked(now),
        )
        .values(failures=_attempts.c.failures + 1, last_failure_at=now)
    )
    with db.transaction() as conn:
        if conn.execute(claim).rowcount:
            return True
        exists = conn.execute(
            select(_attempts.c.username).where(_attempts.c.username == username)
        ).first()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(_attempts).values(username=username, failures=1, last_failure_at=now)
                    )
                return True
            except IntegrityError:  # another process's first attempt inserted it just now
                pass
        # The row may have appeared since the first statement (PostgreSQL, READ COMMITTED:
        # another transaction's first attempt committed in between): claim again.
        if conn.execute(claim).rowcount:
            return True
        # No room: as many checks as allowed are failed or in flight. Lock now.
        _lock(conn, username=username, now=now, policy=policy)
    return False


def _lock(conn: Connection, *, username: str, now: datetime, policy: LockoutPolicy) -> bool:
    """Lock ``username`` if its failures reached the limit and it is not locked yet."""
    until = now + policy.duration
    locked = conn.execute(
        update(_attempts)
        .where(
            _attempts.c.username == username,
            _attempts.c.failures >= policy.after,
            _not_locked(now),
        )
        .values(failures=0, locked_until=until)
    ).rowcount
    if not locked:
        return False
    log.warning("account %s locked after %d wrong passwords", username, policy.after)
    conn.execute(delete(_sessions).where(_sessions.c.username == username))
    journal.append(
        conn,
        stream=f"user:{username}",
        actor="system",
        kind="lockout",
        at=now,
        note=f"locked until {until.isoformat()} after {policy.after} wrong passwords",
    )
    return True


def _wrong(
    db: Database, *, username: str, known: bool, where: str, now: datetime, policy: LockoutPolicy
) -> bool:
    """After a wrong password: journal it, lock if that was one too many. ``True``: locked."""
    for attempt in range(_JOURNAL_TRIES):
        try:
            with db.transaction() as conn:
                # Holds the user's attempts row: the user's journal entries from here and
                # from a lock (whose UPDATE takes the same row) are written one at a time.
                conn.execute(
                    update(_attempts)
                    .where(_attempts.c.username == username)
                    .values(last_failure_at=now)
                )
                if known:
                    journal.append(
                        conn,
                        stream=f"user:{username}",
                        actor=username,
                        kind="password_wrong",
                        at=now,
                        note=where,
                    )
                return _lock(conn, username=username, now=now, policy=policy)
        except StaleVersion:  # another failure of the same user journaled at the same moment
            if attempt == _JOURNAL_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _reset(conn: Connection, *, username: str, now: datetime) -> bool:
    """Reset the count unless the account was locked meanwhile; ``False`` if it was."""
    return bool(
        conn.execute(
            update(_attempts)
            .where(_attempts.c.username == username, _not_locked(now))
            .values(failures=0)
        ).rowcount
    )


def _right(db: Database, *, username: str, now: datetime) -> bool:
    """After a right password: reset the count, in the step's transaction when in a step."""
    joined = db.joining()
    if joined is not None:
        joined.add(partial(_reset, username=username, now=now))
        return True
    with db.transaction() as conn:
        return _reset(conn, username=username, now=now)


def _stored_hash(db: Database, *, username: str) -> tuple[str, bool] | None:
    with db.read() as conn:
        row = conn.execute(
            select(_users.c.password_hash, _users.c.active).where(_users.c.username == username)
        ).first()
    return None if row is None else (str(row[0]), bool(row[1]))


def check_password(
    db: Database,
    *,
    username: str,
    password: str,
    where: str,
    now: datetime,
    policy: LockoutPolicy,
) -> Verdict:
    """Check ``username``'s password under the lockout; ``where`` names the place, journaled.

    Unknown and inactive users are checked against a dummy hash and answer
    ``WRONG`` like a wrong password.
    """
    if not _claim(db, username=username, now=now, policy=policy):
        return Verdict.LOCKED
    stored = _stored_hash(db, username=username)
    if stored is None:
        users.verify_password(_DUMMY_HASH, password)
        right = False
    else:
        right = users.verify_password(stored[0], password) and stored[1]
    if right:
        return Verdict.RIGHT if _right(db, username=username, now=now) else Verdict.LOCKED
    locked = _wrong(
        db, username=username, known=stored is not None, where=where, now=now, policy=policy
    )
    return Verdict.LOCKED if locked else Verdict.WRONG


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


def unlock(conn: Connection, *, username: str) -> None:
    """Lift a lock and forget the failures (an administrator set a new password)."""
    conn.execute(
        update(_attempts)
        .where(_attempts.c.username == username)
        .values(failures=0, locked_until=None)
    )
