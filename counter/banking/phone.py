"""Mainland China mobile numbers: 11 digits starting 13 to 19.

A leading country code (``+86``, ``86`` or ``0086``) and spaces or hyphens
are accepted and dropped, so ``+86 138-0013-8000`` becomes ``13800138000``.
"""

from __future__ import annotations

import re

from counter.banking._clean import compact
from counter.banking.problems import Problem
from counter.text import Text

__all__ = ["check_mobile", "is_mobile", "normalize_mobile"]

_COUNTRY_CODE = re.compile(r"\A(?:\+86|0086|86)(?=1[0-9]{10}\Z)")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")

PHONE_FORMAT = Problem(
    "phone_format",
    Text(
        zh="手机号码格式错误:应为以13至19开头的11位数字",
        en="The mobile number is malformed: 11 digits starting 13 to 19",
    ),
)


def normalize_mobile(value: str) -> str:
    """The number without country code, spaces or hyphens (not checked)."""
    return _COUNTRY_CODE.sub("", compact(value, hyphens=True), count=1)


def is_mobile(value: str) -> bool:
    return _MOBILE.fullmatch(normalize_mobile(value)) is not None


def check_mobile(value: str) -> Problem | None:
    """``phone_format`` or ``None``."""
    return None if is_mobile(value) else PHONE_FORMAT
