"""The form layer's text hygiene for text that does not come through a form (import files).

Same rules and messages as ``counter.engine.cleaning`` (NFC; controls,
bidirectional controls and lone surrogates refused; nothing visible is
empty), with names folded as ``normalize_name`` folds them.
"""

from __future__ import annotations

from counter.banking._clean import normalize_name
from counter.engine.cleaning import TextRefused, tidy_text
from counter.text import Text

__all__ = ["clean_text"]


def clean_text(value: str, label: Text, *, name: bool = False) -> str | Text:
    """``value`` tidied (and folded as a name), or the message saying which rule it breaks.

    An empty result is ``""``: whether that is allowed is the caller's rule.
    """
    try:
        text = tidy_text(value)
    except TextRefused as refused:
        return refused.message(label)
    if text is None:
        return ""
    return normalize_name(text) if name else text
