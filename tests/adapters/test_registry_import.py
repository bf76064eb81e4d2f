"""Importing the merchant registry: all or nothing, idempotent, malformed files refused."""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from counter.adapters import (
    MERCHANT_COLUMNS,
    AccountType,
    LocalAcquirerRegistry,
    MerchantStatus,
)
from counter.encodings import encode_gb18030
from counter.errors import ImportRejected, RowError
from counter.store.db import Database
from counter.store.registry_tables import RegistryMerchant, RegistryTerminal

from .factories import CARD, merchant_row, to_csv

DATA = Path(__file__).resolve().parent.parent / "data" / "registry"


def count(db: Database, table: type) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def rejected(
    acquirer: LocalAcquirerRegistry, source: bytes | Path, *, encoding: str | None = None
) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        acquirer.import_merchants(source, encoding=encoding)
    return caught.value


def test_good_file_imports_merchants_terminals_and_accounts(
    db: Database, acquirer: LocalAcquirerRegistry
) -> None:
    summary = acquirer.import_merchants(DATA / "merchants.csv")
    assert summary.rows == 4
    merchants, terminals = summary.changes
    assert (merchants.created, terminals.created) == (3, 4)
    assert count(db, RegistryMerchant) == 3 and count(db, RegistryTerminal) == 4
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None
    assert merchant.status is MerchantStatus.ACTIVE
    assert merchant.last_binding_change == date(2025, 1, 15)
    assert [t.terminal_sn for t in acquirer.terminals("102110058120001")] == [
        "SN-PAX-000001",
        "SN-PAX-000002",
    ]
    account = acquirer.settlement_account("102110058120001", "sn-pax-000001")
    assert account is not None
    assert (account.account_type, account.account_number, account.holder) == (
        AccountType.PERSONAL_CARD,
        CARD,
        "张三",
    )
    corporate = acquirer.settlement_account("102310058120003", "SN-NEW-000009")
    assert corporate is not None and corporate.account_type is AccountType.CORPORATE
    pending = acquirer.merchant("102110058120002")
    assert pending is not None and pending.pending_settlement_cents == 1250000
    assert "已导入 4 行" in summary.message().zh and "Imported 4 row(s)" in summary.message().en


def test_reimport_updates_and_never_duplicates(
    db: Database, acquirer: LocalAcquirerRegistry
) -> None:
    acquirer.import_merchants(DATA / "merchants.csv")
    again = acquirer.import_merchants(DATA / "merchants.csv")
    assert [(c.created, c.updated, c.unchanged) for c in again.changes] == [(0, 0, 3), (0, 0, 4)]
    changed = acquirer.import_merchants(
        to_csv([merchant_row(status="risk_flagged", terminal_id="10000099")])
    )
    assert [(c.created, c.updated) for c in changed.changes] == [(0, 1), (0, 1)]
    assert count(db, RegistryMerchant) == 3 and count(db, RegistryTerminal) == 4
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.status is MerchantStatus.RISK_FLAGGED


def test_bad_rows_are_reported_by_line_and_column_and_nothing_is_imported(
    db: Database, acquirer: LocalAcquirerRegistry
) -> None:
    error = rejected(acquirer, DATA / "merchants_bad.csv")
    found = {(row.line, tuple(row.columns)) for row in error.rows}
    assert found == {
        (3, ("merchant_no",)),
        (4, ("registered_phone",)),
        (4, ("status",)),
        (5, ("account_number",)),
        (6, ("pending_settlement_cents",)),
        (7, ("terminal_sn",)),
    }
    assert all(" / " in row.message for row in error.rows)  # zh / en
    assert "nothing was imported" in error.message.en and "未导入任何数据" in error.message.zh
    assert count(db, RegistryMerchant) == 0 and count(db, RegistryTerminal) == 0


def test_a_bad_row_keeps_a_good_earlier_import_unchanged(acquirer: LocalAcquirerRegistry) -> None:
    acquirer.import_merchants(to_csv([merchant_row()]))
    rows = [merchant_row(status="closed"), merchant_row(terminal_sn="SN-2", terminal_id="bad")]
    rejected(acquirer, to_csv(rows))
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.status is MerchantStatus.ACTIVE


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"uscc": "91110000600037341"}, "uscc"),
        ({"uscc": "91110000600037341I"}, "uscc"),  # I is not in the alphabet
        ({"legal_rep_name": ""}, "legal_rep_name"),
        ({"account_type": "savings"}, "account_type"),
        ({"account_holder": ""}, "account_holder"),
        ({"account_type": "corporate", "account_number": "12AB"}, "account_number"),
        ({"last_binding_change": "15/01/2025"}, "last_binding_change"),
        ({"last_binding_change": "2999-01-01"}, "last_binding_change"),
        ({"pending_settlement_cents": "-5"}, "pending_settlement_cents"),
        ({"pending_settlement_cents": "12.50"}, "pending_settlement_cents"),
    ],
)
def test_each_bad_cell_is_named(
    acquirer: LocalAcquirerRegistry, overrides: dict[str, str], column: str
) -> None:
    error = rejected(
        acquirer, to_csv([merchant_row(), merchant_row(terminal_sn="SN-2", **overrides)])
    )
    assert [(row.line, row.columns) for row in error.rows] == [(3, [column])]


