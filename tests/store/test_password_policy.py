"""The password policy: long enough, not a common password, not the user's own name."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.errors import InvalidInput
from counter.store import users
from counter.store.users import check_new_password

LIST = Path(users.__file__).with_name("data") / "common-passwords.txt.gz"


def refusal(password: str, **names: str) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_new_password(password, **names)  # type: ignore[arg-type]
    [field] = refused.value.fields
    assert field.field == "password"
    assert field.message.zh and field.message.en and field.message.zh != field.message.en
    return field.code


def test_the_shipped_list_is_a_reasonable_size() -> None:
    with gzip.open(LIST, "rt", encoding="utf-8") as lines:
        entries = [line.strip() for line in lines]
    assert 8_000 < len(entries) < 20_000
    assert all(len(e) >= users.MIN_PASSWORD_LENGTH for e in entries)


@pytest.mark.parametrize(
    "password", ["password", "12345678", "1qaz2wsx", "woaini1314", "Password1", "QWERTYUIOP",
                 "zhang123456", " iloveyou "]
)
def test_common_passwords_are_refused(password: str) -> None:
    assert refusal(password, username="teller1") == "common"


def test_the_common_check_can_be_turned_off() -> None:
    check_new_password("12345678", username="teller1", common_check=False)


@pytest.mark.parametrize(
    ("password", "names"),
    [
        ("teller1-2026!", {"username": "teller1"}),
        ("Teller.1.Secret", {"username": "teller1"}),
        ("1rellet-xyz-99", {"username": "teller1"}),  # reversed
        ("张三的密码2026", {"username": "t1", "display_name": "张三"}),
        ("Li Lei at branch 7", {"username": "t1", "display_name": "li lei"}),
    ],
)
def test_a_password_made_of_the_users_name_is_refused(password: str, names: dict[str, str]) -> None:
    assert refusal(password, **names) == "contains_name"


def test_short_passwords_are_refused_first() -> None:
    assert refusal("abc", username="teller1") == "too_short"


def test_a_good_password_passes() -> None:
    check_new_password("counter-test-2026", username="teller1", display_name="张三")
    check_new_password("Brand-new-passphrase-7", username="al", display_name="Al")  # short names


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=12),
    before=st.text(min_size=0, max_size=6),
    after=st.text(min_size=0, max_size=6),
)
def test_any_password_containing_the_username_is_refused(
    name: str, before: str, after: str
) -> None:
    password = f"{before}{name}{after}".ljust(12, "#")
    with pytest.raises(InvalidInput):
        check_new_password(password, username=name)
