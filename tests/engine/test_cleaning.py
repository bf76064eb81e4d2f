"""Text hygiene of every typed text: NFC, refused characters, visible content, registered folds."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.engine.cleaning import BIDI_CONTROLS, TextRefused, has_visible, tidy_text
from counter.engine.definition import FieldDefinition, FormDefinition
from counter.engine.forms import REJECT_FORM, validate_form
from counter.engine.registry import Registry
from counter.errors import InvalidInput
from counter.text import Text

NAME = FieldDefinition(name="name", label=Text(zh="姓名", en="Name"), required=True, pii="name")
NUMBER = FieldDefinition(
    name="merchant_no",
    label=Text(zh="商户编号", en="Merchant number"),
    validators=("digits",),
)
NOTE = FieldDefinition(name="note", label=Text(zh="备注", en="Note"))
CODE = FieldDefinition(name="code", label=Text(zh="验证码", en="Code"), type="code")
FORM = FormDefinition(
    name="person", title=Text(zh="人", en="Person"), fields=(NAME, NUMBER, NOTE, CODE)
)


def registry() -> Registry:
    found = Registry()
    found.normalizer("name")(lambda text: text.replace("\u30fb", "\u00b7"))

    @found.validator("digits", normalize=lambda text: text.replace(" ", ""))
    def digits(value: Any, form: Any) -> Text | None:
        return None if str(value).isdigit() else Text(zh="只能是数字", en="digits only")

    return found


def submit(data: dict[str, Any], form: FormDefinition = FORM) -> dict[str, Any]:
    return dict(validate_form(form, data, registry()).stored)


def refused(data: dict[str, Any], form: FormDefinition = FORM) -> dict[str, tuple[str, Text]]:
    with pytest.raises(InvalidInput) as caught:
        validate_form(form, data, registry())
    return {e.field: (e.code, e.message) for e in caught.value.fields}


@pytest.mark.parametrize(
    ("char", "rule"),
    [
        ("\x00", "control_character"),
        ("\x1b", "control_character"),
        ("\r", "control_character"),
        ("\n", "control_character"),
        ("\x7f", "control_character"),
        ("\x85", "control_character"),
        ("\u202e", "bidi_control"),
        ("\u2066", "bidi_control"),
        ("\ud800", "lone_surrogate"),
        ("\udfff", "lone_surrogate"),
    ],
)
def test_a_refused_character_inside_a_field_is_a_field_error_naming_the_rule(
    char: str, rule: str
) -> None:
    found = refused({"name": f"张{char}三"})
    code, message = found["name"]
    assert code == rule
    assert f"U+{ord(char):04X}" in message.en and f"U+{ord(char):04X}" in message.zh
    assert message.zh.startswith("姓名第 2 个字符") and "character 2" in message.en


def test_the_journal_injection_of_the_issue_is_refused_in_every_text_field() -> None:
    found = refused({"name": "李四", "note": "ok\u202egnp.exe", "code": "12\x1b[2J"})
    assert {field: code for field, (code, _) in found.items()} == {
        "note": "bidi_control",
        "code": "control_character",
    }


def test_a_reason_may_span_lines_but_not_hold_other_controls() -> None:
    reason = validate_form(REJECT_FORM, {"reason": "证件过期\r\n请补办"}, registry()).stored
    assert reason == {"reason": "证件过期\n请补办"}
    found = refused({"reason": "a\x00b"}, REJECT_FORM)
    assert found["reason"][0] == "control_character"


@pytest.mark.parametrize("blank", ["\u200b", " \u200b ", "\u3000", "\ufeff", "\u2060\u200d"])
def test_required_means_something_visible(blank: str) -> None:
    assert refused({"name": blank})["name"][0] == "required"
    assert refused({"reason": blank}, REJECT_FORM)["reason"][0] == "required"


def test_text_is_stored_in_nfc_and_counted_in_characters() -> None:
    decomposed = "Zoe\u0308 \u00b7 Ame\u0301lie"
    assert submit({"name": decomposed})["name"] == unicodedata.normalize("NFC", decomposed)
    rare = "𠮷" * 50  # 50 characters, 200 bytes in UTF-8, 100 UTF-16 units
    assert submit({"name": rare})["name"] == rare
    limited = FieldDefinition(name="name", label=NAME.label, pii="name", max_length=50)
    form = FormDefinition(name="p", title=FORM.title, fields=(limited,))
    assert submit({"name": rare}, form)["name"] == rare
    assert refused({"name": rare + "𠮷"}, form)["name"][0] == "too_long"


def test_a_name_field_holds_at_least_50_characters() -> None:
    with pytest.raises(ValueError, match="at least 50"):
        FieldDefinition(name="name", label=NAME.label, pii="name", max_length=32)


def test_registered_folds_apply_by_pii_class_and_validator() -> None:
    stored = submit({"name": "阿依古丽・买买提", "merchant_no": "123 456", "code": "１２３４５６"})
    assert stored == {"name": "阿依古丽·买买提", "merchant_no": "123456", "code": "123456"}


def test_an_unknown_field_named_with_a_lone_surrogate_is_reported_encodably() -> None:
    found = refused({"name": "李四", "\udc80x": "1"})
    [field] = found
    assert found[field][0] == "unknown_field"
    field.encode("utf-8")
    found[field][1].en.encode("utf-8")


_TEXT = st.text(st.characters(codec=None, exclude_categories=("Cs",)), max_size=30) | st.text(
    max_size=30
)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_tidied_text_is_nfc_visible_and_free_of_refused_characters(value: str) -> None:
    try:
        text = tidy_text(value)
    except TextRefused as refused_text:
        assert value[refused_text.position - 1] == refused_text.char
        return
    if text is None:
        assert not has_visible(unicodedata.normalize("NFC", value))
        return
    assert unicodedata.is_normalized("NFC", text)
    assert has_visible(text)
    assert text == text.strip()
    assert not any(
        unicodedata.category(c) in ("Cc", "Cs") or ord(c) in BIDI_CONTROLS for c in text
    )
    assert tidy_text(text) == text  # idempotent


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20), st.sampled_from(["\x00", "\x1b", "\u202e", "\ud800", "\n"]))
def test_any_text_with_a_refused_character_inside_is_refused(value: str, bad: str) -> None:
    with pytest.raises(TextRefused):
        tidy_text("a" + value + bad + value + "b")


def test_a_password_is_kept_as_typed_but_never_with_a_lone_surrogate() -> None:
    secret = FieldDefinition(
        name="password", label=Text(zh="密码", en="Password"), type="password", secret=True
    )
    form = FormDefinition(name="signoff", title=FORM.title, fields=(secret,))
    assert validate_form(form, {"password": " pa\u202ess "}, registry()).values == {
        "password": "pa\u202ess"
    }
    assert refused({"password": "pa\ud800"}, form)["password"][0] == "lone_surrogate"
