"""``counter registry import``: load the acquirer's merchant file into the local registry.

One row per terminal; the merchant's own columns repeat on each of its rows
and must agree. The file is checked completely first; any bad cell refuses
the whole file (``ImportRejected`` listing line, column and reason), so a
registry is never half-imported. Re-importing updates merchants and
terminals in place by merchant number and terminal serial number, never
duplicating them; terminals absent from the file are left as they are.

Names are cleaned as a teller's typed names are (NFC; control and
bidirectional characters refused by line; minority names' middle dots as
U+00B7), and otherwise stored as given, including text a spreadsheet would
run as a formula (``=cmd|...``): what is stored is data; anything that
exports it must escape it. The file may be UTF-8 or GB 18030
(``counter.adapters._csv``).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from counter.adapters import _rules
from counter.adapters._csv import CsvRow, RowErrors, read_csv
from counter.adapters._store import ImportSummary, normalize_number, upsert
from counter.banking.accounts import normalize_account_number
from counter.banking.merchant import (
    normalize_merchant_number,
    normalize_terminal_id,
    normalize_terminal_sn,
)
from counter.banking.phone import normalize_mobile
from counter.banking.uscc import normalize_uscc
from counter.store.db import Database, utcnow
from counter.store.registry_tables import RegistryMerchant, RegistryTerminal
from counter.text import Text

__all__ = ["MERCHANT_COLUMNS", "import_merchants"]

logger = logging.getLogger(__name__)

MERCHANT_COLUMNS = (
    "merchant_no",
    "merchant_name",
    "uscc",
    "legal_rep_name",
    "legal_rep_id_number",
    "registered_phone",
    "terminal_sn",
    "terminal_id",
    "account_type",
    "account_number",
    "account_holder",
    "status",
    "pending_settlement_cents",
    "last_binding_change",
)
_MERCHANT_FIELDS = (
    "merchant_name",
    "uscc",
    "legal_rep_name",
    "legal_rep_id_number",
    "registered_phone",
    "status",
    "pending_settlement_cents",
    "last_binding_change",
)
_STATUSES = ("active", "risk_flagged", "frozen_judicial", "closed")
_ACCOUNT_TYPES = ("personal_card", "corporate")
_WHAT = Text(zh="商户登记簿导入", en="Merchant registry import")


def import_merchants(
    db: Database,
    source: Path | bytes,
    *,
    today: date | None = None,
    encoding: str | None = None,
) -> ImportSummary:
    """Check every row of ``source``, then write them all in one transaction (or nothing)."""
    csv_file = read_csv(source, columns=MERCHANT_COLUMNS, what=_WHAT, encoding=encoding)
    errors = RowErrors(_WHAT)
    merchants: dict[str, dict[str, Any]] = {}
    merchant_lines: dict[str, int] = {}
    terminals: dict[str, dict[str, Any]] = {}
    terminal_lines: dict[str, int] = {}
    for row in csv_file.rows:
        merchant, terminal = _check_row(row, errors, today or date.today())
        if merchant is None or terminal is None:
            continue
        number = merchant["merchant_no"]
        if number in merchants:
            differing = [
                name for name in _MERCHANT_FIELDS if merchants[number][name] != merchant[name]
            ]
            if differing:
                errors.add(
                    row.line,
                    differing,
                    Text(
                        zh=f"同一商户的信息与第 {merchant_lines[number]} 行不一致。",
                        en=f"differs from this merchant's row on line {merchant_lines[number]}.",
                    ),
                )
        else:
            merchants[number], merchant_lines[number] = merchant, row.line
        sn = terminal["terminal_sn"]
        if sn in terminals:
            errors.add(row.line, "terminal_sn", _rules.repeated(terminal_lines[sn]))
        else:
            terminals[sn], terminal_lines[sn] = terminal, row.line
    errors.raise_if_any()
    now = utcnow()
    with db.transaction() as conn:
        merchant_changes = upsert(
            conn,
            RegistryMerchant.__table__,  # type: ignore[attr-defined]
            "merchant_no",
            list(merchants.values()),
            kind=Text(zh="商户", en="merchants"),
            stamp=("updated_at", now),
            insert_defaults={"simulated_failure": None, "simulated_failure_times": 0},
        )
        terminal_changes = upsert(
            conn,
            RegistryTerminal.__table__,  # type: ignore[attr-defined]
            "terminal_sn",
            list(terminals.values()),
            kind=Text(zh="终端", en="terminals"),
            stamp=("updated_at", now),
        )
    logger.info(
        "merchant registry imported: %s rows, %s merchants, %s terminals",
        len(csv_file.rows),
        len(merchants),
        len(terminals),
    )
    return ImportSummary(
        rows=len(csv_file.rows),
        changes=(merchant_changes, terminal_changes),
        ignored_columns=tuple(csv_file.ignored_columns),
        encoding=csv_file.encoding,
        detected=csv_file.detected,
    )


def _check_row(
    row: CsvRow, errors: RowErrors, today: date
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The merchant and terminal records of one row, or ``(None, None)`` after adding its errors."""
    cells = row.cells
    found = len(errors.rows)

    def check(column: str, problem: Text | None) -> None:
        if problem is not None:
            errors.add(row.line, column, problem)

    merchant_no = normalize_merchant_number(cells["merchant_no"])
    check("merchant_no", _rules.merchant_no_error(merchant_no))
    names: dict[str, str] = {}
    for column, limit in (("merchant_name", 200), ("legal_rep_name", 100)):
        names[column], problem = _rules.name_cell(cells[column], limit)
        check(column, problem)
    uscc = normalize_uscc(cells["uscc"])
    check("uscc", _rules.uscc_format_error(uscc))
    rep_id = normalize_number(cells["legal_rep_id_number"])
    check("legal_rep_id_number", _rules.document_number_error(rep_id))
    phone = normalize_mobile(cells["registered_phone"])
    check("registered_phone", _rules.phone_error(phone))
    terminal_sn = normalize_terminal_sn(cells["terminal_sn"])
    check("terminal_sn", _rules.terminal_sn_error(terminal_sn))
    terminal_id = normalize_terminal_id(cells["terminal_id"])
    check("terminal_id", _rules.terminal_id_error(terminal_id))
    account = _account(row, errors)
    status = cells["status"].lower()
    if status not in _STATUSES:
        check("status", _rules.not_one_of(cells["status"], _STATUSES))
    pending = _rules.parse_int(cells["pending_settlement_cents"] or "0", low=0, high=10**15)
    if pending is None:
        check(
            "pending_settlement_cents",
            Text(
                zh="待结算金额应为非负整数(单位:分)。",
                en="must be a whole number of cents, 0 or more.",
            ),
        )
    changed = _date(cells["last_binding_change"], today)
    if isinstance(changed, Text):
        check("last_binding_change", changed)
    if len(errors.rows) > found or account is None or isinstance(changed, Text):
        return None, None
    merchant = {
        "merchant_no": merchant_no,
        "merchant_name": names["merchant_name"],
        "uscc": uscc,
        "legal_rep_name": names["legal_rep_name"],
        "legal_rep_id_number": rep_id,
        "registered_phone": phone,
        "status": status,
        "pending_settlement_cents": pending,
        "last_binding_change": changed,
    }
    terminal = {
        "terminal_sn": terminal_sn,
        "merchant_no": merchant_no,
        "terminal_id": terminal_id,
        **account,
    }
    return merchant, terminal


