"""Reading the operators' CSV files: encoding, header, rows with their line numbers.

Files come as UTF-8 (a byte-order mark is allowed) or, from older tools and
many acquirers, GB 18030 (read as the 2022 edition, ``counter.encodings``).
Without an ``encoding`` a file that is not UTF-8 is tried as GB 18030, and
the summary says it was read so; with one, the file must be in it. A byte
that is in neither names its line.

Both registry imports go through here so that they refuse a malformed file
the same way: one ``ImportRejected`` with a bilingual message, and for row
problems a ``RowError`` per bad cell naming the line (as an editor shows it)
and the column. Nothing is imported from a refused file; the callers only
write once every row is known good.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from counter.encodings import GB18030, decode_gb18030, normalize_encoding
from counter.errors import ImportRejected, RowError
from counter.text import Text

if TYPE_CHECKING:
    from _csv import Reader

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_REPORTED_ERRORS = 500


@dataclass(frozen=True)
class CsvRow:
    """One data row: the line it starts on and its cells by column name (trimmed)."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class CsvFile:
    rows: list[CsvRow]
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    """``utf-8`` or ``gb18030``."""
    detected: bool = False
    """No encoding was given and the file was not UTF-8: it was read as GB 18030."""


class RowErrors:
    """Collects row errors while a file is checked; ``raise_if_any`` refuses the whole file."""

    def __init__(self, what: Text) -> None:
        self._what = what
        self.rows: list[RowError] = []

    def add(self, line: int, column: str | Sequence[str], message: Text) -> None:
        columns = [column] if isinstance(column, str) else list(column)
        self.rows.append(RowError(line=line, message=str(message), columns=columns))

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        lines = len({row.line for row in self.rows})
        raise ImportRejected(
            Text(
                zh=f"{self._what.zh}:{lines} 行有错误,未导入任何数据。",
                en=f"{self._what.en}: {lines} line(s) have errors; nothing was imported.",
            ),
            rows=self.rows[:MAX_REPORTED_ERRORS],
            error_count=len(self.rows),
        )


def read_csv(
    source: Path | bytes, *, columns: Sequence[str], what: Text, encoding: str | None = None
) -> CsvFile:
    """Parse ``source`` as CSV whose header holds ``columns``, in ``encoding`` (see above).

    Header names are matched without regard to case or surrounding spaces;
    columns not in ``columns`` are ignored and listed in the result.
    """
    text, used, detected = _decode(_read_bytes(source, what), what, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors = RowErrors(what)
    try:
        header, header_line = _header(reader, what)
        positions = _positions(header, columns, what)
        rows: list[CsvRow] = []
        previous_end = reader.line_num
        for raw in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) != len(header):
                errors.add(
                    line,
                    [],
                    Text(
                        zh=f"本行有 {len(raw)} 个字段,"
                        f"表头有 {len(header)} 个(第 {header_line} 行)。",
                        en=f"this line has {len(raw)} fields; the header has {len(header)}"
                        f" (line {header_line}).",
                    ),
                )
                continue
            rows.append(CsvRow(line, {name: raw[i].strip() for name, i in positions.items()}))
    except csv.Error as exc:
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:第 {reader.line_num} 行不是有效的 CSV({exc})。",
                en=f"{what.en}: line {reader.line_num} is not valid CSV ({exc}).",
            )
        ) from None
    errors.raise_if_any()
    if not rows:
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:文件只有表头,没有数据行。",
                en=f"{what.en}: the file has no data rows.",
            )
        )
    ignored = [name for name in header if name not in positions]
    return CsvFile(rows=rows, ignored_columns=ignored, encoding=used, detected=detected)


def _read_bytes(source: Path | bytes, what: Text) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportRejected(
                Text(
                    zh=f"{what.zh}:文件过大({size} 字节,上限 {MAX_FILE_BYTES})。",
                    en=f"{what.en}: the file is too large ({size} bytes, limit {MAX_FILE_BYTES}).",
                )
            )
        return source.read_bytes()
    except OSError as exc:
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:无法读取文件 {source}({exc.strerror})。",
                en=f"{what.en}: cannot read {source} ({exc.strerror}).",
            )
        ) from None


