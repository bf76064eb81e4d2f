"""``counter.audit._format``: spreadsheet escaping and one spelling per record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from counter.audit._format import escape_cell, unescape_cell


@given(st.text())
def test_escaping_is_undone_exactly(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value


@given(st.text())
def test_no_escaped_cell_starts_like_a_formula(value: str) -> None:
    assert escape_cell(value)[:1] not in {"=", "+", "-", "@", "\t", "\r"}


def test_the_classic_injection_is_neutralised() -> None:
    assert escape_cell("=cmd|'/c calc'!A1") == "'=cmd|'/c calc'!A1"
    assert escape_cell("-5") == "'-5" and escape_cell("'quoted") == "''quoted"
    assert escape_cell("BJ001") == "BJ001" and escape_cell("") == ""
