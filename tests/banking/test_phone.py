from __future__ import annotations

import pytest

from counter.banking import check_mobile, is_mobile, normalize_mobile


@pytest.mark.parametrize(
    "value",
    ["13800138000", "+86 138 0013 8000", "86-138-0013-8000", "008613800138000", "19912345678"],
)
def test_mobile_numbers(value: str) -> None:
    assert check_mobile(value) is None
    assert is_mobile(value)


def test_the_country_code_is_dropped() -> None:
    assert normalize_mobile("+86 138-0013-8000") == "13800138000"
    assert normalize_mobile("8613800138000") == "13800138000"
    assert normalize_mobile("13800138000") == "13800138000"


@pytest.mark.parametrize(
    "value",
    ["12800138000", "1380013800", "138001380001", "23800138000", "+85213800138000", "010-12345678"],
)
def test_not_mobile_numbers(value: str) -> None:
    problem = check_mobile(value)
    assert problem is not None and problem.code == "phone_format"
