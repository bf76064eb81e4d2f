"""Users and branches: argon2 password hashes, creation and look-up.

Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made
with older parameters is upgraded at the next successful sign-in by the
caller (see :func:`password_needs_rehash`).
"""

from __future__ import annotations

import gzip
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from counter.errors import FieldError, InvalidInput, NotFound
from counter.store import journal
from counter.store.db import Database
from counter.store.tables import Branch, User, UserBase
from counter.store.web_tables import WebSession
from counter.text import Text

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "UserPublic",
    "check_new_password",
    "create_branch",
    "create_user",
    "get_branch",
    "get_user",
    "hash_password",
    "list_users",
    "password_needs_rehash",
    "set_password",
    "verify_password",
]

ROLES = frozenset(
    {
        "teller",
        "supervisor",
        "auditor",
        "admin",
        "merchant",
        "reviewer",
        "service_agent",
        "operations",  # moves running cases to a new workflow version (counter cases migrate)
        "branch_manager",  # the branch's highest approval level (tiered authority)
        "authorizer",  # the remote authorization centre: approvals from every branch
        "post_reviewer",  # the back office's post-transaction review (事后监督)
    }
)
MIN_PASSWORD_LENGTH = 8

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 30 ms
# here, against 0.5 s of CPU for argon2-cffi's defaults, which every sign-in and
# every teller sign-off pays; at 50 tellers the defaults capped a 2-core branch
# server at a few cases a second. Older hashes still verify and report needing
# a rehash.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class UserPublic(UserBase):
    """A user as shown to people: no password hash, no lockout counters."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed hash is a mismatch, never an exception."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def create_branch(db: Database, *, code: str, name_zh: str, name_en: str) -> Branch:
    """Add a branch; an existing code is refused."""
    with db.session() as session:
        if session.get(Branch, code) is not None:
            raise InvalidInput(
                Text(zh=f"网点 {code} 已存在", en=f"Branch {code} already exists"), branch=code
            )
        branch = Branch(code=code, name_zh=name_zh, name_en=name_en)
        session.add(branch)
    return branch


def get_branch(db: Database, *, code: str) -> Branch:
    with db.read_session() as session:
        branch = session.get(Branch, code)
    if branch is None:
        raise NotFound(Text(zh=f"没有网点 {code}", en=f"No branch {code}"), branch=code)
    return branch


def create_user(
    db: Database,
    *,
    username: str,
    password: str,
    roles: Iterable[str],
    branch: str,
    display_name: str = "",
    merchant_no: str | None = None,
    lang: str = "zh",
    common_check: bool = True,
) -> User:
    """Add a user with an argon2 hash of ``password``; the branch must exist."""
    role_list = sorted(set(roles))
    unknown = [r for r in role_list if r not in ROLES]
    if not role_list or unknown:
        raise InvalidInput(
            Text(
                zh=f"角色无效:{', '.join(unknown) or '(无)'};可选:{', '.join(sorted(ROLES))}",
                en=f"Invalid roles: {', '.join(unknown) or '(none)'}; "
                f"choose from {', '.join(sorted(ROLES))}",
            )
        )
    check_new_password(
        password, username=username, display_name=display_name, common_check=common_check
    )
    user = User(
        username=username,
        display_name=display_name or username,
        roles=role_list,
        branch=branch,
        merchant_no=merchant_no,
        lang=lang,
        password_hash=hash_password(password),
    )
    try:
        with db.session() as session:
            if session.get(Branch, branch) is None:
                raise NotFound(
                    Text(
                        zh=f"没有网点 {branch};请先用 counter branches add 添加",
                        en=f"No branch {branch}; add it first with counter branches add",
                    ),
                    branch=branch,
                )
            session.add(user)
    except IntegrityError as exc:
        raise InvalidInput(
            Text(zh=f"用户 {username} 已存在", en=f"User {username} already exists"),
            username=username,
        ) from exc
    return user


def get_user(db: Database, *, username: str) -> User:
    """The stored user (with its password hash, for sign-in); ``NotFound`` otherwise."""
    with db.read_session() as session:
        user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(Text(zh=f"没有用户 {username}", en=f"No user {username}"), username=username)
    return user


def list_users(db: Database, *, branch: str | None = None) -> list[UserPublic]:
    with db.read_session() as session:
        query = select(User).order_by(User.username)
        if branch is not None:
            query = query.where(User.branch == branch)
        return [UserPublic.model_validate(u, from_attributes=True) for u in session.exec(query)]


# --- the password policy --------------------------------------------------------

_COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt.gz"
# A name shorter than this inside a password is not taken as "the password is the name".
_NAME_MIN = {True: 2, False: 3}  # CJK names are two or three characters


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (see ``data/NOTICE.md``), lower-case."""
    with gzip.open(_COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def _is_common(password: str) -> bool:
    common = _common_passwords()
    return password.strip().casefold() in common or _folded(password) in common


def _folded(value: str) -> str:
    """Lower-case letters and digits only: ``Teller.1`` and ``teller1`` are the same here."""
    text = unicodedata.normalize("NFKC", value).casefold()
    return "".join(c for c in text if c.isalnum())


def _too_close_to(password: str, name: str) -> bool:
    folded, own = _folded(password), _folded(name)
    cjk = any(unicodedata.east_asian_width(c) == "W" for c in own)
    if len(own) < _NAME_MIN[cjk]:
        return False
    return own in folded or folded in own or own[::-1] in folded


def check_new_password(
    password: str,
    *,
    username: str,
    display_name: str = "",
    field: str = "password",
    common_check: bool = True,
) -> None:
    """Refuse (``InvalidInput`` with a field error on ``field``) a password that is
    too short, on the list of common passwords, or made of the user's own name."""
    problem: tuple[str, Text] | None = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = (
            "too_short",
            Text(
                zh=f"密码至少 {MIN_PASSWORD_LENGTH} 位",
                en=f"The password needs at least {MIN_PASSWORD_LENGTH} characters",
            ),
        )
    elif common_check and _is_common(password):
        problem = (
            "common",
            Text(
                zh="这是常见密码,很容易被猜中,请换一个",
                en="This is a common password, easy to guess; choose another",
            ),
        )
    elif any(_too_close_to(password, name) for name in (username, display_name) if name):
        problem = (
            "contains_name",
            Text(
                zh="密码不能包含用户名或姓名",
                en="The password must not contain the username or the person's name",
            ),
        )
    if problem is not None:
        code, message = problem
        raise InvalidInput(message, fields=[FieldError(field=field, code=code, message=message)])


_sessions = WebSession.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]


def set_password(
    conn: Connection, *, username: str, password: str, actor: str, now: datetime,
    keep_session: str | None = None,
) -> None:
    """Store a new hash of ``password`` (already checked) in the caller's write transaction.

    Every session of the user but ``keep_session`` ends, and the change is
    journaled on ``user:NAME`` (``password_changed``, by ``actor``).
    """
    changed = conn.execute(
        update(_users)
        .where(_users.c.username == username)
        .values(password_hash=hash_password(password), password_changed_at=now)
    ).rowcount
    if not changed:
        raise NotFound(Text(zh=f"没有用户 {username}", en=f"No user {username}"), username=username)
    ended = delete(_sessions).where(_sessions.c.username == username)
    if keep_session is not None:
        ended = ended.where(_sessions.c.id != keep_session)
    conn.execute(ended)
    journal.append(
        conn,
        stream=f"user:{username}",
        actor=actor,
        kind="password_changed",
        at=now,
        note=None if actor == username else "set by an administrator",
    )
