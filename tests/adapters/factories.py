"""Small factories for the adapters' tests: registry rows and CSV files built from them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from counter.adapters import MERCHANT_COLUMNS

LEGAL_REP_ID = "110105198001010016"
CARD = "6222021234567890128"


def merchant_row(**overrides: Any) -> dict[str, str]:
    """One valid registry row (one terminal); keyword arguments replace cells."""
    row = {
        "merchant_no": "102110058120001",
        "merchant_name": "北京示例餐饮有限公司",
        "uscc": "91110000600037341L",
        "legal_rep_name": "张三",
        "legal_rep_id_number": LEGAL_REP_ID,
        "registered_phone": "13800138000",
        "terminal_sn": "SN-PAX-000001",
        "terminal_id": "10000001",
        "account_type": "personal_card",
        "account_number": CARD,
        "account_holder": "张三",
        "status": "active",
        "pending_settlement_cents": "0",
        "last_binding_change": "2025-01-15",
    }
    row.update({key: str(value) for key, value in overrides.items()})
    return row


def to_csv(
    rows: Iterable[Mapping[str, str]],
    columns: Iterable[str] = MERCHANT_COLUMNS,
    *,
    encoding: str = "utf-8",
) -> bytes:
    out = io.StringIO(newline="")
    names = list(columns)
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in names})
    return out.getvalue().encode(encoding)
