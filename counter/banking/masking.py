"""Masking card, account, ID and phone numbers and names wherever they are shown.

How much stays visible is the bank's choice (``counter.config.MaskingPolicy``,
set by ``COUNTER_MASK_*``): by default card and account numbers keep their
first 6 and last 4 digits, ID numbers their first 3 and last 4, phone
numbers their first 3 and last 4, names their first character. Masking keeps
the length and never shows a whole value: when a value is too short for the
policy's head and tail, fewer characters stay visible, at most half of it.

A name is masked by the characters a reader sees, not by code units: a
rare character outside the Basic Multilingual Plane (𠮷, U+20BB7) or one
with a variation selector (葛󠄀, an ideographic variation sequence) stays
whole when it is the visible head and becomes one ``*`` when it is hidden.

``mask_text`` finds numbers inside free text (log lines, error messages)
and masks them; ``PIIMaskingFilter`` applies it to every log record that
passes a handler, so that no full number reaches a log.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Literal, get_args

from counter.banking._clean import compact
from counter.banking.phone import is_mobile, normalize_mobile
from counter.config import MaskingPolicy, get_settings

__all__ = [
    "PII_KINDS",
    "PIIMaskingFilter",
    "PiiKind",
    "mask",
    "mask_account",
    "mask_card",
    "mask_id",
    "mask_name",
    "mask_phone",
    "mask_text",
]

# ``text``: free text a person writes (a reason, a comment); any long number in it is masked.
PiiKind = Literal["card", "account", "id", "phone", "name", "text", "none"]
PII_KINDS: tuple[str, ...] = get_args(PiiKind)

# Digits, possibly in groups joined by one space or hyphen, and an ID number's final X.
_DIGIT_GROUPS = re.compile(r"\d+(?:[ \-]\d+)*[Xx]?")
_SEPARATOR = re.compile(r"([ \-])")
_SEPARATORS = " -"
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SHORTEST_MASKED_IN_TEXT = 11
_MOBILE = re.compile(r"1[3-9]\d{9}")


def _policy(policy: MaskingPolicy | None) -> MaskingPolicy:
    return policy if policy is not None else get_settings().masking


def _keep(value: str, head: int, tail: int) -> str:
    """``value`` with all but ``head`` leading and ``tail`` trailing characters as ``*``."""
    length = len(value)
    if length == 0:
        return value
    head, tail = max(head, 0), max(tail, 0)
    if head + tail >= length:
        visible = (length - 1) // 2
        tail = min(tail, visible)
        head = min(head, visible - tail)
    return value[:head] + "*" * (length - head - tail) + value[length - tail :]


_ZWJ = "\u200d"


def _characters(value: str) -> list[str]:
    """``value`` as the characters a reader sees: each base with its marks and selectors."""
    characters: list[str] = []
    for char in value:
        joins = characters and (
            unicodedata.category(char).startswith("M") or char == _ZWJ
            or characters[-1].endswith(_ZWJ)
        )
        if joins:
            characters[-1] += char
        else:
            characters.append(char)
    return characters


def mask_card(value: str, policy: MaskingPolicy | None = None) -> str:
    rules = _policy(policy)
    return _keep(compact(value, hyphens=True), rules.card_head, rules.card_tail)


def mask_account(value: str, policy: MaskingPolicy | None = None) -> str:
    """Corporate account numbers follow the card rule (DESIGN.md)."""
    return mask_card(value, policy)


def mask_id(value: str, policy: MaskingPolicy | None = None) -> str:
    rules = _policy(policy)
    return _keep(compact(value), rules.id_head, rules.id_tail)


def mask_phone(value: str, policy: MaskingPolicy | None = None) -> str:
    """A mobile number loses its country code first, so the head is the number's own."""
    rules = _policy(policy)
    number = normalize_mobile(value) if is_mobile(value) else compact(value, hyphens=True)
    return _keep(number, rules.phone_head, rules.phone_tail)


def mask_name(value: str, policy: MaskingPolicy | None = None) -> str:
    characters = _characters(value.strip())
    shown = _keep("x" * len(characters), _policy(policy).name_head, 0)
    return "".join(c if s == "x" else "*" for c, s in zip(characters, shown, strict=True))


