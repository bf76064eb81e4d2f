"""Text hygiene: what any text a person types must satisfy before a form looks at it.

One rule for every free-text and name field, applied by ``validate_form``
(and by the imports, through ``counter.banking._typed_text``):

- the text is put in Unicode NFC, so that one name has one spelling
  (a decomposed ``ü`` and a composed one are the same name);
- lone surrogates (which no encoding can store), control characters (NUL,
  ESC, DEL, the C1 range; line breaks and tabs outside multi-line fields)
  and the bidirectional overrides and isolates (U+202A–U+202E,
  U+2066–U+2069, which make a terminal or a page show text in another
  order than it is stored) are refused, with the rule and the position;
- leading and trailing white space and invisible characters (U+200B and
  the other format characters) are removed, and text with no visible
  character left counts as empty, so a lone U+200B never satisfies
  "required".

The refusal is a ``TextRefused`` naming its rule (``code``); the caller
turns it into a field error with the field's label (``message``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from counter.errors import FieldError, InvalidInput
from counter.text import Text

__all__ = [
    "BIDI_CONTROLS",
    "TextRefused",
    "clean_field",
    "has_visible",
    "is_refused_character",
    "refuse_surrogates",
    "tidy_text",
]

BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
"""Embeddings, overrides and isolates: LRE RLE PDF LRO RLO, LRI RLI FSI PDI."""

_MULTILINE_ALLOWED = frozenset("\n\t")
_SUSPECT = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff"
    + "".join(chr(point) for point in sorted(BIDI_CONTROLS))
    + "]"
)
"""Every character some rule may refuse (category Cc is exactly U+0000–U+001F and
U+007F–U+009F): text without one skips the character-by-character checks."""
_VISIBLE_CLASSES = frozenset("LNPS")


@dataclass(frozen=True)
class TextRefused(Exception):
    """A typed text breaks one rule: ``code`` is the rule, ``char`` the first offender."""

    code: str
    char: str
    position: int
    """1-based, in characters of the text as typed."""

    def message(self, label: Text) -> Text:
        """The field error for a field labelled ``label``."""
        point = f"U+{ord(self.char):04X}"
        where_zh = f"第 {self.position} 个字符"
        where_en = f"character {self.position}"
        if self.code == "lone_surrogate":
            return Text(
                zh=f"{label.zh}{where_zh}({point})是无效字符(孤立代理项),请重新输入",
                en=f"{label.en} has an invalid character ({point}, a lone surrogate)"
                f" at {where_en}; please type it again",
            )
        if self.code == "bidi_control":
            return Text(
                zh=f"{label.zh}{where_zh}是双向文本控制符 {point},不能使用",
                en=f"{label.en} has the bidirectional control {point} at {where_en},"
                " which is not allowed",
            )
        return Text(
            zh=f"{label.zh}{where_zh}是控制字符 {point}(如换行、制表符、空字符),不能使用",
            en=f"{label.en} has the control character {point} (such as a line break,"
            f" a tab or NUL) at {where_en}, which is not allowed",
        )


def is_refused_character(char: str, *, multiline: bool = False) -> str | None:
    """The rule ``char`` breaks (``lone_surrogate``, ``control_character``,
    ``bidi_control``), or None."""
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return "lone_surrogate"
    if point in BIDI_CONTROLS:
        return "bidi_control"
    if unicodedata.category(char) == "Cc" and not (multiline and char in _MULTILINE_ALLOWED):
        return "control_character"
    return None


def _visible(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in _VISIBLE_CLASSES or category == "Co"  # private use: a bank's 造字


def has_visible(text: str) -> bool:
    """Whether ``text`` holds a character a reader can see (not only spaces and U+200B)."""
    return any(_visible(char) for char in text)


_EDGE_CONTROLS = frozenset(" \t\n\r\x0b\x0c")


def _invisible_edge(char: str) -> bool:
    """White space and invisible format characters, which are trimmed; a bidi control
    or another control character is refused wherever it is."""
    if char in _EDGE_CONTROLS:
        return True
    if ord(char) in BIDI_CONTROLS:
        return False
    return unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp")


def refuse_surrogates(value: str) -> None:
    """``TextRefused`` for the first lone surrogate of ``value`` (no encoding can store one);
    checked before anything that would encode the text."""
    for position, char in enumerate(value, start=1):
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise TextRefused("lone_surrogate", char, position)


def tidy_text(value: str, *, multiline: bool = False) -> str | None:
    """``value`` cleaned as the module docstring says; None when nothing visible is left.

    Raises ``TextRefused`` for the first refused character.
    """
    if _SUSPECT.search(value) is None:  # what is typed, nearly always: nothing to refuse
        start, end = _edges(value)
    else:
        refuse_surrogates(value)
        if multiline:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        start, end = _edges(value)
        for position, char in enumerate(value[start:end], start=start + 1):
            code = is_refused_character(char, multiline=multiline)
            if code is not None:
                raise TextRefused(code, char, position)
    text = unicodedata.normalize("NFC", value[start:end])
    return text if has_visible(text) else None


def _edges(value: str) -> tuple[int, int]:
    """Where ``value`` starts and ends once its invisible edges are trimmed."""
    start, end = 0, len(value)
    while start < end and _invisible_edge(value[start]):
        start += 1
    while end > start and _invisible_edge(value[end - 1]):
        end -= 1
    return start, end


def clean_field(value: str, *, field: str, label: Text) -> str | None:
    """``tidy_text`` for one typed value outside a form: ``InvalidInput`` with a field error
    on ``field`` (labelled ``label``) when it breaks a rule."""
    try:
        return tidy_text(value)
    except TextRefused as refused:
        raise InvalidInput(
            Text(zh=f"{label.zh}有误", en=f"{label.en} needs correcting"),
            fields=[FieldError(field=field, code=refused.code, message=refused.message(label))],
        ) from None
