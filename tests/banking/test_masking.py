from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.banking import (
    PII_KINDS,
    PIIMaskingFilter,
    mask,
    mask_account,
    mask_card,
    mask_id,
    mask_name,
    mask_phone,
    mask_text,
)
from counter.config import MaskingPolicy

from .factories import cards, resident_ids

DEFAULT = MaskingPolicy()
CARD = "6222021234567890123"
ID = "11010519491231002X"
PHONE = "13800138000"
LONG_DIGIT_RUN = re.compile(r"\d{11,}")


def visible(masked: str) -> int:
    return sum(char != "*" for char in masked)


def test_defaults() -> None:
    assert mask_card(CARD, DEFAULT) == "622202*********0123"
    assert mask_account("1100 1018 5000 5901 2345", DEFAULT) == "110010**********2345"
    assert mask_id(ID, DEFAULT) == "110***********002X"
    assert mask_id("11010519491231002x", DEFAULT) == "110***********002X"
    assert mask_phone(PHONE, DEFAULT) == "138****8000"
    assert mask_phone("+86 138-0013-8000", DEFAULT) == "138****8000"
    assert mask_name("张三丰", DEFAULT) == "张**"
    assert mask_name("欧阳娜娜", DEFAULT) == "欧***"


def test_the_bank_sets_the_policy() -> None:
    strict = MaskingPolicy(card_head=0, card_tail=4, id_head=0, id_tail=0, name_head=0)
    assert mask_card(CARD, strict) == "*" * 15 + "0123"
    assert mask_id(ID, strict) == "*" * 18
    assert mask_name("张三", strict) == "**"


def test_the_policy_comes_from_settings_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from counter.config import get_settings

    monkeypatch.setenv("COUNTER_MASK_CARD_HEAD", "4")
    get_settings.cache_clear()
    try:
        assert mask_card(CARD) == "6222***********0123"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        ("1", "*"),
        ("12", "**"),
        ("123", "**3"),
        ("1234567", "****567"),
        ("12345678901", "123456*8901"),
    ],
)
def test_short_values_are_never_shown_whole(value: str, masked: str) -> None:
    assert mask_card(value, DEFAULT) == masked
    assert mask_name("张", DEFAULT) == "*"


def test_mask_by_kind() -> None:
    assert mask(CARD, "card", DEFAULT) == mask_card(CARD, DEFAULT)
    assert mask(ID, "id", DEFAULT) == mask_id(ID, DEFAULT)
    assert mask("张三丰", "name", DEFAULT) == "张**"
    assert mask("商户A", "none", DEFAULT) == "商户A"
    assert set(PII_KINDS) == {"card", "account", "id", "phone", "name", "text", "none"}
    with pytest.raises(ValueError, match="unknown masking kind"):
        mask(CARD, "secret", DEFAULT)


policies = st.builds(
    MaskingPolicy,
    card_head=st.integers(0, 12),
    card_tail=st.integers(0, 12),
    id_head=st.integers(0, 12),
    id_tail=st.integers(0, 12),
    phone_head=st.integers(0, 12),
    phone_tail=st.integers(0, 12),
    name_head=st.integers(0, 4),
)
HEAD_TAIL = {
    "card": ("card_head", "card_tail"),
    "account": ("card_head", "card_tail"),
    "id": ("id_head", "id_tail"),
    "phone": ("phone_head", "phone_tail"),
}


@settings(max_examples=200)
@given(
    st.text("0123456789ABCXYZ张三丰", min_size=1, max_size=40),
    st.sampled_from(["card", "account", "id", "phone", "name"]),
    policies,
)
def test_masking_never_leaks_more_than_the_policy_nor_the_whole_value(
    value: str, kind: str, policy: MaskingPolicy
) -> None:
    masked = mask(value, kind, policy)
    head_field, tail_field = HEAD_TAIL.get(kind, ("name_head", None))
    head = getattr(policy, head_field)
    tail = getattr(policy, tail_field) if tail_field else 0
    shown = re.fullmatch(r"([^*]*)\*+([^*]*)", masked)
    assert shown is not None, masked  # one masked stretch, never the whole value
    assert len(shown.group(1)) <= head and len(shown.group(2)) <= tail
    assert value.startswith(shown.group(1)) or kind == "phone"  # phone drops a leading 86
    assert value.endswith(shown.group(2))


