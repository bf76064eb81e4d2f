"""Verify a journal export offline: no database, only the file.

What is checked, line by line, stopping at the first bad line:

- the file is UTF-8 and every record is spelled exactly as the exporter
  spells it (so an edit of spacing, quoting or escaping is caught too);
- each ``line_hash`` chains the record to the line before it;
- a header first, entries of the header's branch and range, a trailer last
  whose counts and ``final_hash`` match, and nothing after it (a truncated
  or cut-and-shortened file fails);
- each stream is one block in ``seq`` order with no gap; its first entry's
  ``prev_hash`` is 64 zeros when it starts the chain (the anchor otherwise);
  each database ``hash`` is recomputed from the entry's fields and each
  ``prev_hash`` equals the hash of the entry before it;
- hashes are withheld only where the exporter withholds them: from the
  first masked entry of a stream on (see ``counter.audit.export``);
- ``channel`` (not in the database hash) is the same on every entry of a
  case's stream and null on other streams, and on a case's ``open`` entry
  equals its ``note``, where the journal records the channel under its hash.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from counter.audit._format import (
    BOM,
    FORMAT,
    MASKABLE,
    NULLABLE,
    START,
    VERSION,
    VERSIONS,
    csv_header,
    line_hash,
)
from counter.audit._reading import Unreadable, csv_records, jsonl_records
from counter.audit.export import belongs_to_branch, timestamp
from counter.encodings import GB18030, decode_gb18030, normalize_encoding
from counter.store.journal import GENESIS, JournalEntry
from counter.text import Text

__all__ = ["ExportCheck", "Problem", "verify_export", "verify_export_file"]

_PROGRESS_EVERY = 200
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ZONE = re.compile(r"([+-])(\d\d):(\d\d)")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""What a ``str`` can hold and UTF-8 cannot (a lone surrogate): such a text was never a file."""
_NOT_UTF8 = Text(zh="不是有效的 UTF-8 文本", en="not valid UTF-8 text")
_NOT_GB18030 = Text(zh="不是有效的 GB 18030 文本", en="not valid GB 18030 text")


class _Bad(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.reason = Text(zh=zh, en=en)


@dataclass(frozen=True)
class Problem:
    """The first line that does not verify (1-based, as an editor numbers it), and why."""

    line: int
    reason: Text

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason.en}"


@dataclass
class ExportCheck:
    """What the verification found; ``problem`` is ``None`` when the export verifies."""

    format: str | None = None
    branch: str | None = None
    start: str | None = None
    end: str | None = None
    created_at: str | None = None
    entries: int = 0
    streams: int = 0
    recomputed: int = 0
    withheld: int = 0
    anchored: int = 0
    digest: str | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> Text:
        if self.problem is not None:
            return Text(
                zh=f"导出文件校验失败:第 {self.problem.line} 行:{self.problem.reason.zh}",
                en=f"The export does not verify: line {self.problem.line}: "
                f"{self.problem.reason.en}",
            )
        return Text(
            zh=f"导出文件校验通过:网点 {self.branch},{self.start} 至 {self.end},"
            f"{self.entries} 条日志记录,{self.streams} 个日志流;"
            f"{self.recomputed} 条哈希重新计算一致,{self.withheld} 条因脱敏未附数据库哈希,"
            f"{self.anchored} 个日志流接续范围之前的记录。导出摘要 {self.digest}",
            en=f"The export verifies: branch {self.branch}, {self.start} to {self.end}, "
            f"{self.entries} journal entries in {self.streams} streams; "
            f"{self.recomputed} database hashes recomputed, {self.withheld} withheld after "
            f"masking, {self.anchored} streams continuing from before the range. "
            f"Export digest {self.digest}",
        )


@dataclass
class _StreamState:
    name: str
    channel: str | None
    seq: int
    hash: str | None
    sealed: bool


