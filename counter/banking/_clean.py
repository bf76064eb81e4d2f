"""Cleaning what a teller typed (or an acquirer's file holds) before it is checked or kept.

Tellers type on Chinese input methods, which produce full-width digits and
letters (``１１０１``, ``Ｘ``) and stray spaces; NFKC folds those to ASCII so
that the checks see the number the customer actually holds (``compact``).

Names are written as people write them: minority names join their parts
with the middle dot, which arrives as any of several look-alikes (``•``
U+2022, ``・`` U+30FB, ``．`` U+FF0E, ``‧`` U+2027 ...); the 2016 notice on
minority names (民委发〔2016〕33号) asks for U+00B7, so ``normalize_name``
folds them to it. Names are not NFKC-folded as a whole: that would also
replace characters a name may legitimately hold.

This module imports nothing of the engine: slips and masking use it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MIDDLE_DOT",
    "compact",
    "fold_number",
    "normalize_name",
]

MIDDLE_DOT = "\u00b7"
_DOT_LOOKALIKES = "\u2022\u2027\u30fb\uff0e\uff65\u2219\u22c5\u2e31\u0387\u00b7"
_DOTS = re.compile(rf"\s*[{_DOT_LOOKALIKES}]\s*")
_WHITESPACE = re.compile(r"\s+")
_WHITESPACE_AND_HYPHENS = re.compile(r"[\s\-]+")
_FULL_WIDTH_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH_ASCII[0x3000] = 0x20  # the ideographic space


def compact(value: str, *, hyphens: bool = False, upper: bool = True) -> str:
    """``value`` folded to ASCII where possible, without whitespace (and hyphens)."""
    folded = unicodedata.normalize("NFKC", value)
    pattern = _WHITESPACE_AND_HYPHENS if hyphens else _WHITESPACE
    cleaned = pattern.sub("", folded)
    return cleaned.upper() if upper else cleaned


def fold_number(value: str) -> str:
    """A number as typed (ID, card, account, phone): ASCII, without spaces or hyphens."""
    return compact(value, hyphens=True)


def normalize_name(value: str) -> str:
    """A person's or merchant's name: middle dots as U+00B7, full-width Latin as ASCII,
    runs of spaces as one."""
    name = _DOTS.sub(MIDDLE_DOT, value).translate(_FULL_WIDTH_ASCII)
    return _WHITESPACE.sub(" ", name).strip()