def mask(value: str, kind: str, policy: MaskingPolicy | None = None) -> str:
    """``value`` masked as a ``kind`` (see ``PII_KINDS``); ``none`` shows it as it is.

    ``text`` is the one class that looks inside the string: a person may type
    a number into a reason, and only there is it masked wherever it stands.
    """
    if kind == "none":
        return value
    if kind == "text":
        return mask_text(value, policy)
    maskers = {
        "card": mask_card,
        "account": mask_account,
        "id": mask_id,
        "phone": mask_phone,
        "name": mask_name,
    }
    if kind not in maskers:
        raise ValueError(f"unknown masking kind {kind!r}; expected one of {PII_KINDS}")
    return maskers[kind](value, policy)


def _mask_number(number: str, rules: MaskingPolicy) -> str:
    """A number found in text, masked by what it looks like.

    Where it could be either of two kinds (11 digits: a phone or an account;
    15, 17 or 18 digits: an ID or a card), the stricter of the two rules applies.
    """
    if number[-1] in "Xx":
        digits = number[:-1]
        if len(digits) == 17:
            return _keep(number, rules.id_head, rules.id_tail)
        return _mask_number(digits, rules) + number[-1]
    length = len(number)
    for prefix in ("86", "0086"):
        if number.startswith(prefix) and _MOBILE.fullmatch(number, len(prefix)):
            return prefix + _keep(number[len(prefix) :], rules.phone_head, rules.phone_tail)
    if length == 11:
        head = min(rules.phone_head, rules.card_head)
        tail = min(rules.phone_tail, rules.card_tail)
    elif length in (15, 17, 18):
        head = min(rules.id_head, rules.card_head)
        tail = min(rules.id_tail, rules.card_tail)
    else:
        head, tail = rules.card_head, rules.card_tail
    return _keep(number, head, tail)


def _mask_written_number(written: str, rules: MaskingPolicy) -> str:
    """One number as written (separators kept), masked if it has 11 or more digits."""
    number = "".join(char for char in written if char not in _SEPARATORS)
    if len(number.rstrip("Xx")) < _SHORTEST_MASKED_IN_TEXT:
        return written
    masked = iter(_mask_number(number, rules))
    return "".join(char if char in _SEPARATORS else next(masked) for char in written)


def _glued(text: str, index: int) -> bool:
    return 0 <= index < len(text) and _ASCII_LETTER.match(text, index) is not None


def mask_text(text: str, policy: MaskingPolicy | None = None) -> str:
    """``text`` with every ID, card, account and phone number in it masked.

    Every run of 11 or more digits is masked, so a number of an unknown kind
    is never shown whole; shorter ones (amounts, dates, counts) are left.
    Numbers are often written in groups ("6222 0212 3456 7890 123",
    "138-0013-8000"): neighbouring groups of 3 to 8 digits count as one
    number, except a group glued to a Latin letter, which belongs to a word
    or a reference ("BJ001-2026-000042").
    """
    rules = _policy(policy)

    def replace(match: re.Match[str]) -> str:
        pieces = _SEPARATOR.split(match.group())  # group, separator, group, ...
        groups = pieces[0::2]
        joinable = [3 <= len(group.rstrip("Xx")) <= 8 for group in groups]
        if _glued(text, match.start() - 1):
            joinable[0] = False
        if _glued(text, match.end()):
            joinable[-1] = False
        masked: list[str] = []
        first = 0
        while first < len(groups):
            last = first + 1
            if joinable[first]:
                while last < len(groups) and joinable[last]:
                    last += 1
            masked.append(_mask_written_number("".join(pieces[2 * first : 2 * last - 1]), rules))
            if last < len(groups):
                masked.append(pieces[2 * last - 1])
            first = last
        return "".join(masked)

    return _DIGIT_GROUPS.sub(replace, text)


class PIIMaskingFilter(logging.Filter):
    """Masks numbers in log records: message, arguments, traceback and stack.

    Attach it to handlers (a filter on a logger does not see records from
    its children). The message is formatted here and its arguments dropped,
    because masking an argument cannot be done without changing its type
    (``%d`` with a card number). It never refuses a record.
    """

    def __init__(self, name: str = "", policy: MaskingPolicy | None = None) -> None:
        super().__init__(name)
        self.policy = policy

    def filter(self, record: logging.LogRecord) -> bool:
        rules = _policy(self.policy)
        try:
            message = record.getMessage()
        except Exception:  # logging itself would print msg and args unmasked to stderr
            message = f"{record.msg!s} (could not be formatted with {record.args!r})"
        record.msg = mask_text(message, rules)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, rules)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info, rules)
        return True
