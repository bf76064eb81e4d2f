"""The journal export's records and their two encodings, JSON Lines and CSV.

An export is a list of *records* (plain dicts): one header, the entries, one
trailer. Every record carries ``line_hash``, SHA-256 (hex) of the previous
record's ``line_hash`` (64 zeros before the header) followed by the
canonical JSON of the record without ``line_hash``. Hashes are computed over
the records' values, never over their encoding: the spreadsheet escaping of
CSV cells is undone before hashing, and a JSON Lines file and a CSV file of
the same export carry the same hashes.

Each encoding has exactly one spelling for a record (:func:`encode_jsonl`,
:func:`encode_csv`); the verifier decodes a line, encodes the result again
and requires the very same text, so that no edit, not even of spacing,
quoting or line endings, goes unnoticed. docs/journal-export.md describes
the format for a receiver who wants to check it with their own tools.

From version 3 on, what a terminal would interpret (control characters
but the line break and tab, DEL, the C1 range, the bidirectional controls,
the line and paragraph separators) is written escaped: as ``\\uXXXX`` in
JSON Lines, and in CSV as a cell that starts with ``'\\`` and spells those
characters ``\\uXXXX`` and its backslashes ``\\\\``. Version 2 files, written
before, are read with version 2's spelling (``terminal_safe=False``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from counter.store.journal import GENESIS, canonical_json

__all__ = [
    "BOM",
    "CSV_COLUMNS",
    "ENTRY_KEYS",
    "FORMAT",
    "FORMATS",
    "HEADER_KEYS",
    "MASKABLE",
    "NULLABLE",
    "START",
    "TRAILER_KEYS",
    "VERSION",
    "VERSIONS",
    "chunk_digest",
    "csv_header",
    "decode_csv_row",
    "decode_jsonl",
    "encode_csv",
    "encode_jsonl",
    "escape_cell",
    "line_hash",
    "unescape_cell",
]

FORMAT: Final = "counter-journal-export"
VERSION: Final = 3
"""2 added ``channel`` to entries; 3 escapes what a terminal would interpret. A version 1
file is refused, not misread; a version 2 file is read with its own spelling."""
VERSIONS: Final = (2, 3)
"""The versions ``verify-export`` reads."""
FORMATS: Final = ("csv", "jsonl")
START: Final = GENESIS
BOM: Final = "\ufeff"
"""CSV files start with a byte-order mark, so that spreadsheets read them as UTF-8 (Chinese)."""

HEADER_KEYS: Final = (
    "record", "format", "version", "branch", "from", "to", "timezone", "created_at", "masking",
)
ENTRY_KEYS: Final = (
    "record", "stream", "channel", "seq", "at", "actor", "kind", "trigger", "from_state",
    "to_state", "findings", "data_digest", "note", "masked", "prev_hash", "hash",
)
TRAILER_KEYS: Final = ("record", "entries", "streams", "withheld", "final_hash")
KEYS: Final = {"header": HEADER_KEYS, "entry": ENTRY_KEYS, "trailer": TRAILER_KEYS}

MASKABLE: Final = ("findings", "note")
"""The hashed fields of a journal entry that may hold personal data, in this order."""
NULLABLE: Final = (
    "channel", "trigger", "from_state", "to_state", "data_digest", "note", "prev_hash", "hash",
)

CSV_COLUMNS: Final = (
    *ENTRY_KEYS[:-1], "hash", "empty", "meta", "line_hash",
)
"""Entry fields, ``empty`` (which nullable fields hold ``""`` rather than null), ``meta``
(the header's or trailer's fields as JSON) and ``line_hash``."""

_FORMULA_START: Final = frozenset("=+-@\t\r'")
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
"""What a terminal or a text viewer would interpret rather than show (line break and tab aside)."""
_MARKED = "'\\"
"""The start of a CSV cell spelled with escapes (never the start of a version 2 cell)."""
_CELL_ESCAPE = re.compile(r"\\(?:\\|u([0-9a-f]{4}))")


def _u(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def line_hash(previous: str, record: Mapping[str, Any]) -> str:
    """The hash that chains ``record`` (without its own ``line_hash``) to the line before."""
    body = canonical_json({k: v for k, v in record.items() if k != "line_hash"})
    return hashlib.sha256((previous + body).encode("utf-8")).hexdigest()


# --- JSON Lines -----------------------------------------------------------


def encode_jsonl(record: Mapping[str, Any], *, terminal_safe: bool = True) -> str:
    """One line: the record's keys in their fixed order, then ``line_hash``; no spaces."""
    keys = (*KEYS[str(record["record"])], "line_hash")
    ordered = {key: record[key] for key in keys}
    line = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    # Outside strings a JSON line holds only ASCII punctuation, so this touches strings only.
    return (_TERMINAL.sub(_u, line) if terminal_safe else line) + "\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def decode_jsonl(line: str) -> dict[str, Any]:
    """The record on ``line``; ``ValueError`` when it is not a JSON object of a known kind."""
    value = json.loads(line, object_pairs_hook=_no_duplicates)
    if not isinstance(value, dict) or value.get("record") not in KEYS:
        raise ValueError("not a header, entry or trailer record")
    expected = (*KEYS[value["record"]], "line_hash")
    if tuple(value) != expected:
        raise ValueError(f"fields {list(value)} instead of {list(expected)}")
    return value