def _line_of(raw: bytes, error: UnicodeDecodeError) -> int:
    return raw[: error.start].count(b"\n") + 1


def _decode(raw: bytes, what: Text, encoding: str | None) -> tuple[str, str, bool]:
    """The text, the encoding it was read in and whether that was detected."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:文件是 UTF-16 编码,请另存为 UTF-8 或 GB 18030 CSV。",
                en=f"{what.en}: the file is UTF-16; save it as UTF-8 or GB 18030 CSV.",
            )
        )
    wanted = normalize_encoding(encoding) if encoding is not None else None
    if encoding is not None and wanted is None:
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:不支持的编码 {encoding}(可用 utf-8、gb18030)。",
                en=f"{what.en}: no encoding {encoding} (utf-8 or gb18030).",
            )
        )
    if wanted == GB18030:
        try:
            text = decode_gb18030(raw)
        except UnicodeDecodeError as exc:
            line = _line_of(raw, exc)
            raise ImportRejected(
                Text(
                    zh=f"{what.zh}:第 {line} 行不是有效的 GB 18030 编码。",
                    en=f"{what.en}: line {line} is not valid GB 18030.",
                ),
                line=line,
            ) from None
        return _no_nul(text, what), GB18030, False
    try:
        return _no_nul(raw.decode("utf-8-sig"), what), "utf-8", False
    except UnicodeDecodeError as exc:
        line = _line_of(raw, exc)
        zh, en = f"第 {line} 行不是 UTF-8 编码", f"line {line} is not UTF-8"
        if wanted is None:
            try:
                return _no_nul(decode_gb18030(raw), what), GB18030, True
            except UnicodeDecodeError as not_gb:
                other = _line_of(raw, not_gb)
                zh += f",第 {other} 行也不是 GB 18030 编码"
                en += f", and line {other} is not GB 18030 either"
                line = max(line, other)
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:{zh}。请另存为 UTF-8 CSV,或用 --encoding gb18030 指明编码后重试。",
                en=f"{what.en}: {en}."
                " Save the file as UTF-8 CSV, or name its encoding with --encoding gb18030.",
            ),
            line=line,
        ) from None


def _no_nul(text: str, what: Text) -> str:
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:第 {line} 行含有空字符,不是文本 CSV 文件。",
                en=f"{what.en}: line {line} holds a NUL character; this is not a text CSV file.",
            ),
            line=line,
        )
    return text


def _header(reader: Reader, what: Text) -> tuple[list[str], int]:
    for raw in reader:
        if any(cell.strip() for cell in raw):
            return [cell.strip().lower() for cell in raw], reader.line_num
    raise ImportRejected(Text(zh=f"{what.zh}:文件是空的。", en=f"{what.en}: the file is empty."))


def _positions(header: list[str], columns: Sequence[str], what: Text) -> dict[str, int]:
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        names = ", ".join(repeated)
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:表头中的列重复:{names}。",
                en=f"{what.en}: repeated columns: {names}.",
            )
        )
    missing = [name for name in columns if name not in header]
    if len(missing) == len(columns):
        found = ", ".join(name for name in header[:8] if name) or "-"
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:表头中没有任何需要的列(看到的是:{found})。"
                f"需要的列:{', '.join(columns)}。",
                en=f"{what.en}: the header has none of the expected columns (found: {found})."
                f" Expected: {', '.join(columns)}.",
            ),
            missing=missing,
        )
    if missing:
        names = ", ".join(missing)
        raise ImportRejected(
            Text(
                zh=f"{what.zh}:缺少列:{names}。需要的列:{', '.join(columns)}。",
                en=f"{what.en}: missing column(s): {names}. Expected: {', '.join(columns)}.",
            ),
            missing=missing,
        )
    return {name: header.index(name) for name in columns}
