"""Form validators: the format of one typed value (``None`` means it is well-formed).

Each validator of a number also names how the number is folded before it
is checked and kept (full-width digits, spaces, hyphens), and the fields'
``pii`` classes name how names and numbers are folded wherever they are
typed (``normalize_name``: the middle dot of minority names as U+00B7).

A validator refuses only what the teller must retype. Problems a supervisor
may accept (a social credit code or card failing its check) pass here and
become findings in ``checks``, which compare the value with the registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from counter.banking._clean import compact, fold_number, normalize_name
from counter.banking.accounts import normalize_account_number
from counter.banking.identity import DocumentType, check_document
from counter.banking.merchant import (
    check_merchant_number,
    check_terminal_sn,
    normalize_merchant_number,
    normalize_terminal_sn,
)
from counter.banking.uscc import check_uscc, normalize_uscc
from counter.engine.registry import normalizer, validator
from counter.text import Text

__all__ = [
    "account_number_format",
    "merchant_no_format",
    "principal_id_format",
    "terminal_sn_format",
    "unbind_code_format",
    "uscc_format",
]

normalizer("name")(normalize_name)
normalizer("id")(compact)
for _kind in ("card", "account", "phone"):
    normalizer(_kind)(fold_number)

_ACCOUNT = re.compile(r"[0-9]{8,32}")
_CODE = re.compile(r"[0-9]{6}")
_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")


@validator("merchant_no_format", normalize=normalize_merchant_number)
def merchant_no_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    problem = check_merchant_number(str(value))
    return problem.message if problem else None


@validator("uscc_format", normalize=normalize_uscc)
def uscc_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    """Malformed codes only: a wrong check character is the ``uscc_check_failed`` finding."""
    problem = check_uscc(str(value))
    return problem.message if problem is not None and problem.code == "uscc_format" else None


@validator("terminal_sn_format", normalize=normalize_terminal_sn)
def terminal_sn_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    problem = check_terminal_sn(str(value))
    return problem.message if problem else None


@validator("account_number_format", normalize=normalize_account_number)
def account_number_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    """8 to 32 digits: a personal card (16 to 19) or a corporate account; Luhn is a finding."""
    if _ACCOUNT.fullmatch(normalize_account_number(str(value))):
        return None
    return Text(
        zh="结算账号格式错误:应为8至32位数字(个人借记卡16至19位)",
        en="The settlement account number is malformed: 8 to 32 digits "
        "(a personal debit card has 16 to 19)",
    )


@validator("principal_id_format", normalize=compact)
def principal_id_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    """The principal's document number, whose type the form does not ask.

    An 18-character (or legacy 15-digit) number is taken as a resident ID
    card and checked as one; anything else as a passport-like number.
    """
    number = compact(str(value))
    kind = DocumentType.RESIDENT_ID if _EIGHTEEN.fullmatch(number) else DocumentType.PASSPORT
    if kind is DocumentType.RESIDENT_ID and number[:2] in ("81", "82", "83"):
        kind = DocumentType.HK_MO_TW_RESIDENCE_PERMIT
    problem = check_document(kind, number)
    return problem.message if problem else None


@validator("unbind_code_format", normalize=compact)
def unbind_code_format(value: Any, form: Mapping[str, Any]) -> Text | None:
    if _CODE.fullmatch(compact(str(value))):
        return None
    return Text(zh="验证码应为6位数字", en="The code has 6 digits")