def test_problems_a_supervisor_may_accept_do_not_refuse_the_import(
    acquirer: LocalAcquirerRegistry,
) -> None:
    """A card failing Luhn and a pilot-era USCC failing its check are real data."""
    acquirer.import_merchants(
        to_csv([merchant_row(account_number="6222021234567890123", uscc="91110000600037341A")])
    )
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.uscc == "91110000600037341A"


def test_merchant_columns_must_agree_across_its_terminals(acquirer: LocalAcquirerRegistry) -> None:
    rows = [merchant_row(), merchant_row(terminal_sn="SN-2", registered_phone="13900139000")]
    error = rejected(acquirer, to_csv(rows))
    assert [(row.line, row.columns) for row in error.rows] == [(3, ["registered_phone"])]
    assert "line 2" in error.rows[0].message


def test_a_terminal_listed_twice_is_refused(acquirer: LocalAcquirerRegistry) -> None:
    error = rejected(acquirer, to_csv([merchant_row(), merchant_row()]))
    assert [(row.line, row.columns) for row in error.rows] == [(3, ["terminal_sn"])]


def test_a_terminal_without_account_is_unbound(acquirer: LocalAcquirerRegistry) -> None:
    acquirer.import_merchants(
        to_csv([merchant_row(account_type="", account_number="", account_holder="")])
    )
    assert acquirer.settlement_account("102110058120001", "SN-PAX-000001") is None


def test_formula_like_text_is_stored_verbatim(acquirer: LocalAcquirerRegistry) -> None:
    formula = "=cmd|'/c calc'!A1"
    acquirer.import_merchants(
        to_csv(
            [merchant_row(merchant_name=formula, legal_rep_name="+SUM(1,2)", account_holder="@x")]
        )
    )
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None
    assert (merchant.merchant_name, merchant.legal_rep_name) == (formula, "+SUM(1,2)")