# --- CSV ------------------------------------------------------------------


def escape_cell(value: str, *, terminal_safe: bool = True) -> str:
    """A cell a spreadsheet shows as text and a terminal prints as it is.

    A leading ``= + - @``, tab, CR or ``'`` gets a ``'``; the apostrophe
    itself is escaped too, so that :func:`unescape_cell` can always take
    exactly one away. A value holding a character a terminal would
    interpret is spelled ``'\\`` followed by the value with those characters
    as ``\\uXXXX`` and its backslashes doubled.
    """
    if terminal_safe and _TERMINAL.search(value):
        return _MARKED + _TERMINAL.sub(_u, value.replace("\\", "\\\\"))
    return "'" + value if value[:1] in _FORMULA_START else value


def unescape_cell(cell: str) -> str:
    if cell.startswith(_MARKED):
        return _CELL_ESCAPE.sub(
            lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", cell[len(_MARKED) :]
        )
    return cell[1:] if cell.startswith("'") else cell


def _write_row(cells: Sequence[str], *, terminal_safe: bool = True) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(
        [escape_cell(cell, terminal_safe=terminal_safe) for cell in cells]
    )
    return out.getvalue()


def csv_header() -> str:
    """The first line of a CSV export (after the byte-order mark): the column names."""
    return _write_row(CSV_COLUMNS)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return canonical_json(value)


def encode_csv(record: Mapping[str, Any], *, terminal_safe: bool = True) -> str:
    """One CSV record (a note with line breaks spans several lines, quoted)."""
    kind = str(record["record"])
    cells = dict.fromkeys(CSV_COLUMNS, "")
    cells["record"] = kind
    cells["line_hash"] = str(record["line_hash"])
    if kind == "entry":
        for key in ENTRY_KEYS[1:]:
            value = record[key]
            if key == "seq":
                cells[key] = str(int(value))
            elif key == "masked":
                cells[key] = " ".join(value)
            else:
                cells[key] = _text(value)
        cells["empty"] = " ".join(key for key in NULLABLE if record[key] == "")
    else:
        cells["meta"] = canonical_json({key: record[key] for key in KEYS[kind][1:]})
    return _write_row([cells[column] for column in CSV_COLUMNS], terminal_safe=terminal_safe)


def _json_cell(cell: str, column: str) -> Any:
    try:
        return json.loads(cell, object_pairs_hook=_no_duplicates)
    except ValueError as exc:
        raise ValueError(f"column {column} is not JSON: {exc}") from None


def decode_csv_row(row: Sequence[str]) -> dict[str, Any]:
    """The record in one parsed CSV row; ``ValueError`` when it cannot be one."""
    if len(row) != len(CSV_COLUMNS):
        raise ValueError(f"{len(row)} columns instead of {len(CSV_COLUMNS)}")
    cells = {column: unescape_cell(cell) for column, cell in zip(CSV_COLUMNS, row, strict=True)}
    kind = cells["record"]
    if kind not in KEYS:
        raise ValueError(f"record {kind!r} is not header, entry or trailer")
    if kind != "entry":
        meta = _json_cell(cells["meta"], "meta")
        if not isinstance(meta, dict) or tuple(sorted(meta)) != tuple(sorted(KEYS[kind][1:])):
            raise ValueError(f"the {kind}'s meta column does not hold its fields")
        return {"record": kind, **{key: meta[key] for key in KEYS[kind][1:]}, **_hash(cells)}
    empty = set(cells["empty"].split()) if cells["empty"] else set()
    record: dict[str, Any] = {"record": kind}
    for key in ENTRY_KEYS[1:]:
        cell = cells[key]
        if key == "seq":
            if not cell.isdigit():
                raise ValueError("seq is not a number")
            record[key] = int(cell)
        elif key == "findings":
            record[key] = _json_cell(cell, key)
        elif key == "masked":
            record[key] = cell.split(" ") if cell else []
        elif key in NULLABLE:
            record[key] = cell if cell or key in empty else None
        else:
            record[key] = cell
    return {**record, **_hash(cells)}


def _hash(cells: Mapping[str, str]) -> dict[str, str]:
    return {"line_hash": cells["line_hash"]}


def chunk_digest(chunk: str) -> str:
    """The ``line_hash`` of one exported record, as ``export_journal`` yields it.

    Of the last chunk (the trailer) it is the export's digest, which the
    command line prints so that it can be compared through another channel.
    """
    if chunk.startswith("{"):
        return str(decode_jsonl(chunk)["line_hash"])
    row = next(csv.reader(io.StringIO(chunk, newline="")))
    return str(decode_csv_row(row)["line_hash"])
