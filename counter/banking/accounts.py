"""Settlement accounts: personal debit cards and corporate account numbers.

A personal debit card number has 16 to 19 digits and a Luhn check digit.
DESIGN.md makes a Luhn failure approvable (a supervisor confirms the card
by hand), so it has its own code apart from a malformed number. Corporate
account numbers are 8 to 32 digits with no check digit common to all banks,
so only their format is checked.
"""

from __future__ import annotations

import re
from enum import StrEnum

from counter.banking._clean import compact
from counter.banking.problems import Problem
from counter.text import Text

__all__ = [
    "AccountKind",
    "account_kind",
    "account_last4",
    "check_card_number",
    "check_corporate_account",
    "luhn_check_digit",
    "luhn_valid",
    "normalize_account_number",
]


class AccountKind(StrEnum):
    CARD = "card"  # a personal debit card
    CORPORATE = "corporate"  # a corporate settlement account


_CARD = re.compile(r"[0-9]{16,19}")
_CORPORATE = re.compile(r"[0-9]{8,32}")
_DIGITS = re.compile(r"[0-9]+")

CARD_FORMAT = Problem(
    "card_format",
    Text(
        zh="银行卡号格式错误:应为16至19位数字",
        en="The card number is malformed: 16 to 19 digits",
    ),
)
CARD_LUHN = Problem(
    "card_luhn",
    Text(
        zh="银行卡号校验位错误,请主管人工核对卡片",
        en="The card number's check digit is wrong; a supervisor must check the card by hand",
    ),
    approvable=True,
)
ACCOUNT_FORMAT = Problem(
    "account_format",
    Text(
        zh="对公账号格式错误:应为8至32位数字",
        en="The corporate account number is malformed: 8 to 32 digits",
    ),
)


def normalize_account_number(value: str) -> str:
    """The number as typed, in ASCII digits without spaces or hyphens (not checked)."""
    return compact(value, hyphens=True)


def _luhn_sum(digits: str, *, double_last: bool) -> int:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if (position % 2 == 0) == double_last:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit that completes ``payload`` (the number without its last digit)."""
    if _DIGITS.fullmatch(payload) is None:
        raise ValueError("the Luhn digit is computed on ASCII digits")
    return str(-_luhn_sum(payload, double_last=True) % 10)


def luhn_valid(number: str) -> bool:
    """Whether ``number`` (ASCII digits) ends with a correct Luhn check digit."""
    if _DIGITS.fullmatch(number) is None or len(number) < 2:
        return False
    return _luhn_sum(number, double_last=False) % 10 == 0


def check_card_number(value: str) -> Problem | None:
    """``card_format`` (hard), ``card_luhn`` (approvable) or ``None``."""
    number = normalize_account_number(value)
    if _CARD.fullmatch(number) is None:
        return CARD_FORMAT
    if not luhn_valid(number):
        return CARD_LUHN
    return None


def check_corporate_account(value: str) -> Problem | None:
    """``account_format`` or ``None``."""
    if _CORPORATE.fullmatch(normalize_account_number(value)) is None:
        return ACCOUNT_FORMAT
    return None


def account_kind(value: str) -> AccountKind | None:
    """Which kind of settlement account ``value`` looks like, or ``None`` for neither.

    A guess for display and defaults: some banks' corporate accounts also
    have 16 to 19 digits. 16 to 19 digits passing Luhn, or starting with
    China UnionPay's 62, look like a card; other runs of 8 to 32 digits like
    a corporate account. Where the registry records the account's type,
    trust the registry.
    """
    number = normalize_account_number(value)
    if _CARD.fullmatch(number) and (luhn_valid(number) or number.startswith("62")):
        return AccountKind.CARD
    if _CORPORATE.fullmatch(number):
        return AccountKind.CORPORATE
    return None


def account_last4(value: str) -> str:
    """The last four digits, as slips and messages name an account."""
    number = normalize_account_number(value)
    if len(number) < 8:
        raise ValueError("an account number has at least 8 digits")
    return number[-4:]