def _account(row: CsvRow, errors: RowErrors) -> dict[str, Any] | None:
    """The bound account; all three cells empty means the terminal has none bound."""
    cells = row.cells
    account_type = cells["account_type"].lower()
    number = normalize_account_number(cells["account_number"])
    holder, holder_problem = _rules.name_cell(cells["account_holder"], 200)
    if not (account_type or number or cells["account_holder"]):
        return {"account_type": None, "account_number": None, "account_holder": None}
    found = len(errors.rows)
    if account_type not in _ACCOUNT_TYPES:
        errors.add(
            row.line, "account_type", _rules.not_one_of(cells["account_type"], _ACCOUNT_TYPES)
        )
    else:
        problem = _rules.account_number_error(account_type, number)
        if problem is not None:
            errors.add(row.line, "account_number", problem)
    if holder_problem is not None:
        errors.add(row.line, "account_holder", holder_problem)
    if len(errors.rows) > found:
        return None
    return {"account_type": account_type, "account_number": number, "account_holder": holder}


def _date(value: str, today: date) -> date | Text | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return Text(zh="日期格式应为 YYYY-MM-DD。", en="the date must be written YYYY-MM-DD.")
    if parsed > today:
        return Text(zh="日期不能晚于今天。", en="the date cannot be after today.")
    return parsed
