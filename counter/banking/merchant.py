"""Merchant numbers, terminal IDs and terminal serial numbers.

A merchant number (商户编号) has 15 digits: a 3-digit acquirer code, a
4-digit area code, the 4-digit merchant category code (MCC) and a 4-digit
sequence. A terminal ID (终端号) is 8 letters or digits. A terminal's serial
number is the vendor's own text: 4 to 32 letters, digits, ``-`` and ``_``.
None of them has a check character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from counter.banking._clean import compact
from counter.banking.problems import NumberInvalid, Problem
from counter.text import Text

__all__ = [
    "MerchantNumber",
    "check_merchant_number",
    "check_terminal_id",
    "check_terminal_sn",
    "normalize_merchant_number",
    "normalize_terminal_id",
    "normalize_terminal_sn",
    "parse_merchant_number",
]

_MERCHANT_NUMBER = re.compile(r"[0-9]{15}")
_TERMINAL_ID = re.compile(r"[A-Z0-9]{8}")
_TERMINAL_SN = re.compile(r"[A-Z0-9_\-]{4,32}")

MERCHANT_NO_FORMAT = Problem(
    "merchant_no_format",
    Text(
        zh="商户编号格式错误:应为15位数字",
        en="The merchant number is malformed: 15 digits",
    ),
)
TERMINAL_ID_FORMAT = Problem(
    "terminal_id_format",
    Text(
        zh="终端号格式错误:应为8位字母或数字",
        en="The terminal ID is malformed: 8 letters or digits",
    ),
)
TERMINAL_SN_FORMAT = Problem(
    "terminal_sn_format",
    Text(
        zh="终端序列号格式错误:应为4至32位字母、数字、“-”或“_”",
        en="The terminal serial number is malformed: 4 to 32 letters, digits, '-' or '_'",
    ),
)


@dataclass(frozen=True)
class MerchantNumber:
    """A merchant number and its four parts."""

    number: str
    acquirer_code: str
    area_code: str
    mcc: str
    sequence: str


def normalize_merchant_number(value: str) -> str:
    """The number as typed, in ASCII without spaces (not checked)."""
    return compact(value)


def normalize_terminal_id(value: str) -> str:
    """The terminal ID in ASCII capitals without spaces (not checked)."""
    return compact(value)


def normalize_terminal_sn(value: str) -> str:
    """The serial number in ASCII capitals without spaces; compare serial numbers this way.

    Vendors print serial numbers in capitals, tellers may type them in
    lower case; both sides of a comparison should be normalized.
    """
    return compact(value)


def check_merchant_number(value: str) -> Problem | None:
    """``merchant_no_format`` or ``None``."""
    if _MERCHANT_NUMBER.fullmatch(normalize_merchant_number(value)) is None:
        return MERCHANT_NO_FORMAT
    return None


def parse_merchant_number(value: str, *, field: str = "merchant_no") -> MerchantNumber:
    """The number's parts, or ``NumberInvalid`` naming ``field``."""
    number = normalize_merchant_number(value)
    if _MERCHANT_NUMBER.fullmatch(number) is None:
        raise NumberInvalid(MERCHANT_NO_FORMAT, field=field)
    return MerchantNumber(
        number=number,
        acquirer_code=number[:3],
        area_code=number[3:7],
        mcc=number[7:11],
        sequence=number[11:],
    )


def check_terminal_id(value: str) -> Problem | None:
    """``terminal_id_format`` or ``None``."""
    if _TERMINAL_ID.fullmatch(normalize_terminal_id(value)) is None:
        return TERMINAL_ID_FORMAT
    return None


def check_terminal_sn(value: str) -> Problem | None:
    """``terminal_sn_format`` or ``None``."""
    if _TERMINAL_SN.fullmatch(normalize_terminal_sn(value)) is None:
        return TERMINAL_SN_FORMAT
    return None
