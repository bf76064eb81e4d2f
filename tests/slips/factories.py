"""Small builders for slip tests: a fixed masking policy, contexts, and PDF readers."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from counter.config import MaskingPolicy
from counter.slips import SlipContext
from counter.slips.sample import sample_context, sample_inputs

ROOT = Path(__file__).resolve().parents[2]

#: The raw values of the sample that must never be printed whole.
RAW = sample_inputs()
RAW_ID = RAW["customer"].id_number
RAW_AGENT_ID = RAW["agent"].id_number
RAW_ACCOUNT = RAW["account_unbound"]
RAW_PHONE = RAW["customer_phone"]


def default_policy() -> MaskingPolicy:
    """DESIGN.md's defaults, spelled out: COUNTER_MASK_* in the environment cannot change them."""
    return MaskingPolicy(
        card_head=6, card_tail=4, id_head=3, id_tail=4, phone_head=3, phone_tail=4, name_head=1
    )


def slip_context(**overrides: Any) -> SlipContext:
    return sample_context(policy=default_policy(), **overrides)


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in reader(pdf).pages]


def all_text(pdf: bytes) -> str:
    return "\n".join(page_texts(pdf))


def decoded_streams(pdf: bytes) -> list[bytes]:
    """Every stream in the file, decompressed (content, fonts, ToUnicode maps)."""
    found: list[bytes] = []
    document = reader(pdf)
    size = cast(int, document.trailer["/Size"])
    for number in range(1, size):
        obj = document.get_object(number)
        if isinstance(obj, StreamObject):
            found.append(obj.get_data())
    return found


def page_fonts(pdf: bytes) -> list[DictionaryObject]:
    """The font dictionaries the pages use."""
    fonts: list[DictionaryObject] = []
    for page in reader(pdf).pages:
        resources = cast(DictionaryObject, page["/Resources"].get_object())
        used = cast(DictionaryObject, resources.get("/Font", DictionaryObject()).get_object())
        fonts.extend(cast(DictionaryObject, font.get_object()) for font in used.values())
    return fonts


def font_file_keys(font: DictionaryObject) -> set[str]:
    """The keys of a Type 0 font's descriptor (where FontFile2/FontFile3 say it is embedded)."""
    descendants = cast(list[Any], font["/DescendantFonts"])
    descendant = cast(DictionaryObject, descendants[0].get_object())
    descriptor = cast(DictionaryObject, descendant["/FontDescriptor"].get_object())
    return set(descriptor.keys())


def run_python(script: str) -> str:
    """Standard output of ``script`` run by a fresh interpreter in the project root."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    return result.stdout
