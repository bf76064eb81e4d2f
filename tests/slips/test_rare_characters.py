"""Every rare character of a name prints with a glyph from an embedded font and reads back exactly.

The list (tests/data/rare_names.txt) covers Extensions A to H, the
compatibility ideographs, the characters GB 18030-2022 changed and minority
names with U+00B7. Each line is printed as the merchant name (shown whole)
and its first character as the customer's name (masked to that character).
The glyph check reads the cmaps of the font programs embedded in the PDF
with fontTools, not the page as an eye would.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from fontTools.ttLib import TTFont
from pypdf.generic import DictionaryObject

from counter.slips import SlipRenderer
from counter.slips.context import PartyInput
from counter.slips.fonts import CHAIN, face_for, uncovered
from counter.slips.sample import SAMPLE_SLIP

from .factories import all_text, page_fonts, slip_context

RARE_NAMES = Path(__file__).resolve().parents[1] / "data" / "rare_names.txt"


def rare_names() -> list[tuple[str, str]]:
    """(block, text) for every line of the list."""
    found = []
    for line in RARE_NAMES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            block, text, _ = (part.strip() for part in line.split("|"))
            found.append((block, text))
    return found


def embedded_cmaps(pdf: bytes) -> dict[str, set[int]]:
    """Each embedded font's name and the code points its (subset) program maps to glyphs."""
    cmaps: dict[str, set[int]] = {}
    for font in page_fonts(pdf):
        descendants = cast(list[Any], font["/DescendantFonts"])
        descendant = cast(DictionaryObject, descendants[0].get_object())
        descriptor = cast(DictionaryObject, descendant["/FontDescriptor"].get_object())
        program = descriptor["/FontFile2"].get_object().get_data()
        cmap = TTFont(io.BytesIO(program)).getBestCmap()
        name = str(font["/BaseFont"]).split("+", 1)[-1]
        cmaps.setdefault(name, set()).update(cmap)
    return cmaps


def _squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def rare_pdf(renderer: SlipRenderer) -> bytes:
    merchant = " ".join(text for _, text in rare_names())
    context = slip_context(
        merchant_name=merchant,
        customer=PartyInput(name="𠮷田", id_number="11010519491231002X"),
    )
    return renderer.render(SAMPLE_SLIP, context)


def test_the_chain_has_every_listed_character() -> None:
    text = "".join(text for _, text in rare_names())
    assert uncovered(text) == []
    faces = {face_for(char) for char in text}
    assert faces == set(CHAIN), "each face of the chain is needed by some character"


def test_every_character_has_a_glyph_in_an_embedded_font(rare_pdf: bytes) -> None:
    cmaps = embedded_cmaps(rare_pdf)
    names = set(cmaps)
    assert {"WenQuanYi-Micro-Hei", "HanaMinA-Medium", "HanaMinB-Medium", "BabelStone-Han"} <= names
    everything = set().union(*cmaps.values())
    for block, text in rare_names():
        missing = [f"U+{ord(c):04X}" for c in text if ord(c) not in everything]
        assert not missing, (block, missing)


@pytest.mark.parametrize(("block", "text"), rare_names(), ids=[b for b, _ in rare_names()])
def test_pypdf_extracts_each_name_exactly(rare_pdf: bytes, block: str, text: str) -> None:
    assert _squeeze(text) in _squeeze(all_text(rare_pdf))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdftotext_extracts_each_name_exactly(rare_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "rare.pdf"
    path.write_bytes(rare_pdf)
    text = _squeeze(
        subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    missing = [block for block, name in rare_names() if _squeeze(name) not in text]
    assert not missing
    assert "\ufffd" not in text


def test_a_rare_first_character_of_a_masked_name_prints_whole(rare_pdf: bytes) -> None:
    assert "𠮷*" in _squeeze(all_text(rare_pdf))


def test_the_sample_slip_still_embeds_only_the_first_face(a5_pdf: bytes) -> None:
    assert set(embedded_cmaps(a5_pdf)) == {"WenQuanYi-Micro-Hei"}