@dataclass
class _Checker:
    report: ExportCheck
    previous: str = START
    header: dict[str, Any] | None = None
    window: tuple[datetime, datetime] | None = None
    trailer: bool = False
    stream: _StreamState | None = None
    finished: set[str] = field(default_factory=set)

    def feed(self, record: dict[str, Any]) -> None:
        if self.trailer:
            raise _Bad("尾记录之后还有内容", "there is more after the trailer")
        expected = line_hash(self.previous, record)
        if record["line_hash"] != expected:
            raise _Bad(
                "该行内容被修改(行哈希不符)", "the line was changed (its line hash does not match)"
            )
        kind = record["record"]
        if self.header is None:
            if kind != "header":
                raise _Bad("第一条记录不是头记录", "the first record is not the header")
            self._header(record)
        elif kind == "header":
            raise _Bad("重复的头记录", "a second header")
        elif kind == "entry":
            self._entry(record)
        else:
            self._trailer(record, self.previous)
        self.previous = expected

    def finish(self) -> None:
        if self.header is None:
            raise _Bad("文件为空", "the file is empty")
        if not self.trailer:
            raise _Bad("缺少尾记录:文件被截断", "no trailer: the file was cut short")

    def _header(self, record: Mapping[str, Any]) -> None:
        if record["format"] != FORMAT or record["version"] not in VERSIONS:
            raise _Bad(
                f"不是第 {VERSION} 版日志导出文件", f"not a version {VERSION} journal export"
            )
        try:
            start = date.fromisoformat(str(record["from"]))
            end = date.fromisoformat(str(record["to"]))
            zone = _zone(str(record["timezone"]))
        except ValueError:
            raise _Bad("头记录的日期范围无法读取", "the header's range is unreadable") from None
        if not isinstance(record["branch"], str) or start > end:
            raise _Bad("头记录无效", "the header is not valid")
        first = datetime.combine(start, datetime.min.time(), zone)
        after = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone)
        self.window = (first, after)
        self.header = dict(record)
        self.report.branch = record["branch"]
        self.report.start, self.report.end = start.isoformat(), end.isoformat()
        self.report.created_at = str(record["created_at"])

    def _entry(self, record: dict[str, Any]) -> None:
        assert self.header is not None and self.window is not None
        at = _check_types(record)
        if not self.window[0] <= at < self.window[1]:
            raise _Bad("记录时间不在导出范围内", "the entry's time is outside the export's range")
        name = record["stream"]
        if not belongs_to_branch(name, str(self.header["branch"])):
            raise _Bad(f"日志流 {name} 不属于该网点", f"stream {name} is not of this branch")
        state = self.stream
        if state is None or state.name != name:
            if name in self.finished:
                raise _Bad(f"日志流 {name} 不连续出现", f"stream {name} appears in two places")
            if state is not None:
                self.finished.add(state.name)
            state = self._first_of_stream(record)
        else:
            self._next_in_stream(state, record)
        if record["channel"] != state.channel or (
            record["kind"] == "open" and record["channel"] != record["note"]
        ):
            raise _Bad("案件渠道不符", "the channel is not the one the case was opened through")
        if record["masked"] or state.sealed:
            if record["hash"] is not None:
                raise _Bad("脱敏记录不应附数据库哈希", "a masked entry carries a database hash")
            state.sealed = True
            self.report.withheld += 1
        else:
            if record["hash"] is None:
                raise _Bad("缺少数据库哈希", "the database hash is missing")
            if _recompute(record, at) != record["hash"]:
                raise _Bad(
                    "数据库哈希与记录内容不符", "the database hash does not match the entry"
                )
            self.report.recomputed += 1
        state.seq, state.hash = record["seq"], record["hash"]
        self.report.entries += 1

    def _first_of_stream(self, record: Mapping[str, Any]) -> _StreamState:
        self.report.streams += 1
        if record["seq"] == 1 and record["prev_hash"] != GENESIS:
            raise _Bad("日志流第一条记录的前哈希应为 64 个 0", "a stream's first entry must "
                       "have 64 zeros as prev_hash")
        if record["prev_hash"] is None:
            raise _Bad("缺少前一条记录的哈希(接续点)", "prev_hash, the stream's anchor, is missing")
        if record["seq"] > 1:
            self.report.anchored += 1
        assert self.header is not None
        is_case = str(record["stream"]).startswith(f"{self.header['branch']}-")
        if (record["channel"] is not None) != is_case:
            raise _Bad("渠道只属于案件的日志流", "a channel goes with a case's stream only")
        self.stream = _StreamState(record["stream"], record["channel"], record["seq"], None, False)
        return self.stream

    @staticmethod
    def _next_in_stream(state: _StreamState, record: Mapping[str, Any]) -> None:
        if record["seq"] != state.seq + 1:
            raise _Bad(
                f"日志流 {state.name} 在第 {state.seq} 条之后缺少记录",
                f"stream {state.name} skips from entry {state.seq} to {record['seq']}",
            )
        if state.sealed:
            if record["prev_hash"] is not None:
                raise _Bad("脱敏之后不应附前哈希", "prev_hash is given after a masked entry")
        elif record["prev_hash"] != state.hash:
            raise _Bad("前一条记录的哈希不符", "prev_hash does not match the entry before")

    def _trailer(self, record: Mapping[str, Any], before: str) -> None:
        report = self.report
        counts = (record["entries"], record["streams"], record["withheld"])
        if counts != (report.entries, report.streams, report.withheld):
            raise _Bad(
                f"尾记录的数目 {counts} 与文件内容 "
                f"{(report.entries, report.streams, report.withheld)} 不符",
                f"the trailer counts {counts} but the file holds "
                f"{(report.entries, report.streams, report.withheld)}",
            )
        if record["final_hash"] != before:
            raise _Bad("尾记录的末行哈希不符", "the trailer's final_hash does not match")
        self.trailer = True
        report.digest = str(record["line_hash"])


