"""``counter.audit.verify``: any edit, deletion or truncation of an export is caught offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from counter.audit import verify_export, verify_export_file
from counter.audit._format import encode_jsonl, line_hash

from .conftest import Export, Journal

EDITS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def first_bad_line(text: str) -> int:
    check = verify_export(text)
    assert check.problem is not None, "the edited export verified"
    assert not check.ok
    return check.problem.line


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_any_one_character_edit_fails(export: Export, fmt: str) -> None:
    text = export(fmt)
    assert verify_export(text).ok

    @EDITS
    @given(st.data())
    def edit(data: st.DataObject) -> None:
        position = data.draw(st.integers(0, len(text) - 1), label="position")
        kind = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="kind")
        char = data.draw(st.characters(), label="char")
        if kind == "replace":
            assume(char != text[position])
            edited = text[:position] + char + text[position + 1 :]
        elif kind == "insert":
            edited = text[:position] + char + text[position:]
        else:
            edited = text[:position] + text[position + 1 :]
        first_bad_line(edited)

    edit()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_truncation_anywhere_fails(export: Export, fmt: str) -> None:
    text = export(fmt)

    @EDITS
    @given(st.integers(0, len(text) - 1))
    def cut(length: int) -> None:
        assert first_bad_line(text[:length]) >= 1

    cut()


def test_the_first_bad_line_is_named(export: Export) -> None:
    original = lines(export())
    edited = list(original)
    edited[4] = edited[4].replace('"tina"', '"tim"')
    assert first_bad_line("".join(edited)) == 5
    problem = verify_export("".join(edited)).problem
    assert problem is not None and "line hash" in problem.reason.en
    assert "第 5 行" in verify_export("".join(edited)).summary().zh


def test_a_deleted_line_fails(export: Export) -> None:
    original = lines(export())
    for index in range(len(original)):
        shortened = original[:index] + original[index + 1 :]
        assert first_bad_line("".join(shortened)) == (index + 1 if index else 1)


def test_a_missing_trailer_is_truncation(export: Export) -> None:
    original = lines(export())
    problem = verify_export("".join(original[:-1])).problem
    assert problem is not None and "cut short" in problem.reason.en


def test_swapped_or_repeated_lines_fail(export: Export) -> None:
    original = lines(export())
    swapped = [*original[:3], original[4], original[3], *original[5:]]
    assert first_bad_line("".join(swapped)) == 4
    repeated = [*original[:4], original[3], *original[4:]]
    assert first_bad_line("".join(repeated)) == 5
    after = [*original, original[1]]
    assert first_bad_line("".join(after)) == len(original) + 1


def _rechain(records: list[dict[str, Any]]) -> str:
    previous = "0" * 64
    out = []
    for record in records:
        if record["record"] == "trailer":
            record["final_hash"] = previous
        record["line_hash"] = previous = line_hash(previous, record)
        out.append(encode_jsonl(record))
    return "".join(out)


def test_a_forger_who_rechains_the_lines_is_caught_by_the_database_hash(
    export: Export,
) -> None:
    records = [json.loads(line) for line in lines(export())]
    target = next(i for i, r in enumerate(records) if r.get("note") == "counter")
    records[target]["note"] = "web"
    assert first_bad_line(_rechain(records)) == target + 1


def test_a_rechained_masked_entry_only_changes_the_digest(
    export: Export, branch_journal: Journal
) -> None:
    """The documented limit: masked entries rest on the export digest given apart."""
    original = export()
    records = [json.loads(line) for line in lines(original)]
    masked = next(i for i, r in enumerate(records) if r.get("masked"))
    records[masked]["note"] = "nothing to see"
    forged = verify_export(_rechain(records))
    assert forged.ok
    assert forged.digest != verify_export(original).digest


def test_withheld_hashes_cannot_be_dropped_elsewhere(export: Export) -> None:
    records = [json.loads(line) for line in lines(export())]
    clean = next(i for i, r in enumerate(records) if r["record"] == "entry" and r["hash"])
    records[clean]["hash"] = None
    assert first_bad_line(_rechain(records)) == clean + 1


def test_a_file_that_is_not_utf8_names_its_line(export: Export, tmp_path: Path) -> None:
    raw = export().encode()
    broken = tmp_path / "broken.jsonl"
    cut = raw.index(b"\n", raw.index(b"\n") + 1) + 5  # inside line 3
    broken.write_bytes(raw[:cut] + b"\xff" + raw[cut + 1 :])
    check = verify_export_file(broken)
    assert check.problem is not None and check.problem.line == 3


def test_an_empty_file_fails(tmp_path: Path) -> None:
    assert first_bad_line("") == 1
    (tmp_path / "empty.csv").write_bytes(b"")
    assert not verify_export_file(tmp_path / "empty.csv").ok


def test_a_channel_is_checked_against_the_case_and_its_open_entry(
    export: Export, branch_journal: Journal
) -> None:
    """Outside the database hash, yet a rechained change of one entry's channel is caught."""
    original = [json.loads(line) for line in lines(export())]

    def forged(where: int, channel: str | None) -> str:
        records = [dict(r) for r in original]
        records[where]["channel"] = channel
        return _rechain(records)

    opened = next(i for i, r in enumerate(original) if r.get("kind") == "open")
    later = next(i for i, r in enumerate(original)
                 if r.get("stream") == branch_journal.clean and r["seq"] == 2)
    user = next(i for i, r in enumerate(original) if r.get("stream") == "user:tina")
    assert first_bad_line(forged(opened, "phone")) == opened + 1  # the open entry's note says
    assert first_bad_line(forged(later, "online")) == later + 1  # one channel per case
    assert first_bad_line(forged(user, "counter")) == user + 1  # no channel but a case's
