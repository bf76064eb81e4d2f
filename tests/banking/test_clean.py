"""Names and numbers as people write them: middle dots, full-width digits, hygiene of imports."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import counter.banking.rules  # noqa: F401  (registers the banking names)
from counter.banking._clean import MIDDLE_DOT, fold_number, normalize_name
from counter.banking._typed_text import clean_text
from counter.banking.rules._support import same_name
from counter.config import PROJECT_ROOT
from counter.engine.forms import validate_form
from counter.engine.parsing import load_form
from counter.engine.registry import default_registry
from counter.errors import InvalidInput
from counter.text import Text

IDENTITY = load_form(PROJECT_ROOT / "forms" / "identity.yaml")

LABEL = Text(zh="商户名称", en="Merchant name")


@pytest.mark.parametrize("dot", ["\u2022", "\u30fb", "\uff0e", "\u2027", "\u00b7", "\uff65"])
def test_every_middle_dot_of_a_minority_name_becomes_u00b7(dot: str) -> None:
    assert normalize_name(f"阿依古丽{dot}买买提") == "阿依古丽·买买提"
    assert normalize_name(f"艾力 {dot} 买买提 {dot}  吐尔逊") == "艾力·买买提·吐尔逊"
    assert same_name(f"阿依古丽{dot}买买提", "阿依古丽·买买提")


def test_full_width_latin_in_a_name_and_digits_in_a_number_are_ascii() -> None:
    assert normalize_name("ＭＡＲＹ\u3000ＳＭＩＴＨ") == "MARY SMITH"
    assert fold_number("６２２２ ０２１２-３４５６") == "622202123456"


def test_rare_characters_and_compatibility_ideographs_of_a_name_are_kept() -> None:
    for name in ("𠮷祥五金店", "\ufa11田", "\U0003106c", "葛\U000e0100亮"):
        assert normalize_name(name) == name


def test_an_import_cell_breaks_the_same_rules_as_a_form_field() -> None:
    message = clean_text("张三\u202e", LABEL)
    assert isinstance(message, Text) and "U+202E" in message.en
    assert clean_text("\u200b", LABEL) == ""
    assert clean_text(" 阿依古丽•买买提 ", LABEL, name=True) == "阿依古丽·买买提"


@settings(deadline=None)
@given(st.text(max_size=30))
def test_a_normalised_name_has_only_u00b7_as_its_middle_dot(name: str) -> None:
    folded = normalize_name(name)
    assert normalize_name(folded) == folded
    assert not set(folded) & set("\u2022\u2027\u30fb\uff0e")
    assert folded.count(MIDDLE_DOT) <= name.count(MIDDLE_DOT) + sum(
        name.count(d) for d in "\u2022\u2027\u30fb\uff0e\uff65\u2219\u22c5\u2e31\u0387"
    )


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id_type", "id_number", "name", "id_expiry", "acting_as", "mandate_ref"]),
        st.text(max_size=40),
    )
)
def test_any_typed_text_on_the_identity_form_is_accepted_or_refused_by_field(
    data: dict[str, str],
) -> None:
    try:
        stored = validate_form(IDENTITY, data, default_registry).stored
    except InvalidInput as refused:
        assert refused.fields
        assert all(f.field in data or f.code == "required" for f in refused.fields)
        for error in refused.fields:
            error.message.zh.encode("utf-8")
            error.message.en.encode("utf-8")
        return
    for value in stored.values():
        assert not isinstance(value, str) or unicodedata.is_normalized("NFC", value)
    assert MIDDLE_DOT in stored.get("name", MIDDLE_DOT) or "\u30fb" not in data.get("name", "")
