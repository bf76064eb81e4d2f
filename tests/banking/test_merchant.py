from __future__ import annotations

import pytest

from counter.banking import (
    MerchantNumber,
    NumberInvalid,
    check_merchant_number,
    check_terminal_id,
    check_terminal_sn,
    normalize_terminal_sn,
    parse_merchant_number,
)


def test_a_merchant_number_and_its_parts() -> None:
    assert parse_merchant_number(" 898 1100 5411 0001 ") == MerchantNumber(
        number="898110054110001", acquirer_code="898", area_code="1100", mcc="5411", sequence="0001"
    )
    assert check_merchant_number("898110054110001") is None


@pytest.mark.parametrize("value", ["89811005411000", "8981100541100012", "89811005411000A", ""])
def test_malformed_merchant_numbers(value: str) -> None:
    problem = check_merchant_number(value)
    assert problem is not None and problem.code == "merchant_no_format"
    with pytest.raises(NumberInvalid) as raised:
        parse_merchant_number(value, field="merchant")
    assert raised.value.fields[0].field == "merchant"


@pytest.mark.parametrize("value", ["12345678", "AB12CD34", "ab12cd34"])
def test_terminal_ids(value: str) -> None:
    assert check_terminal_id(value) is None


@pytest.mark.parametrize("value", ["1234567", "123456789", "1234-678", "终端1234567"])
def test_malformed_terminal_ids(value: str) -> None:
    problem = check_terminal_id(value)
    assert problem is not None and problem.code == "terminal_id_format"


@pytest.mark.parametrize("value", ["N7NL0001", "SN-2024_000123", "abcd", "A" * 32])
def test_terminal_serial_numbers(value: str) -> None:
    assert check_terminal_sn(value) is None


@pytest.mark.parametrize("value", ["ABC", "A" * 33, "SN#123", "SN.123", ""])
def test_malformed_terminal_serial_numbers(value: str) -> None:
    problem = check_terminal_sn(value)
    assert problem is not None and problem.code == "terminal_sn_format"


def test_serial_numbers_compare_normalized() -> None:
    assert normalize_terminal_sn(" sn-2024_000123 ") == normalize_terminal_sn("SN-2024_000123")