def test_mask_text_finds_numbers_in_a_sentence() -> None:
    line = (
        f"unbind card {CARD} for {ID}, code sent to +86 138 0013 8000 and 8613800138000; "
        "case BJ001-2026-000042 at 2026-11-25 18:29:34, amount 1234500"
    )
    assert mask_text(line, DEFAULT) == (
        "unbind card 622202*********0123 for 110***********002X, code sent to +86 138 **** 8000 "
        "and 86138****8000; case BJ001-2026-000042 at 2026-11-25 18:29:34, amount 1234500"
    )


def test_mask_text_masks_numbers_written_in_groups() -> None:
    assert mask_text("6222 0212 3456 7890 123", DEFAULT) == "6222 02** **** ***0 123"
    assert mask_text("110105 19491231 002x", DEFAULT) == "110*** ******** 002x"


def test_ambiguous_numbers_get_the_stricter_rule() -> None:
    legacy_id_or_card = "110105491231002"
    assert mask_text(legacy_id_or_card, DEFAULT) == "110********1002"
    assert mask_text("20261125000", DEFAULT) == "202****5000"


digit_heavy_text = st.text(
    st.sampled_from(list("0123456789") * 6 + list(" -xX+ab张:,") + ["\u0663", "\uff11"]),
    max_size=120,
)


@settings(max_examples=200)
@given(digit_heavy_text)
def test_mask_text_leaves_no_long_digit_run(text: str) -> None:
    masked = mask_text(text, DEFAULT)
    assert LONG_DIGIT_RUN.search(masked) is None
    assert len(masked) == len(text)


@settings(max_examples=200)
@given(
    st.one_of(cards, resident_ids), st.text(" ab张:,", max_size=5), st.text("ab张:,", max_size=5)
)
def test_numbers_in_text_never_show_more_than_head_and_tail(
    number: str, before: str, after: str
) -> None:
    masked = mask_text(before + number + after, DEFAULT)
    assert number not in masked
    shown = masked[len(before) : len(before) + len(number)]
    assert visible(shown) <= DEFAULT.card_head + DEFAULT.card_tail


@pytest.fixture
def masked_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PIIMaskingFilter(policy=DEFAULT))
    logger = logging.getLogger("tests.banking.masked")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_log_records_are_masked(masked_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = masked_log
    logger.info("unbind %s for %s", CARD, ID)
    logger.info("card as a number %d", int(CARD))
    logger.info(f"phone {PHONE} in the message itself")
    logger.info("a bad format %d", CARD)
    output = stream.getvalue()
    for number in (CARD, ID, PHONE):
        assert number not in output
    assert LONG_DIGIT_RUN.search(output) is None
    assert "622202*********0123" in output and "138****8000" in output


def test_tracebacks_are_masked(masked_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = masked_log
    try:
        raise RuntimeError(f"acquirer refused {CARD}")
    except RuntimeError:
        logger.exception("unbind failed for %s", ID)
    logger.info("where", stack_info=True, extra={"note": CARD})
    output = stream.getvalue()
    assert "RuntimeError: acquirer refused 622202*********0123" in output
    assert CARD not in output and ID not in output


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("𠮷祥五金店", "𠮷****"),  # U+20BB7, Extension B: one character, not two halves
        ("𪚥𪚥", "𪚥*"),
        ("葛\U000e0100亮", "葛\U000e0100*"),  # an ideographic variation sequence stays whole
        ("\U0002a6a5", "*"),
        ("阿依古丽·买买提", "阿*******"),
        ("Ame\u0301lie", "A*****"),
    ],
)
def test_a_name_is_masked_by_the_characters_a_reader_sees(name: str, masked: str) -> None:
    assert mask_name(name, DEFAULT) == masked


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF), min_size=1))
def test_a_rare_first_character_is_kept_whole(name: str) -> None:
    masked = mask_name(name, DEFAULT)
    assert len(masked) == len(name)
    assert masked.startswith(name[0] if len(name) > 1 else "*")
    assert set(masked[1:]) <= {"*"}
