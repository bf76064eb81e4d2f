"""GB 18030-2022, as the acquirers' and the banks' older tools write it, on top of Python's codec.

Python's ``gb18030`` codec follows GB 18030-2005. The 2022 edition moved 18
characters out of the private use area: the two-byte codes of ten vertical
punctuation forms (A6D9...) and of eight ideographs (FE59 ... FEA0, U+9FB4 to
U+9FBB) now mean the standard characters, and the four-byte codes that meant
those characters in 2005 now mean the private-use code points. ``decode``
and ``encode`` swap those 18 pairs around Python's codec, so that a file
written by a 2022 tool reads right and a file written here reads right in
one. Six more two-byte codes (FE51 FE52 FE53 FE6C FE76 FE91) still mean
private-use code points in 2022; their characters have standard code points
in Extension B (U+20087 ...), and ``decode`` reads them as those, since a
name holding a private-use character prints as a box.

GB 18030 encodes every Unicode scalar value, so ``encode`` refuses nothing
but lone surrogates (which the form layer never lets in).
"""

from __future__ import annotations

__all__ = ["GB18030", "decode_gb18030", "encode_gb18030", "normalize_encoding"]

GB18030 = "gb18030"

_SWAPPED_2022 = {
    # vertical forms: A6D9 A6DA A6DB A6DC A6DD A6DE A6DF A6EC A6ED A6F3
    0xE78D: 0xFE10, 0xE78E: 0xFE12, 0xE78F: 0xFE11, 0xE790: 0xFE13, 0xE791: 0xFE14,
    0xE792: 0xFE15, 0xE793: 0xFE16, 0xE794: 0xFE17, 0xE795: 0xFE18, 0xE796: 0xFE19,
    # ideographs: FE59 FE61 FE66 FE67 FE6D FE7E FE90 FEA0
    0xE81E: 0x9FB4, 0xE826: 0x9FB5, 0xE82B: 0x9FB6, 0xE82C: 0x9FB7, 0xE832: 0x9FB8,
    0xE843: 0x9FB9, 0xE854: 0x9FBA, 0xE864: 0x9FBB,
}  # fmt: skip
_SWAP = {**_SWAPPED_2022, **{standard: pua for pua, standard in _SWAPPED_2022.items()}}
_STILL_PRIVATE = {
    0xE816: 0x20087, 0xE817: 0x20089, 0xE818: 0x200CC,
    0xE831: 0x215D7, 0xE83B: 0x2298F, 0xE855: 0x241FE,
}  # fmt: skip
_READ = {**_SWAP, **_STILL_PRIVATE}
_NAMES = {"gb18030": GB18030, "gb-18030": GB18030, "gb18030-2022": GB18030,
          "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8"}  # fmt: skip


def normalize_encoding(name: str) -> str | None:
    """``utf-8`` or ``gb18030`` for the names an operator may type, else None."""
    return _NAMES.get(name.strip().lower().replace("_", "-"))


def decode_gb18030(raw: bytes) -> str:
    """``raw`` read as GB 18030-2022; ``UnicodeDecodeError`` (with its byte offset) if it is not."""
    return raw.decode(GB18030).translate(_READ)


def encode_gb18030(text: str) -> bytes:
    """``text`` written as GB 18030-2022 (every character has a code)."""
    return text.translate(_SWAP).encode(GB18030)