def _zone(text: str) -> timezone:
    match = _ZONE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _hash_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and _HEX64.fullmatch(value) is not None)


def _check_types(record: Mapping[str, Any]) -> datetime:
    """The entry's time, once every field has the type the format gives it."""
    text_fields = ("stream", "at", "actor", "kind")
    if not all(isinstance(record[key], str) for key in text_fields):
        raise _Bad("记录字段类型不符", "an entry field has the wrong type")
    if not all(record[key] is None or isinstance(record[key], str) for key in NULLABLE):
        raise _Bad("记录字段类型不符", "an entry field has the wrong type")
    seq = record["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise _Bad("序号无效", "seq is not a positive number")
    findings = record["findings"]
    if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
        raise _Bad("发现项格式不符", "findings is not a list of objects")
    masked = record["masked"]
    if not isinstance(masked, list) or masked != [m for m in MASKABLE if m in masked]:
        raise _Bad("脱敏字段列表无效", "masked does not list findings and note in that order")
    if not (_hash_or_null(record["prev_hash"]) and _hash_or_null(record["hash"])):
        raise _Bad("哈希格式不符", "a hash is not 64 lower-case hex digits")
    try:
        at = datetime.fromisoformat(record["at"])
    except ValueError:
        at = None
    if at is None or at.tzinfo != UTC or timestamp(at) != record["at"]:
        raise _Bad("时间格式不符", "the entry's time is not written as the journal writes it")
    return at


def _recompute(record: Mapping[str, Any], at: datetime) -> str:
    """The database's hash of the entry, by the journal's own definition."""
    return JournalEntry(
        id=0,
        stream=record["stream"],
        seq=record["seq"],
        at=at,
        actor=record["actor"],
        kind=record["kind"],
        trigger=record["trigger"],
        from_state=record["from_state"],
        to_state=record["to_state"],
        findings=record["findings"],
        data_digest=record["data_digest"],
        note=record["note"],
        prev_hash=record["prev_hash"],
        hash="",
    ).expected_hash()


def verify_export(
    text: str, *, on_progress: Callable[[int, int], None] | None = None
) -> ExportCheck:
    """Check an export's text (see the module docstring); never raises for a bad file."""
    report = ExportCheck(format="csv" if text.startswith(BOM) else "jsonl")
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:  # it could not be hashed: UTF-8 has no spelling for it
        report.problem = Problem(text.count("\n", 0, surrogate.start()) + 1, _NOT_UTF8)
        return report
    checker = _Checker(report)
    records = csv_records(text) if report.format == "csv" else jsonl_records(text)
    try:
        for number, offset, record in records:
            try:
                checker.feed(record)
            except _Bad as bad:
                raise Unreadable(number, bad.reason) from None
            if on_progress is not None and number % _PROGRESS_EVERY == 0:
                on_progress(offset, len(text))
        try:
            checker.finish()
        except _Bad as bad:
            raise Unreadable(text.count("\n") + 1 if text else 1, bad.reason) from None
    except Unreadable as located:
        report.problem = Problem(located.line, located.reason)
    if on_progress is not None:
        on_progress(len(text), len(text))
    return report


def verify_export_file(
    path: Path,
    *,
    encoding: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ExportCheck:
    """Read ``path`` and verify it: strict UTF-8, or GB 18030 when asked (``gb18030``) or
    when the file is not UTF-8 and no encoding was named.

    A GB 18030 CSV file has no byte-order mark (the bank's older tools take a
    file without one as GB 18030): the text is checked as if it had the mark.
    """
    raw = path.read_bytes()
    wanted = normalize_encoding(encoding) if encoding is not None else None
    text: str | None
    try:
        text = decode_gb18030(raw) if wanted == GB18030 else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = None
        if wanted is None:
            with contextlib.suppress(UnicodeDecodeError):
                text = decode_gb18030(raw)
        if text is None:
            reason = _NOT_GB18030 if wanted == GB18030 else _NOT_UTF8
            return ExportCheck(problem=Problem(raw.count(b"\n", 0, exc.start) + 1, reason))
        wanted = GB18030
    if wanted == GB18030 and text.startswith(csv_header()):
        text = BOM + text
    return verify_export(text, on_progress=on_progress)
