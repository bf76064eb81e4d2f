from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.banking import USCC_ALPHABET, check_uscc, normalize_uscc, uscc_check_char

from .factories import USCC_CHARS, usccs


def code(value: str) -> str | None:
    problem = check_uscc(value)
    return None if problem is None else problem.code


def test_the_standard_example_is_valid() -> None:
    assert check_uscc("91110000600037341L") is None
    assert uscc_check_char("91110000600037341") == "L"


def test_lower_case_and_spaces_are_normalized() -> None:
    assert normalize_uscc(" 9111 0000 6000 3734 1l ") == "91110000600037341L"
    assert check_uscc("91110000600037341l") is None


def test_a_wrong_check_character_is_approvable_and_apart_from_a_malformed_code() -> None:
    wrong = check_uscc("91110000600037341M")
    assert wrong is not None and wrong.code == "uscc_check_char" and wrong.approvable
    malformed = check_uscc("9111000060003734")
    assert malformed is not None and malformed.code == "uscc_format" and not malformed.approvable


@pytest.mark.parametrize(
    "value",
    ["9111000060003734", "91110000600037341LL", "9111000060003734IL", "91110000600037341O", ""],
)
def test_malformed_codes(value: str) -> None:
    assert code(value) == "uscc_format"


def test_the_check_is_computed_on_the_alphabet_only() -> None:
    with pytest.raises(ValueError, match="alphabet"):
        uscc_check_char("9111000060003734I")


def test_the_alphabet_leaves_out_letters_read_as_digits() -> None:
    assert USCC_ALPHABET == USCC_CHARS
    assert not set("IOSVZ") & set(USCC_ALPHABET)


@settings(max_examples=200)
@given(usccs)
def test_generated_codes_pass(value: str) -> None:
    assert check_uscc(value) is None


@settings(max_examples=200)
@given(usccs, st.integers(0, 17), st.sampled_from(USCC_CHARS))
def test_mod_31_catches_every_single_substitution(value: str, position: int, new: str) -> None:
    changed = value[:position] + new + value[position + 1 :]
    if changed != value:
        assert code(changed) == "uscc_check_char"
