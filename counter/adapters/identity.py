"""Identity verification: is this document number registered to this name, and does the photo match?

``IdentityVerifier`` is what the workflow's checks call (before the
trigger's transaction, as they only read). ``LocalIdentityVerifier`` answers
from the ``identity_person`` table that ``counter identity import`` fills;
anyone not listed verifies as ``match`` (photo score 90) when their number is
well-formed for its document type, and ``not_found`` otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import select

from counter.adapters import _rules
from counter.adapters._csv import RowErrors, read_csv
from counter.adapters._store import (
    ImportSummary,
    new_reference,
    normalize_number,
    same_name,
    upsert,
)
from counter.banking.masking import mask_id
from counter.store.db import Database, utcnow
from counter.store.registry_tables import IdentityPerson
from counter.text import Text

__all__ = [
    "IDENTITY_COLUMNS",
    "IdentityOutcome",
    "IdentityResult",
    "IdentityVerifier",
    "LocalIdentityVerifier",
]

logger = logging.getLogger(__name__)

IDENTITY_COLUMNS = ("id_number", "name", "result", "face_score")
UNLISTED_FACE_SCORE = 90
_WHAT = Text(zh="身份核验名单导入", en="Identity list import")


class IdentityOutcome(StrEnum):
    MATCH = "match"  # number and name registered together
    MISMATCH = "mismatch"  # the number exists under another name
    NOT_FOUND = "not_found"  # no such number
    UNAVAILABLE = "unavailable"  # the national system did not answer: check other documents by hand


@dataclass(frozen=True)
class IdentityResult:
    """The answer of one verification; ``reference`` identifies the check for the journal."""

    outcome: IdentityOutcome
    face_score: int | None  # photo similarity 0-100; None when there was nothing to compare
    reference: str
    checked_at: datetime


@runtime_checkable
class IdentityVerifier(Protocol):
    """Online identity verification: the national citizen identity system, or a bank gateway."""

    def verify(self, id_type: str, id_number: str, name: str) -> IdentityResult: ...


class LocalIdentityVerifier:
    """Answers from our database: listed people as listed, anyone else by number format."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def verify(self, id_type: str, id_number: str, name: str) -> IdentityResult:
        number = normalize_number(id_number)
        table = IdentityPerson.__table__  # type: ignore[attr-defined]
        with self._db.read() as conn:
            row = conn.execute(select(table).where(table.c.id_number == number)).first()
        if row is None:
            if _rules.id_number_valid(id_type, number):
                outcome, score = IdentityOutcome.MATCH, UNLISTED_FACE_SCORE
            else:
                outcome, score = IdentityOutcome.NOT_FOUND, None
        else:
            outcome = IdentityOutcome(row.result)
            score = row.face_score
            if outcome is IdentityOutcome.MATCH:
                if same_name(row.name, name):
                    score = UNLISTED_FACE_SCORE if score is None else score
                else:
                    outcome, score = IdentityOutcome.MISMATCH, None
            elif outcome is not IdentityOutcome.MISMATCH:
                score = None
        result = IdentityResult(
            outcome=outcome,
            face_score=score,
            reference=new_reference("LOCAL-ID"),
            checked_at=utcnow(),
        )
        logger.info(
            "identity check %s: %s %s -> %s (score %s)",
            result.reference,
            id_type,
            mask_id(number),
            outcome,
            score,
        )
        return result

    def import_people(self, source: Path | bytes, *, encoding: str | None = None) -> ImportSummary:
        """Load ``id_number,name,result,face_score`` rows; all or nothing, re-import updates.

        ``encoding``: ``utf-8`` or ``gb18030``; None reads UTF-8 and detects GB 18030.
        """
        csv_file = read_csv(source, columns=IDENTITY_COLUMNS, what=_WHAT, encoding=encoding)
        errors = RowErrors(_WHAT)
        people: dict[str, dict[str, object]] = {}
        first_line: dict[str, int] = {}
        for row in csv_file.rows:
            cells = row.cells
            number = normalize_number(cells["id_number"])
            if not number:
                errors.add(row.line, "id_number", _rules.REQUIRED)
            elif len(number) > 32 or not number.isalnum() or not number.isascii():
                errors.add(
                    row.line,
                    "id_number",
                    Text(
                        zh="证件号码只能是最多 32 位字母和数字。",
                        en="the ID number must be up to 32 letters and digits.",
                    ),
                )
            elif number in first_line:
                errors.add(row.line, "id_number", _rules.repeated(first_line[number]))
            name, name_error = _rules.name_cell(cells["name"], 100)
            if name_error is not None:
                errors.add(row.line, "name", name_error)
            result = cells["result"].lower()
            if result not in {outcome.value for outcome in IdentityOutcome}:
                errors.add(
                    row.line,
                    "result",
                    _rules.not_one_of(result, [outcome.value for outcome in IdentityOutcome]),
                )
            score: int | None = None
            if cells["face_score"]:
                score = _rules.parse_int(cells["face_score"], low=0, high=100)
                if score is None:
                    errors.add(
                        row.line,
                        "face_score",
                        Text(
                            zh="人像比对分数须为 0 到 100 的整数。",
                            en="face_score must be a whole number from 0 to 100.",
                        ),
                    )
            if number and number not in first_line:
                first_line[number] = row.line
                people[number] = {
                    "id_number": number,
                    "name": name,
                    "result": result,
                    "face_score": score,
                }
        errors.raise_if_any()
        with self._db.transaction() as conn:
            changes = upsert(
                conn,
                IdentityPerson.__table__,  # type: ignore[attr-defined]
                "id_number",
                list(people.values()),
                kind=Text(zh="人员", en="people"),
                stamp=("updated_at", utcnow()),
            )
        logger.info("identity list imported: %s rows", len(csv_file.rows))
        return ImportSummary(
            rows=len(csv_file.rows),
            changes=(changes,),
            ignored_columns=tuple(csv_file.ignored_columns),
            encoding=csv_file.encoding,
            detected=csv_file.detected,
        )
