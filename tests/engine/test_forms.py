"""Form validation: types, required, required_if, lengths, choices, validators, secrets."""

from __future__ import annotations

from typing import Any

import pytest

from counter.engine.definition import FieldDefinition, FormDefinition
from counter.engine.forms import DEFAULT_MAX_LENGTH, REJECT_FORM, validate_form
from counter.engine.parsing import load_form
from counter.errors import FieldError, InvalidInput
from counter.text import Text

from .parcel import FORMS, parcel_registry

IDENTITY_FORM = load_form(FORMS / "pickup_identity.yaml")
CODE_FORM = load_form(FORMS / "pickup_code.yaml")
BASE = {"id_number": "110105", "recipient_name": "Li Lei", "acting_as": "self"}


def errors(form: FormDefinition, data: dict[str, Any]) -> dict[str, FieldError]:
    with pytest.raises(InvalidInput) as caught:
        validate_form(form, data, parcel_registry())
    return {e.field: e for e in caught.value.fields}


def valid(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    return dict(validate_form(form, data, parcel_registry()).values)


def test_whitespace_is_stripped_and_blank_means_missing() -> None:
    assert valid(IDENTITY_FORM, {**BASE, "recipient_name": "  Li Lei \n", "fee": " "}) == BASE
    assert set(errors(IDENTITY_FORM, {**BASE, "recipient_name": "   "})) == {"recipient_name"}


def test_required_messages_are_bilingual() -> None:
    found = errors(IDENTITY_FORM, {})
    assert found["id_number"].message == Text(zh="证件号码为必填项", en="ID number is required")
    assert found["id_number"].code == "required"
    assert set(found) == {"id_number", "recipient_name", "acting_as"}


def test_required_if_follows_the_other_field() -> None:
    assert set(errors(IDENTITY_FORM, {**BASE, "acting_as": "proxy"})) == {"proxy_letter_expiry"}
    proxy = {**BASE, "acting_as": "proxy", "proxy_letter_expiry": "long_term"}
    assert valid(IDENTITY_FORM, proxy)["proxy_letter_expiry"] == "long_term"


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("birth_date", "1990-02-28", "1990-02-28"),
        ("proxy_letter_expiry", "2030-12-31", "2030-12-31"),
        ("parcels", "3", 3),
        ("parcels", 4, 4),
        ("parcels", "-2", -2),
        ("fee", "12.5", 1250),
        ("fee", "1,234.56", 123456),
        ("fee", 7, 700),
    ],
)
def test_values_are_converted(name: str, raw: Any, expected: Any) -> None:
    assert valid(IDENTITY_FORM, {**BASE, name: raw})[name] == expected


@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [
        ("birth_date", "1990-02-30", "date"),
        ("birth_date", "1990-2-3", "date"),
        ("birth_date", "19900203", "date"),
        ("proxy_letter_expiry", "forever", "date"),
        ("parcels", "2.5", "integer"),
        ("fee", "1.234", "money"),
        ("fee", "-3", "money"),
        ("acting_as", "friend", "choice"),
        ("recipient_name", ["a"], "type"),
        ("recipient_name", True, "type"),
        ("recipient_name", "x" * (DEFAULT_MAX_LENGTH + 1), "too_long"),
        ("id_number", "1" * 19, "too_long"),
        ("id_number", "11a", "digits_only"),
    ],
)
def test_bad_values_are_refused(name: str, raw: Any, code: str) -> None:
    assert errors(IDENTITY_FORM, {**BASE, name: raw})[name].code == code


def test_unknown_fields_are_refused() -> None:
    found = errors(IDENTITY_FORM, {**BASE, "is_admin": "1"})
    assert found["is_admin"].code == "unknown_field"
    assert errors_without_form()["anything"].code == "unknown_field"


def errors_without_form() -> dict[str, FieldError]:
    with pytest.raises(InvalidInput) as caught:
        validate_form(None, {"anything": 1}, parcel_registry())
    return {e.field: e for e in caught.value.fields}


def test_secret_fields_reach_checks_but_are_not_stored() -> None:
    result = validate_form(CODE_FORM, {"code": "12AB", "pin": "s3cret"}, parcel_registry())
    assert result.values == {"code": "12AB", "pin": "s3cret"}
    assert result.stored == {}
    assert errors(CODE_FORM, {"code": "12 34"})["code"].code == "code"


def test_validators_see_the_whole_form() -> None:
    registry = parcel_registry()
    seen: list[dict[str, Any]] = []

    @registry.validator("remember")
    def remember(value: Any, form: Any) -> Text | None:
        seen.append(dict(form))
        return None

    form = FormDefinition(
        name="f",
        title=Text(zh="表", en="F"),
        fields=(
            FieldDefinition(name="a", label=Text(zh="甲", en="A"), validators=("remember",)),
            FieldDefinition(name="b", label=Text(zh="乙", en="B"), type="integer"),
        ),
    )
    validate_form(form, {"a": "x", "b": "2"}, registry)
    assert seen == [{"a": "x", "b": 2}]


def test_reject_form_requires_a_reason() -> None:
    assert errors(REJECT_FORM, {})["reason"].message.en == "Reason is required"


def test_data_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInput, match="map field names"):
        validate_form(IDENTITY_FORM, ["id_number"], parcel_registry())  # type: ignore[arg-type]
