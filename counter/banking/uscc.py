"""Unified social credit codes (统一社会信用代码, GB 32100-2015) of merchants.

18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z).
The 18th is a MOD 31 check: weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24
10 30 28 (powers of 3 mod 31) on the first 17, check = 31 - (sum mod 31),
31 meaning 0. Because 31 is prime and every weight is non-zero mod 31, any
single changed character changes the check.

Some real codes from early pilots fail the check, so a wrong check
character is an approvable problem (a supervisor confirms the merchant by
its business licence), while a malformed code is a hard one.
"""

from __future__ import annotations

import re

from counter.banking._clean import compact
from counter.banking.problems import Problem
from counter.text import Text

__all__ = ["USCC_ALPHABET", "check_uscc", "normalize_uscc", "uscc_check_char"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
_FORMAT = re.compile(f"[{USCC_ALPHABET}]{{18}}")

USCC_FORMAT = Problem(
    "uscc_format",
    Text(
        zh="统一社会信用代码格式错误:应为18位数字或大写字母(不含I、O、S、V、Z)",
        en="The unified social credit code is malformed: 18 digits or capital letters "
        "(no I, O, S, V or Z)",
    ),
)
USCC_CHECK_CHAR = Problem(
    "uscc_check_char",
    Text(
        zh="统一社会信用代码校验位错误,请主管核对营业执照",
        en="The unified social credit code's check character is wrong; "
        "a supervisor must check the business licence",
    ),
    approvable=True,
)


def normalize_uscc(value: str) -> str:
    """The code as typed, in ASCII capitals without spaces (not checked)."""
    return compact(value)


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != 17 or any(char not in _VALUES for char in first17):
        raise ValueError("the check character is computed on 17 characters of the USCC alphabet")
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> Problem | None:
    """``uscc_format`` (hard), ``uscc_check_char`` (approvable) or ``None``."""
    code = normalize_uscc(value)
    if _FORMAT.fullmatch(code) is None:
        return USCC_FORMAT
    if uscc_check_char(code[:17]) != code[17]:
        return USCC_CHECK_CHAR
    return None
