from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.banking import (
    AccountKind,
    account_kind,
    account_last4,
    check_card_number,
    check_corporate_account,
    luhn_check_digit,
    luhn_valid,
    normalize_account_number,
)

from .factories import cards, luhn_ok, with_luhn

UNIONPAY = with_luhn("622202123456789012")  # 19 digits, China UnionPay prefix
UNIONPAY_MISTYPED = UNIONPAY[:-1] + str((int(UNIONPAY[-1]) + 1) % 10)


def code(problem: object) -> str | None:
    return getattr(problem, "code", None)


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "5500000000000004", "6011111111111117", UNIONPAY, "4111 1111-1111 1111"],
)
def test_valid_cards(number: str) -> None:
    assert check_card_number(number) is None


def test_a_luhn_failure_is_approvable_and_apart_from_a_malformed_number() -> None:
    luhn = check_card_number("4111111111111112")
    assert luhn is not None and luhn.code == "card_luhn" and luhn.approvable
    malformed = check_card_number("411111111111111")
    assert malformed is not None and malformed.code == "card_format" and not malformed.approvable


@pytest.mark.parametrize("number", ["411111111111111", "4" * 20, "4111a11111111111", ""])
def test_malformed_cards(number: str) -> None:
    assert code(check_card_number(number)) == "card_format"


def test_luhn_digit() -> None:
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_valid(UNIONPAY) and luhn_ok(UNIONPAY)
    assert not luhn_valid(UNIONPAY_MISTYPED)
    assert not luhn_valid("0")
    assert not luhn_valid("41111x")
    with pytest.raises(ValueError, match="digits"):
        luhn_check_digit("4111 1111")


@pytest.mark.parametrize("number", ["11001018500059012345", "12345678", "1" * 32, "0200 0012 3456"])
def test_valid_corporate_accounts(number: str) -> None:
    assert check_corporate_account(number) is None


@pytest.mark.parametrize("number", ["1234567", "1" * 33, "1100A01850005901"])
def test_malformed_corporate_accounts(number: str) -> None:
    assert code(check_corporate_account(number)) == "account_format"


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("4111111111111111", AccountKind.CARD),
        (UNIONPAY_MISTYPED, AccountKind.CARD),
        ("11001018500059012345", AccountKind.CORPORATE),
        ("1234567812345678", AccountKind.CORPORATE),
        ("1234567", None),
        ("not a number", None),
    ],
)
def test_account_kind(number: str, kind: AccountKind | None) -> None:
    assert account_kind(number) == kind


def test_last4_and_normalization() -> None:
    assert normalize_account_number("６２２２ 0212-3456") == "622202123456"
    assert account_last4("6222 0212 3456 7890 123") == "0123"
    with pytest.raises(ValueError, match="8 digits"):
        account_last4("1234567")


@settings(max_examples=200)
@given(cards)
def test_generated_cards_pass(number: str) -> None:
    assert check_card_number(number) is None
    assert account_kind(number) is AccountKind.CARD


@settings(max_examples=200)
@given(cards, st.data())
def test_luhn_catches_every_single_digit_substitution(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(number) - 1))
    new = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    changed = number[:position] + new + number[position + 1 :]
    assert code(check_card_number(changed)) == "card_luhn"
