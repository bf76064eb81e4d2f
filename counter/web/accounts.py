"""The console's view of users: look-up, sign-in, password change, language choice.

Hashing, the password policy and the lockout are the store's
(``counter.store.users``, ``counter.store.lockout``); this module adapts them
to what a request needs and never returns the hash. Every password typed
here counts toward the one lockout (``where``: ``sign_in``, ``password_change``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from counter.config import Settings
from counter.errors import AuthenticationFailed, FieldError, InvalidInput
from counter.store import lockout, users
from counter.store.db import Database, utcnow
from counter.store.tables import User
from counter.web.i18n import LANGS, catalog

__all__ = [
    "ACCOUNT_COLUMNS",
    "Account",
    "account_of",
    "change_password",
    "find",
    "lockout_policy",
    "set_lang",
    "sign_in",
]

_users = User.__table__  # type: ignore[attr-defined]
# What a request needs of a user: never the password hash.
ACCOUNT_COLUMNS = (
    _users.c.username,
    _users.c.display_name,
    _users.c.roles,
    _users.c.branch,
    _users.c.lang,
    _users.c.active,
    _users.c.merchant_no,
)


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    roles: tuple[str, ...]
    branch: str | None
    lang: str
    active: bool
    merchant_no: str | None = None


def lockout_policy(settings: Settings) -> lockout.LockoutPolicy:
    return lockout.LockoutPolicy(
        after=settings.lockout_after, duration=timedelta(minutes=settings.lockout_minutes)
    )


def account_of(row: Any) -> Account:
    """The account in a result row that selected ``ACCOUNT_COLUMNS``."""
    return Account(
        username=row.username,
        display_name=row.display_name,
        roles=tuple(row.roles),
        branch=row.branch,
        lang=row.lang,
        active=bool(row.active),
        merchant_no=row.merchant_no,
    )


def find(db: Database, *, username: str) -> Account | None:
    """The user's account (no password hash is read)."""
    with db.read() as conn:
        row = conn.execute(select(*ACCOUNT_COLUMNS).where(_users.c.username == username)).first()
    return None if row is None else account_of(row)


def _checked(
    db: Database, settings: Settings, *, username: str, password: str, where: str
) -> lockout.Verdict:
    """The password check under the lockout; a locked account raises ``AuthenticationFailed``."""
    verdict = lockout.check_password(
        db,
        username=username,
        password=password,
        where=where,
        now=utcnow(),
        policy=lockout_policy(settings),
    )
    if verdict is lockout.Verdict.LOCKED:
        raise AuthenticationFailed(catalog().text("auth.locked", n=settings.lockout_minutes))
    return verdict


def sign_in(db: Database, settings: Settings, *, username: str, password: str) -> Account:
    """The account if the password is right; ``AuthenticationFailed`` otherwise.

    Unknown users and wrong passwords get the same answer; a locked account
    is refused without looking at the password.
    """
    verdict = _checked(db, settings, username=username, password=password, where="sign_in")
    account = find(db, username=username) if verdict is lockout.Verdict.RIGHT else None
    if account is None:
        raise AuthenticationFailed(catalog().text("auth.bad_credentials"), username=username)
    return account


def change_password(
    db: Database,
    settings: Settings,
    *,
    account: Account,
    current: str,
    new: str,
    session_id: str,
) -> None:
    """Replace the password after checking the current one (counted toward the lockout).

    Every other session of the user ends; journaled on ``user:NAME``. A
    wrong current password that locks the account raises ``AuthenticationFailed``
    (the lock ended this session too).
    """
    texts = catalog()
    verdict = _checked(
        db, settings, username=account.username, password=current, where="password_change"
    )
    if verdict is lockout.Verdict.WRONG:
        raise InvalidInput(
            texts.text("password.wrong_current"),
            fields=[_field("current_password", "wrong_password", "password.wrong_current")],
        )
    if new == current:
        raise InvalidInput(
            texts.text("password.same"),
            fields=[_field("new_password", "unchanged", "password.same")],
        )
    users.check_new_password(
        new,
        username=account.username,
        display_name=account.display_name,
        field="new_password",
        common_check=settings.common_password_check,
    )
    with db.transaction() as conn:
        users.set_password(
            conn,
            username=account.username,
            password=new,
            actor=account.username,
            now=utcnow(),
            keep_session=session_id,
        )


def set_lang(db: Database, *, username: str, lang: str) -> None:
    """Remember the console language a user chose."""
    if lang not in LANGS:
        return
    with db.transaction() as conn:
        conn.execute(update(_users).where(_users.c.username == username).values(lang=lang))


def _field(name: str, code: str, key: str, **values: object) -> FieldError:
    return FieldError(field=name, code=code, message=catalog().text(key, **values))
