"""GB 18030-2022 on top of Python's GB 18030-2005 codec: the 18 moved codes, and nothing refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.encodings import decode_gb18030, encode_gb18030, normalize_encoding

# (GB 18030-2022 bytes, the character they mean in 2022)
MOVED = [
    (b"\xfe\x59", "\u9fb4"),
    (b"\xfe\xa0", "\u9fbb"),
    (b"\xa6\xd9", "\ufe10"),
    (b"\xa6\xf3", "\ufe19"),
    (b"\x82\x35\x90\x37", "\ue81e"),  # the 2005 code of U+9FB4 now means the private use
]


@pytest.mark.parametrize(("raw", "char"), MOVED)
def test_the_codes_the_2022_edition_moved(raw: bytes, char: str) -> None:
    assert decode_gb18030(raw) == char
    assert encode_gb18030(char) == raw


def test_the_six_private_use_codes_read_as_their_extension_b_characters() -> None:
    assert decode_gb18030(b"\xfe\x51\xfe\x52\xfe\x53\xfe\x6c\xfe\x76\xfe\x91") == (
        "\U00020087\U00020089\U000200cc\U000215d7\U0002298f\U000241fe"
    )
    assert encode_gb18030("\U00020087") == b"\x95\x32\x90\x31"


@settings(deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",))))
def test_every_character_has_a_code_and_reads_back(text: str) -> None:
    private = {chr(c) for c in (0xE816, 0xE817, 0xE818, 0xE831, 0xE83B, 0xE855)}
    if set(text) & private:
        return  # those read back as their standard characters, above
    assert decode_gb18030(encode_gb18030(text)) == text


def test_encoding_names() -> None:
    assert normalize_encoding(" GB18030 ") == normalize_encoding("gb_18030") == "gb18030"
    assert normalize_encoding("UTF8") == "utf-8"
    assert normalize_encoding("gbk") is None
