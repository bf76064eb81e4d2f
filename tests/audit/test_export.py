"""``counter.audit.export``: what goes into an export, masked, in chain order, with its hashes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from engine.parcel import TELLER, parcel_runtime
from sqlalchemy import text

from counter.audit import export as export_module
from counter.audit import export_journal, verify_export
from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.config import MaskingPolicy
from counter.errors import BlockedByFindings, InvalidInput, NotFound
from counter.store import journal

from .conftest import CUSTOMER, DAY, FORMULA, ID_NUMBER, MORNING, PHONE, Export, Journal


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def entries(text: str) -> list[dict[str, Any]]:
    return [r for r in records(text) if r["record"] == "entry"]


@pytest.mark.postgres
def test_an_export_verifies_and_both_formats_carry_the_same_hashes(export: Export) -> None:
    as_jsonl, as_csv = export("jsonl"), export("csv")
    jsonl_check, csv_check = verify_export(as_jsonl), verify_export(as_csv)
    assert jsonl_check.ok, jsonl_check.problem
    assert csv_check.ok, csv_check.problem
    assert (jsonl_check.format, csv_check.format) == ("jsonl", "csv")
    assert jsonl_check.digest == csv_check.digest is not None
    assert (jsonl_check.entries, jsonl_check.streams) == (14, 6)
    assert (jsonl_check.recomputed, jsonl_check.withheld, jsonl_check.anchored) == (13, 1, 1)
    assert "校验通过" in jsonl_check.summary().zh and "verifies" in jsonl_check.summary().en


def test_every_entry_of_the_branch_in_range_in_chain_order(
    export: Export, branch_journal: Journal
) -> None:
    exported = entries(export())
    streams = [e["stream"] for e in exported]
    assert branch_journal.foreign not in streams  # another branch's case
    assert set(streams) == {
        branch_journal.older, branch_journal.clean, branch_journal.approved,
        branch_journal.cancelled, "branch:BJ001", "user:tina",
    }
    with branch_journal.db.read() as conn:
        for stream in set(streams):
            stored = [e for e in journal.entries(conn, stream) if e.at.date() >= DAY]
            mine = [e for e in exported if e["stream"] == stream]
            assert [e["seq"] for e in mine] == [e.seq for e in stored]
            assert [e["prev_hash"] for e in mine][:1] == [stored[0].prev_hash]
            assert all(
                e["hash"] in (None, s.hash) for e, s in zip(mine, stored, strict=True)
            )
    # each stream is one block
    blocks = [s for i, s in enumerate(streams) if i == 0 or streams[i - 1] != s]
    assert len(blocks) == len(set(blocks))


def test_a_chain_started_before_the_range_is_anchored(
    export: Export, branch_journal: Journal
) -> None:
    older = [e for e in entries(export()) if e["stream"] == branch_journal.older]
    with branch_journal.db.read() as conn:
        opened = journal.entries(conn, branch_journal.older)[0]
    assert [e["seq"] for e in older] == [2]
    assert older[0]["prev_hash"] == opened.hash  # the anchor: the hash of entry 1, outside
    whole = export(start=DAY - timedelta(days=1))
    assert [e["seq"] for e in entries(whole) if e["stream"] == branch_journal.older] == [1, 2]
    assert verify_export(whole).anchored == 0


def test_the_hash_algorithm_is_as_documented(export: Export) -> None:
    """A receiver's own check, written from docs/journal-export.md and nothing of counter."""
    previous = "0" * 64
    for record in records(export()):
        body = {k: v for k, v in record.items() if k != "line_hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        previous = hashlib.sha256((previous + text).encode()).hexdigest()
        assert record["line_hash"] == previous
        if record["record"] == "entry" and record["hash"] is not None:
            hashed = {k: record[k] for k in (
                "stream", "seq", "at", "actor", "kind", "trigger", "from_state", "to_state",
                "findings", "data_digest", "note", "prev_hash",
            )}
            text = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert hashlib.sha256(text.encode()).hexdigest() == record["hash"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_no_full_personal_number_or_name_in_the_export(export: Export, fmt: str) -> None:
    text = export(fmt)
    for whole in (PHONE, ID_NUMBER, CUSTOMER, "Li Lei", "Nobody"):
        assert whole not in text
    assert "138****8000" in text and "110***********0021" in text


def test_a_masked_entry_and_the_rest_of_its_stream_carry_no_database_hash(
    export: Export, branch_journal: Journal
) -> None:
    cancelled = [e for e in entries(export()) if e["stream"] == branch_journal.cancelled]
    assert [e["masked"] for e in cancelled] == [[], [], ["note"]]
    assert [e["hash"] is None for e in cancelled] == [False, False, True]
    # Its prev_hash is the hash of an unmasked entry, which reveals nothing hidden.
    assert cancelled[2]["prev_hash"] == cancelled[1]["hash"]


def test_a_stricter_policy_masks_evidence_again_and_withholds_its_hashes(
    export: Export, branch_journal: Journal
) -> None:
    strict = MaskingPolicy(name_head=0)
    approved = [
        e for e in entries(export(policy=strict)) if e["stream"] == branch_journal.approved
    ]
    assert approved[1]["findings"][0]["evidence"] == {"name": "****"}
    assert [e["masked"] for e in approved] == [[], ["findings"], []]
    assert [e["hash"] is None for e in approved] == [False, True, True]
    assert [e["prev_hash"] is None for e in approved] == [False, False, True]
    text = export(policy=strict)
    assert verify_export(text).ok
    assert json.loads(text.splitlines()[0])["masking"]["name_head"] == 0


def test_spreadsheet_formulas_are_escaped_in_csv_only(export: Export) -> None:
    as_csv = export("csv")
    rows = list(csv.reader(io.StringIO(as_csv.removeprefix("\ufeff"), newline="")))
    assert all(not cell[:1] or cell[0] not in "=+-@\t\r" for row in rows for cell in row)
    assert f"'{FORMULA}" in [cell for row in rows for cell in row]
    assert FORMULA in [e["note"] for e in entries(export("jsonl"))]  # JSON is not a sheet


def test_an_empty_string_and_null_stay_apart(export: Export) -> None:
    check = verify_export(export("csv"))
    assert check.ok, check.problem
    notes = [e["note"] for e in entries(export()) if e["stream"] == "branch:BJ001"]
    assert notes == [FORMULA, ""]


@pytest.mark.postgres
def test_pages_follow_on_without_gap(
    export: Export, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = export()
    monkeypatch.setattr(export_module, "PAGE", 2)
    assert export() == whole


def test_progress_is_reported_up_to_the_whole(branch_journal: Journal) -> None:
    seen: list[tuple[int, int]] = []
    chunks = export_journal(
        branch_journal.db, branch="BJ001", start=DAY, end=DAY, fmt="jsonl",
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert len(list(chunks)) == 16
    assert seen[-1] == (14, 14)


def test_an_empty_range_verifies(export: Export) -> None:
    text = export(start=DAY + timedelta(days=5), end=DAY + timedelta(days=6))
    check = verify_export(text)
    assert check.ok and check.entries == 0 and len(text.splitlines()) == 2


def test_a_bad_request_is_refused_before_any_line(branch_journal: Journal) -> None:
    db = branch_journal.db
    with pytest.raises(NotFound):
        export_journal(db, branch="BJ999", start=DAY, end=DAY, fmt="csv")
    with pytest.raises(InvalidInput):
        export_journal(db, branch="BJ001", start=DAY, end=DAY, fmt="xlsx")
    with pytest.raises(InvalidInput):
        export_journal(db, branch="BJ001", start=DAY, end=DAY - timedelta(days=1), fmt="csv")


def test_a_formula_for_a_name_never_reaches_a_cell_unescaped(
    export: Export, branch_journal: Journal
) -> None:
    """Issue 6: a customer 'named' =cmd|... (from a CSV import, say), quoted in a reason."""
    db = branch_journal.db
    desk = Desk(db, parcel_runtime(), Services(db=db, clock=lambda: MORNING + timedelta(hours=1)))
    view = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    identity = {"id_number": "110105", "recipient_name": FORMULA, "acting_as": "self"}
    view = desk.fire(
        reference=view.reference, trigger="submit_identity", actor=TELLER, data=identity,
        version=view.version,
    )
    desk.fire(
        reference=view.reference, trigger="cancel", actor=TELLER,
        data={"reason": f"{FORMULA} did not come"}, version=view.version,
    )
    as_csv = export("csv")
    assert verify_export(as_csv).ok
    rows = list(csv.reader(io.StringIO(as_csv.removeprefix("\ufeff"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert all(not cell[:1] or cell[0] not in "=+-@\t\r" for cell in cells)
    assert FORMULA + " did not come" not in as_csv  # masked as a name, then escaped
    assert "'=" + "*" * (len(FORMULA) - 1) + " did not come" in cells


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_each_entry_of_a_case_carries_its_channel(
    export: Export, branch_journal: Journal, fmt: str
) -> None:
    """Issue 9: the channel is a column of the export, outside the database's hash."""
    with branch_journal.db.read() as conn:
        stored = dict(conn.execute(text("SELECT reference, channel FROM teller_case")).all())
    file_text = export(fmt)
    assert verify_export(file_text).ok
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(file_text.removeprefix("\ufeff"))))
        exported = [(r["stream"], r["channel"] or None) for r in rows if r["record"] == "entry"]
    else:
        exported = [(e["stream"], e["channel"]) for e in entries(file_text)]
    assert {stream: channel for stream, channel in exported} == {
        **{stream: stored[stream] for stream, _ in exported if stream in stored},
        "branch:BJ001": None,
        "user:tina": None,
    }
    assert "counter" in {channel for _, channel in exported}


def test_refused_entries_are_exported_and_verify(export: Export, branch_journal: Journal) -> None:
    desk = Desk(branch_journal.db, parcel_runtime(),
                Services(db=branch_journal.db, clock=lambda: MORNING + timedelta(hours=2)))
    case = desk.get(reference=branch_journal.approved, actor=TELLER)
    with pytest.raises(BlockedByFindings):
        desk.fire(reference=case.reference, trigger="submit_code", actor=TELLER,
                  data={"code": "0000"}, version=case.version)
    for fmt in ("jsonl", "csv"):
        text_ = export(fmt)
        check = verify_export(text_)
        assert check.ok, check.problem
    (refused,) = [e for e in entries(export()) if e["kind"] == "refused"]
    assert (refused["stream"], refused["trigger"], refused["to_state"]) == (
        case.reference, "submit_code", None
    )
    assert [f["code"] for f in refused["findings"]] == ["code_wrong"]
    assert refused["hash"] is not None  # nothing to mask: the receiver recomputes it
