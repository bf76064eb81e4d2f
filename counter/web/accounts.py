"""The console's view of users: look-up, password check and change, language choice.

Hashing and verification are the store's (``counter.store.users``); this
module only adapts them to what a request needs and never returns the hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from counter.errors import FieldError, InvalidInput, NotFound
from counter.store import journal, users
from counter.store.db import Database, utcnow
from counter.store.tables import User
from counter.web.i18n import LANGS, catalog

__all__ = ["Account", "change_password", "check_password", "find", "set_lang"]

# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = users.hash_password("counter-unknown-user-placeholder")


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    roles: tuple[str, ...]
    branch: str | None
    lang: str
    active: bool


def _account(user: User) -> Account:
    return Account(
        username=user.username,
        display_name=user.display_name,
        roles=tuple(user.roles),
        branch=user.branch,
        lang=user.lang,
        active=user.active,
    )


def find(db: Database, *, username: str) -> Account | None:
    try:
        return _account(users.get_user(db, username=username))
    except NotFound:
        return None


def check_password(db: Database, *, username: str, password: str) -> Account | None:
    """The account if ``password`` is right and the account active; ``None`` otherwise."""
    try:
        user = users.get_user(db, username=username)
    except NotFound:
        users.verify_password(_DUMMY_HASH, password)
        return None
    if not users.verify_password(user.password_hash, password) or not user.active:
        return None
    return _account(user)


def change_password(db: Database, *, username: str, current: str, new: str) -> None:
    """Replace the password after checking the current one; journaled on ``user:NAME``."""
    texts = catalog()
    if check_password(db, username=username, password=current) is None:
        raise InvalidInput(
            texts.text("password.wrong_current"),
            fields=[_field("current_password", "wrong_password", "password.wrong_current")],
        )
    if len(new) < users.MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            texts.text("password.too_short", n=users.MIN_PASSWORD_LENGTH),
            fields=[
                _field(
                    "new_password", "too_short", "password.too_short", n=users.MIN_PASSWORD_LENGTH
                )
            ],
        )
    if new == current:
        raise InvalidInput(
            texts.text("password.same"),
            fields=[_field("new_password", "unchanged", "password.same")],
        )
    now = utcnow()
    with db.session() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.password_hash = users.hash_password(new)
        user.password_changed_at = now
        session.add(user)
        session.flush()
        journal.append(
            session.connection(),
            stream=f"user:{username}",
            actor=username,
            kind="password_changed",
            at=now,
        )


def set_lang(db: Database, *, username: str, lang: str) -> None:
    """Remember the console language a user chose."""
    if lang not in LANGS:
        return
    with db.session() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.lang = lang
        session.add(user)


def _field(name: str, code: str, key: str, **values: object) -> FieldError:
    return FieldError(field=name, code=code, message=catalog().text(key, **values))
