from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.banking import (
    DocumentType,
    NumberInvalid,
    Sex,
    check_document,
    is_chinese_passport,
    resident_id_check_char,
    validate_document,
)
from counter.errors import InvalidInput

from .factories import TODAY, mod11_2, permit_numbers, resident_id, resident_ids

RESIDENT = "resident_id"
PERMIT = "hk_mo_tw_residence_permit"


def code(id_type: str, number: str) -> str | None:
    problem = check_document(id_type, number, today=TODAY)
    return None if problem is None else problem.code


def test_the_standard_example_is_valid_and_parsed() -> None:
    document = validate_document(RESIDENT, "11010519491231002X", today=TODAY)
    assert document.id_type is DocumentType.RESIDENT_ID
    assert document.number == "11010519491231002X"
    assert document.birth_date == date(1949, 12, 31)
    assert document.sex is Sex.FEMALE  # sequence 002
    assert document.area_code == "110105"
    assert document.region is None


@pytest.mark.parametrize(
    "typed",
    ["11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ"],
)
def test_lowercase_x_spaces_and_full_width_characters_are_normalized(typed: str) -> None:
    assert validate_document(RESIDENT, typed, today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("110105194912310021", "id_check_char"),
        ("110105491231002", "id_legacy_15"),
        ("110105194913310026", "id_birth_date"),  # month 13
        ("110105194902300029", "id_birth_date"),  # 30 February
        ("110105189912310024", "id_birth_date"),  # before 1900
        ("11010520991231002X", "id_birth_future"),
        ("11010519491231002", "id_format"),
        ("1101051949123100211", "id_format"),
        ("11010519491231X021", "id_format"),
        ("", "id_format"),
        ("990105194912310025", "id_area_code"),
        ("810000199001010010", "id_area_code"),  # a residence permit typed as an ID card
    ],
)
def test_resident_id_problems(number: str, expected: str) -> None:
    assert code(RESIDENT, number) == expected


def test_the_birth_date_is_judged_against_the_given_day() -> None:
    born_tomorrow = resident_id("110105", date(2026, 11, 26), 11)
    assert code(RESIDENT, born_tomorrow) == "id_birth_future"
    assert check_document(RESIDENT, born_tomorrow, today=date(2026, 11, 26)) is None


def test_the_legacy_message_says_why_and_what_to_ask_for() -> None:
    problem = check_document(RESIDENT, "110105491231002", today=TODAY)
    assert problem is not None
    assert "15" in problem.message.zh and "18" in problem.message.zh
    assert "check digit" in problem.message.en and "18-digit" in problem.message.en


def test_validate_document_raises_an_invalid_input_with_one_field_error() -> None:
    with pytest.raises(NumberInvalid) as raised:
        validate_document(RESIDENT, "110105194912310021", today=TODAY, field="principal_id_number")
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.problem.code == "id_check_char"
    [field_error] = raised.value.fields
    assert (field_error.field, field_error.code) == ("principal_id_number", "id_check_char")


def test_an_unknown_document_type_names_the_type_field() -> None:
    assert code("driving_licence", "11010519491231002X") == "id_type_unknown"
    with pytest.raises(NumberInvalid) as raised:
        validate_document("driving_licence", "11010519491231002X")
    assert raised.value.fields[0].field == "id_type"


def test_the_check_character_table() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    with pytest.raises(ValueError, match="17"):
        resident_id_check_char("1101051949123100")


@pytest.mark.parametrize(("area", "region"), [("810000", "hk"), ("820000", "mo"), ("830000", "tw")])
def test_residence_permits(area: str, region: str) -> None:
    number = resident_id(area, date(1990, 1, 1), 1)
    document = validate_document(PERMIT, number, today=TODAY)
    assert document.region == region
    assert (document.sex, document.birth_date) == (Sex.MALE, date(1990, 1, 1))
    assert code(RESIDENT, number) == "id_area_code"


def test_a_residence_permit_needs_its_own_area_codes() -> None:
    assert code(PERMIT, "11010519491231002X") == "id_area_code"
    assert code(PERMIT, "810000900101001") == "id_format"  # no legacy permits exist


@pytest.mark.parametrize(
    ("number", "region"),
    [("H12345678", "hk"), ("M1234567890", "mo"), ("h 1234 5678", "hk")],
)
def test_travel_permits(number: str, region: str) -> None:
    assert validate_document("travel_permit_hk_mo", number).region == region


@pytest.mark.parametrize("number", ["H1234567", "H123456789", "C12345678", "12345678", "HA2345678"])
def test_malformed_travel_permits(number: str) -> None:
    assert code("travel_permit_hk_mo", number) == "travel_permit_format"


@pytest.mark.parametrize("number", ["E12345678", "EA1234567", "G12345678"])
def test_chinese_passports(number: str) -> None:
    assert is_chinese_passport(number)
    assert validate_document("passport", number).number == number


@pytest.mark.parametrize("number", ["X1234567", "k0123456789", "AB123"])
def test_foreign_passports(number: str) -> None:
    assert not is_chinese_passport(number)
    assert validate_document("passport", number).number == number.upper()


@pytest.mark.parametrize("number", ["AB12", "A" * 21, "AB-12345", "护照123456"])
def test_malformed_passports(number: str) -> None:
    assert code("passport", number) == "passport_format"


@settings(max_examples=200)
@given(resident_ids)
def test_generated_resident_ids_pass(number: str) -> None:
    document = validate_document(RESIDENT, number, today=TODAY)
    assert document.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert document.sex is (Sex.MALE if int(number[16]) % 2 else Sex.FEMALE)


@settings(max_examples=200)
@given(permit_numbers)
def test_generated_residence_permits_pass(number: str) -> None:
    assert check_document(PERMIT, number, today=TODAY) is None


@settings(max_examples=200)
@given(resident_ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_changed_character_is_refused(number: str, position: int, new: str) -> None:
    changed = number[:position] + new + number[position + 1 :]
    if changed != number:
        assert check_document(RESIDENT, changed, today=TODAY) is not None


@settings(max_examples=200)
@given(st.text("0123456789", min_size=17, max_size=17), st.integers(0, 16), st.integers(1, 9))
def test_mod_11_2_catches_every_single_digit_substitution(
    first17: str, position: int, shift: int
) -> None:
    new = str((int(first17[position]) + shift) % 10)
    changed = first17[:position] + new + first17[position + 1 :]
    assert resident_id_check_char(first17) == mod11_2(first17)
    assert resident_id_check_char(changed) != resident_id_check_char(first17)
