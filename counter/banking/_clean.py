"""Cleaning what a teller typed before a number is checked.

Tellers type on Chinese input methods, which produce full-width digits and
letters (``１１０１``, ``Ｘ``) and stray spaces; NFKC folds those to ASCII so
that the checks see the number the customer actually holds.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_WHITESPACE_AND_HYPHENS = re.compile(r"[\s\-]+")


def compact(value: str, *, hyphens: bool = False, upper: bool = True) -> str:
    """``value`` folded to ASCII where possible, without whitespace (and hyphens)."""
    folded = unicodedata.normalize("NFKC", value)
    pattern = _WHITESPACE_AND_HYPHENS if hyphens else _WHITESPACE
    cleaned = pattern.sub("", folded)
    return cleaned.upper() if upper else cleaned
