"""``counter slip REF --out FILE.pdf [--reprint --as USER] [--format a5|roll80]``.

The cases are those ``counter demo`` completes on the test's database.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from counter.cases.wiring import wire
from counter.config import get_settings
from counter.engine.types import Actor
from counter.store import journal
from counter.store.db import Database

from .conftest import Invoke


def pdf_text(path: Path) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


@pytest.fixture
def demo(counter: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The references of the two cases ``counter demo`` completed."""
    monkeypatch.setenv("COUNTER_DEMO_MODE", "true")
    monkeypatch.setenv("COUNTER_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    result = counter("demo")
    assert result.exit_code == 0, result.output
    references = [
        line.rsplit("/", 1)[-1].removesuffix(".pdf")
        for line in result.output.splitlines()
        if line.startswith("凭条 / slip:")
    ]
    assert len(references) == 2
    yield references
    get_settings.cache_clear()


def entries(db: Database, reference: str, kind: str) -> list[journal.JournalEntry]:
    with db.read() as conn:
        return [e for e in journal.entries(conn, reference) if e.kind == kind]


def test_writes_the_stored_original(
    counter: Invoke, demo: list[str], db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "slip.pdf"
    result = counter("slip", demo[0], "--out", str(out))
    assert result.exit_code == 0, result.output
    [issued] = entries(db, demo[0], "slip")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == issued.data_digest
    assert out.read_bytes() == (tmp_path / "var" / f"{demo[0]}.pdf").read_bytes()
    assert "原件 original" in result.output and "REPRINT" not in pdf_text(out)
    assert len(entries(db, demo[0], "slip")) == 1  # writing it again issues nothing


def test_a_reprint_needs_who_asked_and_is_journaled_with_them(
    counter: Invoke, demo: list[str], db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "reprint.pdf"
    refused = counter("slip", demo[1], "--out", str(out), "--reprint")
    assert refused.exit_code == 1 and "--as" in refused.output and not out.exists()
    result = counter("slip", demo[1], "--out", str(out), "--reprint", "--as", "teller1")
    assert result.exit_code == 0, result.output
    assert "reprint No. 1" in result.output
    text = pdf_text(out)
    assert "REPRINT" in text and "重打" in text
    [entry] = entries(db, demo[1], "reprint")
    assert entry.actor == "teller1"
    assert entry.data_digest == hashlib.sha256(out.read_bytes()).hexdigest()
    roll = tmp_path / "roll.pdf"
    result = counter(
        "slip",
        demo[1],
        "--out",
        str(roll),
        "--reprint",
        "--as",
        "supervisor1",
        "--format",
        "roll80",
    )
    assert result.exit_code == 0, result.output
    assert "reprint No. 2" in result.output and "roll80" in result.output
    assert journal.verify(db).ok


def test_refusals(counter: Invoke, demo: list[str], db: Database, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    auditor = counter("slip", demo[0], "--out", str(out), "--reprint", "--as", "auditor1")
    assert auditor.exit_code == 1 and "may not reprint" in auditor.output
    other_format = counter("slip", demo[0], "--out", str(out), "--format", "roll80")
    assert other_format.exit_code == 1 and "--reprint" in other_format.output
    unknown = counter("slip", "BJ001-20000101-000009", "--out", str(out))
    assert unknown.exit_code == 1 and "BJ001-20000101-000009" in unknown.output
    nobody = counter("slip", demo[0], "--out", str(out), "--reprint", "--as", "nobody")
    assert nobody.exit_code == 1
    assert not out.exists() and entries(db, demo[0], "reprint") == []


def test_a_case_still_open_has_no_slip(
    counter: Invoke, demo: list[str], db: Database, tmp_path: Path
) -> None:
    desk = wire(db, settings=get_settings(), attach=False).desk
    teller = Actor("teller1", frozenset({"teller"}), "BJ001")
    case = desk.open_case(workflow="pos_unbind", actor=teller)
    out = tmp_path / "open.pdf"
    result = counter("slip", case.reference, "--out", str(out))
    assert result.exit_code == 1 and "no slip" in result.output and not out.exists()
