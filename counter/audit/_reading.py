"""Reading an export's records back, line by line, requiring the exporter's exact spelling.

Each reader yields ``(line number, offset after the record, record)`` and
raises :class:`Unreadable` at the first line that cannot be a record or is
not spelled exactly as :mod:`counter.audit._format` writes it, in the
spelling of the version the file's header names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from counter.audit._format import (
    BOM,
    csv_header,
    decode_csv_row,
    decode_jsonl,
    encode_csv,
    encode_jsonl,
)
from counter.text import Text

__all__ = ["Unreadable", "csv_records", "jsonl_records"]

Located = Iterator[tuple[int, int, dict[str, Any]]]


class Unreadable(Exception):
    """Line ``line`` (1-based) does not verify; ``reason`` says why in both languages."""

    def __init__(self, line: int, reason: Text) -> None:
        super().__init__(f"line {line}: {reason.en}")
        self.line = line
        self.reason = reason


def _unreadable(line: int, exc: Exception) -> Unreadable:
    return Unreadable(line, Text(zh=f"无法读取:{exc}", en=f"unreadable: {exc}"))


def _terminal_safe(record: dict[str, Any], previous: bool) -> bool:
    """Whether the records after ``record`` are spelled with terminal escapes (version 3 on)."""
    if record.get("record") == "header":
        return record.get("version") != 2  # the version before the escapes
    return previous


def _edited(line: int) -> Unreadable:
    return Unreadable(
        line,
        Text(
            zh="该行的写法与导出程序不同(被编辑过)",
            en="the line is not spelled as the exporter writes it (it was edited)",
        ),
    )


def jsonl_records(text: str) -> Located:
    """The records of a JSON Lines export: one per line, each line ending with ``\\n``."""
    offset = 0
    number = 0
    safe = True
    while offset < len(text):
        number += 1
        end = text.find("\n", offset)
        if end < 0:
            raise Unreadable(
                number, Text(zh="最后一行没有换行符", en="the last line has no line break")
            )
        line = text[offset : end + 1]
        try:
            record = decode_jsonl(line)
            safe = _terminal_safe(record, safe)
            canonical = encode_jsonl(record, terminal_safe=safe) == line
        except (ValueError, KeyError, TypeError) as exc:
            raise _unreadable(number, exc) from None
        if not canonical:
            raise _edited(number)
        offset = end + 1
        yield number, offset, record


def csv_records(text: str) -> Located:
    """The records of a CSV export: a byte-order mark and the column names come first."""
    head = BOM + csv_header()
    if not text.startswith(head):
        raise Unreadable(
            1, Text(zh="CSV 列名行不符", en="the CSV column names are not as expected")
        )
    offset = len(head)
    number = 2
    reader = csv.reader(io.StringIO(text[offset:], newline=""), strict=True)
    safe = True
    while offset < len(text):
        try:
            record = decode_csv_row(next(reader))
            safe = _terminal_safe(record, safe)
            spelled = encode_csv(record, terminal_safe=safe)
        except StopIteration:
            raise _edited(number) from None
        except (csv.Error, ValueError, KeyError, TypeError) as exc:
            raise _unreadable(number, exc) from None
        if not text.startswith(spelled, offset):
            raise _edited(number)
        offset += len(spelled)
        yield number, offset, record
        number += spelled.count("\n")
