"""The local identity check: listed people as listed, anyone else by number format."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from counter.adapters import IdentityOutcome, IdentityVerifier, LocalIdentityVerifier
from counter.errors import ImportRejected
from counter.store.db import Database

from .factories import to_csv

PEOPLE = Path(__file__).resolve().parent.parent / "data" / "registry" / "people.csv"
COLUMNS = ("id_number", "name", "result", "face_score")


@pytest.fixture
def verifier(db: Database) -> LocalIdentityVerifier:
    verifier = LocalIdentityVerifier(db)
    verifier.import_people(PEOPLE)
    return verifier


def test_satisfies_the_protocol(verifier: LocalIdentityVerifier) -> None:
    assert isinstance(verifier, IdentityVerifier)


@pytest.mark.parametrize(
    ("number", "name", "outcome", "score"),
    [
        ("110105198001010016", "张三", IdentityOutcome.MATCH, 95),
        ("310104197505120020", "李四", IdentityOutcome.MATCH, 55),
        ("110105198001010016", "张四", IdentityOutcome.MISMATCH, None),
        ("440305199002280036", "王五", IdentityOutcome.MISMATCH, None),
        ("110101198506150043", "赵六", IdentityOutcome.NOT_FOUND, None),
        ("11010519491231002x", "钱七", IdentityOutcome.UNAVAILABLE, None),
    ],
)
def test_listed_people_verify_as_listed(
    verifier: LocalIdentityVerifier,
    number: str,
    name: str,
    outcome: IdentityOutcome,
    score: int | None,
) -> None:
    result = verifier.verify("resident_id", number, name)
    assert (result.outcome, result.face_score) == (outcome, score)
    assert result.reference.startswith("LOCAL-ID-")


def test_unlisted_valid_number_matches_with_score_90(verifier: LocalIdentityVerifier) -> None:
    result = verifier.verify("resident_id", "310104197505120039", "孙八")
    assert result.outcome is IdentityOutcome.MATCH and result.face_score == 90


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("resident_id", "310104197505120038"),  # wrong check character
        ("resident_id", "310104750512003"),  # legacy 15 digits
        ("passport", "E1"),
        ("no_such_document", "E12345678"),
    ],
)
def test_unlisted_invalid_number_is_not_found(
    verifier: LocalIdentityVerifier, id_type: str, number: str
) -> None:
    result = verifier.verify(id_type, number, "孙八")
    assert result.outcome is IdentityOutcome.NOT_FOUND and result.face_score is None


def test_log_lines_hold_masked_numbers_only(
    verifier: LocalIdentityVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="counter.adapters"):
        verifier.verify("resident_id", "110105198001010016", "张三")
    assert caplog.messages and "110105198001010016" not in caplog.text
    assert "张三" not in caplog.text


def test_reimport_updates_in_place(db: Database, verifier: LocalIdentityVerifier) -> None:
    rows = [{"id_number": "110105198001010016", "name": "张三", "result": "mismatch"}]
    summary = verifier.import_people(to_csv(rows, COLUMNS))
    assert [(c.created, c.updated) for c in summary.changes] == [(0, 1)]
    again = verifier.import_people(PEOPLE)
    assert [(c.created, c.updated, c.unchanged) for c in again.changes] == [(0, 1, 4)]


def test_bad_rows_refuse_the_whole_file(db: Database) -> None:
    verifier = LocalIdentityVerifier(db)
    rows = [
        {"id_number": "110105198001010016", "name": "张三", "result": "match", "face_score": "95"},
        {"id_number": "", "name": "", "result": "maybe", "face_score": "101"},
        {"id_number": "110105198001010016", "name": "张三", "result": "match"},
    ]
    with pytest.raises(ImportRejected) as caught:
        verifier.import_people(to_csv(rows, COLUMNS))
    found = [(row.line, row.columns) for row in caught.value.rows]
    assert found == [
        (3, ["id_number"]),
        (3, ["name"]),
        (3, ["result"]),
        (3, ["face_score"]),
        (4, ["id_number"]),
    ]
    result = verifier.verify("resident_id", "110105198001010016", "别人")
    assert result.outcome is IdentityOutcome.MATCH  # not listed: nothing was imported