def test_utf8_with_bom_is_accepted(acquirer: LocalAcquirerRegistry) -> None:
    acquirer.import_merchants(codecs.BOM_UTF8 + to_csv([merchant_row()]))
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.merchant_name == "北京示例餐饮有限公司"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (to_csv([merchant_row()]) + b"\xff\n", "line 3 is not UTF-8, and line 3 is not GB 18030"),
        (codecs.BOM_UTF16_LE + to_csv([merchant_row()]).decode().encode("utf-16-le"), "UTF-16"),
        (b"", "empty"),
        (b"\n  \n", "empty"),
        (to_csv([]), "no data rows"),
        (b"\x00\x01\x02binary", "NUL"),
        (b'merchant_no,merchant_name\n"unterminated', "missing column"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_message(
    db: Database, acquirer: LocalAcquirerRegistry, raw: bytes, expected: str
) -> None:
    error = rejected(acquirer, raw)
    assert expected in error.message.en
    assert error.message.zh
    assert count(db, RegistryMerchant) == 0


def test_broken_quoting_is_refused_with_its_line(acquirer: LocalAcquirerRegistry) -> None:
    good = to_csv([merchant_row()])
    error = rejected(acquirer, good + b'"102110058120002,"broken\n')
    assert "not valid CSV" in error.message.en


def test_missing_columns_are_named(acquirer: LocalAcquirerRegistry) -> None:
    columns = [c for c in MERCHANT_COLUMNS if c not in ("uscc", "status")]
    error = rejected(acquirer, to_csv([merchant_row()], columns))
    assert "uscc, status" in error.message.en
    assert error.rows == []


def test_extra_columns_are_ignored_and_reported(acquirer: LocalAcquirerRegistry) -> None:
    row = merchant_row(remarks="VIP")
    summary = acquirer.import_merchants(to_csv([row], [*MERCHANT_COLUMNS, "remarks"]))
    assert summary.ignored_columns == ("remarks",)
    assert "remarks" in summary.message().en


def test_header_case_and_spaces_do_not_matter(acquirer: LocalAcquirerRegistry) -> None:
    text = to_csv([merchant_row()]).decode()
    header, rest = text.split("\n", 1)
    shouted = ",".join(f" {name.upper()} " for name in header.split(","))
    acquirer.import_merchants(f"{shouted}\n{rest}".encode())
    assert acquirer.merchant("102110058120001") is not None


def test_a_row_with_too_many_cells_is_reported(acquirer: LocalAcquirerRegistry) -> None:
    raw = (
        to_csv([merchant_row()])
        + to_csv([merchant_row(terminal_sn="SN-2")]).split(b"\n")[1]
        + b",x\n"
    )
    error = rejected(acquirer, raw)
    assert [row.line for row in error.rows] == [3]
    assert isinstance(error.rows[0], RowError)


def test_a_quoted_cell_over_two_lines_keeps_later_line_numbers(
    acquirer: LocalAcquirerRegistry,
) -> None:
    raw = to_csv(
        [
            merchant_row(merchant_name="line one\nline two"),
            merchant_row(terminal_sn="SN-2", status="x"),
        ]
    )
    error = rejected(acquirer, raw)
    # header 1, first row lines 2-3 (a line break is no part of a name), second row on line 4
    assert {row.line for row in error.rows} == {2, 4}
    assert "U+000A" in next(row.message for row in error.rows if row.line == 2)


def test_an_unreadable_path_is_refused(acquirer: LocalAcquirerRegistry, tmp_path: Path) -> None:
    error = rejected(acquirer, tmp_path / "missing.csv")
    assert "cannot read" in error.message.en


def test_a_file_of_another_kind_is_named_as_such(acquirer: LocalAcquirerRegistry) -> None:
    error = rejected(acquirer, DATA / "people.csv")
    assert "none of the expected columns (found: id_number, name, result" in error.message.en


# --- files in the acquirer's encoding, names as people write them ----------------

RARE_MERCHANT = "𠮷祥五金店·龴𠂇"  # Extension B, then a character GB 18030-2022 moved (FE59)


def gb18030_2022(rows: list[dict[str, str]]) -> bytes:
    """A GB 18030 file as a 2022 tool writes it: FE59 for 龴 (U+9FB4), FE51 for 𠂇."""
    raw = to_csv(rows).decode("utf-8")
    return encode_gb18030(raw)


def test_a_gb18030_file_is_read_when_named_and_detected_otherwise(
    acquirer: LocalAcquirerRegistry,
) -> None:
    raw = gb18030_2022([merchant_row(merchant_name=RARE_MERCHANT)])
    assert b"\xfe\x59" in raw and b"\x95\x34\xb2\x35" in raw  # 龴 two bytes, 𠮷 four bytes
    summary = acquirer.import_merchants(raw, encoding="gb18030")
    assert (summary.encoding, summary.detected) == ("gb18030", False)
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.merchant_name == RARE_MERCHANT
    detected = acquirer.import_merchants(raw)
    assert (detected.encoding, detected.detected) == ("gb18030", True)
    assert "read as GB 18030" in detected.message().en and "GB 18030 读取" in detected.message().zh


def test_the_private_use_codes_of_gb18030_2005_read_as_the_characters_they_are(
    acquirer: LocalAcquirerRegistry,
) -> None:
    header = to_csv([merchant_row()]).split(b"\n", 1)[0] + b"\n"
    row = to_csv([merchant_row(merchant_name="QQQ")]).split(b"\n", 1)[1]
    raw = header + row.replace(b"QQQ", b"\xfe\x51\xfe\x59\xa6\xd9")  # 𠂇 龴 ︐
    acquirer.import_merchants(raw, encoding="gb18030")
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.merchant_name == "\U00020087\u9fb4\ufe10"


def test_bytes_that_are_not_gb18030_name_their_line(acquirer: LocalAcquirerRegistry) -> None:
    raw = gb18030_2022([merchant_row(), merchant_row(terminal_sn="SN-PAX-000002")])
    error = rejected(acquirer, raw + b"\x81\x20\n", encoding="gb18030")
    assert "line 4 is not valid GB 18030" in error.message.en
    assert "no encoding latin-9" in rejected(acquirer, raw, encoding="latin-9").message.en


def test_names_in_a_file_follow_the_form_rules(acquirer: LocalAcquirerRegistry) -> None:
    error = rejected(
        acquirer,
        to_csv(
            [
                merchant_row(merchant_name="示例\u202egnp.exe"),
                merchant_row(terminal_sn="SN-2", legal_rep_name="张\x1b三"),
            ]
        ),
    )
    found = {(row.line, tuple(row.columns)): row.message for row in error.rows}
    assert "U+202E" in found[(2, ("merchant_name",))]
    assert "U+001B" in found[(3, ("legal_rep_name",))]
    acquirer.import_merchants(
        to_csv([merchant_row(legal_rep_name="阿依古丽•买买提", account_holder="阿依古丽・买买提")])
    )
    merchant = acquirer.merchant("102110058120001")
    assert merchant is not None and merchant.legal_rep_name == "阿依古丽·买买提"
