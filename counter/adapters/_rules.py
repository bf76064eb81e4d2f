"""The checks and masks the local adapters borrow from ``counter.banking``, plus import messages.

Banking owns the rules (number formats, check characters, masking policy);
this module only adapts them to what an import or a log line needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from counter.banking._typed_text import clean_text
from counter.banking.accounts import check_card_number, check_corporate_account
from counter.banking.identity import check_document
from counter.banking.merchant import check_merchant_number, check_terminal_id, check_terminal_sn
from counter.banking.phone import check_mobile
from counter.banking.problems import Problem
from counter.banking.uscc import check_uscc
from counter.text import Text

REQUIRED = Text(zh="必填。", en="required.")
_CELL = Text(zh="此项", en="This cell")

_DIGITS = re.compile(r"[0-9]+")


def repeated(first_line: int) -> Text:
    return Text(zh=f"与第 {first_line} 行重复。", en=f"repeats line {first_line}.")


def not_one_of(value: str, allowed: Sequence[str]) -> Text:
    names = ", ".join(allowed)
    return Text(zh=f"“{value}”无效,应为:{names}。", en=f"'{value}' is not one of: {names}.")


def text_error(value: str, max_length: int) -> Text | None:
    """A required free-text cell: present and not too long (in characters, not bytes)."""
    if not value:
        return REQUIRED
    if len(value) > max_length:
        return Text(zh=f"最长 {max_length} 个字符。", en=f"at most {max_length} characters.")
    return None


def name_cell(value: str, max_length: int) -> tuple[str, Text | None]:
    """A required name cell cleaned as a typed name is, and its problem (or None).

    The form layer's text hygiene (NFC; controls, bidirectional controls
    refused) and the name folds (middle dots as U+00B7). Text a spreadsheet
    would run as a formula is kept: exporting it safely is the export's job.
    """
    cleaned = clean_text(value, _CELL, name=True)
    if isinstance(cleaned, Text):
        return value, cleaned
    return cleaned, text_error(cleaned, max_length)


def parse_int(value: str, *, low: int, high: int | None = None) -> int | None:
    """``value`` as a whole number in range, or None. Only plain ASCII digits count."""
    if not value.isascii() or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    if number < low or (high is not None and number > high):
        return None
    return number


def id_number_valid(id_type: str, number: str) -> bool:
    """Whether ``number`` is well-formed for ``id_type`` (banking's document rules)."""
    return check_document(id_type, number) is None


def document_number_error(value: str) -> Text | None:
    """A legal representative's document number on file: any document type, so format only."""
    if not value:
        return REQUIRED
    if not value.isascii() or not value.isalnum() or len(value) > 32:
        return Text(
            zh="证件号码只能是最多 32 位字母和数字。",
            en="the ID number must be up to 32 letters and digits.",
        )
    return None


def _hard(problem: Problem | None) -> Text | None:
    """A problem that refuses an import row; approvable ones are the workflow's business."""
    return None if problem is None or problem.approvable else problem.message


def merchant_no_error(value: str) -> Text | None:
    return _hard(check_merchant_number(value)) if value else REQUIRED


def terminal_id_error(value: str) -> Text | None:
    return _hard(check_terminal_id(value)) if value else REQUIRED


def terminal_sn_error(value: str) -> Text | None:
    return _hard(check_terminal_sn(value)) if value else REQUIRED


def phone_error(value: str) -> Text | None:
    return _hard(check_mobile(value)) if value else REQUIRED


def uscc_format_error(value: str) -> Text | None:
    """Only a malformed code: early pilot codes that fail the check character are real."""
    return _hard(check_uscc(value)) if value else REQUIRED


def account_number_error(account_type: str, value: str) -> Text | None:
    """A card failing Luhn is kept (a supervisor confirms it); a malformed number is not."""
    if not value:
        return REQUIRED
    if account_type == "personal_card":
        return _hard(check_card_number(value))
    return _hard(check_corporate_account(value))
