"""Small Core helpers the local adapters share: upserting imported records, making references."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from counter.text import Text

_CHUNK = 500


@dataclass(frozen=True)
class RecordChanges:
    """How one kind of record fared in an import."""

    kind: Text  # e.g. 商户 / merchants
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ImportSummary:
    """What an accepted import did; ``message`` is what the operator reads."""

    rows: int
    changes: tuple[RecordChanges, ...]
    ignored_columns: tuple[str, ...] = ()
    encoding: str = "utf-8"
    detected: bool = False
    """The file was not UTF-8 and no encoding was given: it was read as GB 18030."""

    def message(self) -> Text:
        zh = [f"已导入 {self.rows} 行:"]
        en = [f"Imported {self.rows} row(s):"]
        if self.detected:
            zh.insert(0, "文件不是 UTF-8 编码,已按 GB 18030 读取;")
            en.insert(0, "The file is not UTF-8; it was read as GB 18030.")
        zh.append(
            ";".join(
                f"{c.kind.zh} 新增 {c.created},更新 {c.updated},未变 {c.unchanged}"
                for c in self.changes
            )
            + "。"
        )
        en.append(
            "; ".join(
                f"{c.kind.en} {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
                for c in self.changes
            )
            + "."
        )
        if self.ignored_columns:
            names = ", ".join(self.ignored_columns)
            zh.append(f"已忽略未知列:{names}。")
            en.append(f"Ignored unknown column(s): {names}.")
        return Text(zh="".join(zh), en=" ".join(en))


def upsert(
    conn: Connection,
    table: Table,
    key: str,
    records: Sequence[Mapping[str, Any]],
    *,
    kind: Text,
    stamp: tuple[str, datetime] | None = None,
    insert_defaults: Mapping[str, Any] | None = None,
) -> RecordChanges:
    """Insert new ``records``, update the existing ones that differ, leave the rest alone.

    Compares only the columns the records carry, so that columns an import
    does not own (failure simulation, say) keep their values. ``stamp``
    (column, time) is written on every insert and on every real update.
    """
    by_key = {record[key]: record for record in records}
    columns = sorted({name for record in records for name in record if name != key})
    existing: dict[Any, Mapping[str, Any]] = {}
    for chunk in _chunks(list(by_key)):
        query = select(table.c[key], *(table.c[name] for name in columns)).where(
            table.c[key].in_(chunk)
        )
        existing.update({row[0]: row._mapping for row in conn.execute(query)})
    extra = dict(insert_defaults or {})
    if stamp is not None:
        extra[stamp[0]] = stamp[1]
    new = [{**extra, **record} for k, record in by_key.items() if k not in existing]
    changed = [
        record
        for k, record in by_key.items()
        if k in existing and any(existing[k][name] != record.get(name) for name in columns)
    ]
    if new:
        conn.execute(insert(table), new)
    if changed:
        stamped = [*columns, stamp[0]] if stamp is not None else columns
        statement = (
            update(table)
            .where(table.c[key] == bindparam("key_"))
            .values({name: bindparam(f"{name}_") for name in stamped})
        )
        params = []
        for record in changed:
            values = {f"{name}_": record.get(name) for name in columns}
            if stamp is not None:
                values[f"{stamp[0]}_"] = stamp[1]
            params.append({"key_": record[key], **values})
        conn.execute(statement, params)
    return RecordChanges(
        kind=kind,
        created=len(new),
        updated=len(changed),
        unchanged=len(by_key) - len(new) - len(changed),
    )


def new_reference(prefix: str) -> str:
    """An opaque reference the local systems hand out (``LOCAL-ID-1A2B3C4D5E6F``)."""
    return f"{prefix}-{secrets.token_hex(6).upper()}"


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def normalize_number(value: str) -> str:
    """A document number as keyed: ASCII (full-width folded), no spaces, letters upper case."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def same_name(left: str, right: str) -> bool:
    """Names compared as a person would: spacing and letter case do not count."""
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()
