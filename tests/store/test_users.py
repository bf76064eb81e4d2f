"""Users and branches: argon2 hashes, creation, look-up, refusals."""

from __future__ import annotations

import pytest

from counter.errors import InvalidInput, NotFound
from counter.store.db import Database
from counter.store.users import (
    create_branch,
    create_user,
    get_branch,
    get_user,
    hash_password,
    list_users,
    password_needs_rehash,
    verify_password,
)


def test_password_hashes_are_argon2_and_verify() -> None:
    hashed = hash_password("s3cret-pass")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret-pass")
    assert not verify_password(hashed, "wrong-pass")
    assert not verify_password("not a hash", "s3cret-pass")
    assert not password_needs_rehash(hashed)


@pytest.mark.postgres
def test_create_and_get_user(db: Database) -> None:
    create_branch(db, code="BJ001", name_zh="北京分行", name_en="Beijing")
    create_user(db, username="t1", password="teller-pass-1", roles=["teller"], branch="BJ001")
    user = get_user(db, username="t1")
    assert user.roles == ["teller"] and user.branch == "BJ001" and user.lang == "zh"
    assert verify_password(user.password_hash, "teller-pass-1")
    assert [u.username for u in list_users(db, branch="BJ001")] == ["t1"]
    assert get_branch(db, code="BJ001").name_en == "Beijing"


def test_refusals(db: Database) -> None:
    create_branch(db, code="BJ001", name_zh="北京分行", name_en="Beijing")
    with pytest.raises(InvalidInput):
        create_branch(db, code="BJ001", name_zh="x", name_en="x")
    with pytest.raises(InvalidInput):
        create_user(db, username="x", password="long-enough", roles=["wizard"], branch="BJ001")
    with pytest.raises(InvalidInput):
        create_user(db, username="x", password="short", roles=["teller"], branch="BJ001")
    with pytest.raises(NotFound):
        create_user(db, username="x", password="long-enough", roles=["teller"], branch="SH001")
    create_user(db, username="x", password="long-enough", roles=["teller"], branch="BJ001")
    with pytest.raises(InvalidInput):
        create_user(db, username="x", password="long-enough", roles=["teller"], branch="BJ001")
    with pytest.raises(NotFound):
        get_user(db, username="nobody")
