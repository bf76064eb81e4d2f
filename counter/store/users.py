"""Users and branches: argon2 password hashes, creation and look-up.

Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made
with older parameters is upgraded at the next successful sign-in by the
caller (see :func:`password_needs_rehash`).
"""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from counter.errors import InvalidInput, NotFound
from counter.store.db import Database
from counter.store.tables import Branch, User, UserBase
from counter.text import Text

__all__ = [
    "ROLES",
    "UserPublic",
    "create_branch",
    "create_user",
    "get_branch",
    "get_user",
    "hash_password",
    "list_users",
    "password_needs_rehash",
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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            Text(
                zh=f"密码至少 {MIN_PASSWORD_LENGTH} 位",
                en=f"The password needs at least {MIN_PASSWORD_LENGTH} characters",
            )
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
