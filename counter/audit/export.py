"""Export a branch's journal for a date range, masked, with what a receiver needs to verify it.

Which streams belong to a branch: the cases opened there, ``branch:CODE``
(and ``branch:CODE:...``), and ``user:NAME`` of the branch's users. The
range is of the branch's local days (UTC+8), both ends included, and
selects entries by their own time, so a case's chain may begin before the
range: its first exported entry still carries ``prev_hash``, the anchor
from which the receiver checks the rest.

The database hashes an entry over its plain fields. Where masking changes
one of them (``note``, ``findings``), that entry's hash would let anyone
recover the hidden digits by trying each candidate (a phone number's four
hidden digits are ten thousand tries), and so would every later hash of
its stream, which chains it. Such an entry and the rest of its stream in
the export are therefore exported without the database's hashes (``hash``
and the following ``prev_hash`` are null, ``masked`` names what was
masked); the export's own line chain still covers them. The whole
reasoning is in docs/journal-export.md.

Everything is read in one read transaction, page by page, so a year of
journal streams out in constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, tuple_

from counter.audit._format import (
    BOM,
    FORMAT,
    FORMATS,
    START,
    VERSION,
    csv_header,
    encode_csv,
    encode_jsonl,
    line_hash,
)
from counter.audit._masking import CaseMasker, DefinitionCache
from counter.cases.records import REFERENCE_ZONE
from counter.config import MaskingPolicy, get_settings
from counter.errors import InvalidInput, NotFound
from counter.store.db import Database, as_utc, utcnow
from counter.store.journal import MACHINE_NOTE_KINDS, canonical_json
from counter.store.tables import Branch, CaseEvent, TellerCase, User, WorkflowDefinition
from counter.text import Text

__all__ = [
    "BRANCH_ZONE",
    "ProgressCallback",
    "belongs_to_branch",
    "day_bounds",
    "export_journal",
    "timestamp",
    "zone_name",
]

BRANCH_ZONE = REFERENCE_ZONE
"""The zone of a branch's days (the one case references are numbered in)."""

ProgressCallback = Callable[[int, int], None]
"""Called with (entries written, entries in the export) as the export goes."""

PAGE = 1000
_PROGRESS_EVERY = 200

_events = CaseEvent.__table__  # type: ignore[attr-defined]
_cases = TellerCase.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]
_branches = Branch.__table__  # type: ignore[attr-defined]
_definitions = WorkflowDefinition.__table__  # type: ignore[attr-defined]


def timestamp(at: datetime) -> str:
    """An instant as the journal hashes it: UTC, microseconds, ``Z``."""
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """From the start of ``start`` to the start of the day after ``end``, branch time."""
    first = datetime.combine(start, datetime.min.time(), BRANCH_ZONE)
    after = datetime.combine(end + timedelta(days=1), datetime.min.time(), BRANCH_ZONE)
    return as_utc(first), as_utc(after)


def zone_name() -> str:
    offset = BRANCH_ZONE.utcoffset(None)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def belongs_to_branch(stream: str, branch: str) -> bool:
    """Whether ``stream`` is one of the streams an export of ``branch`` may hold (by name)."""
    return (
        stream.startswith(f"{branch}-")
        or stream == f"branch:{branch}"
        or stream.startswith((f"branch:{branch}:", "user:"))
    )


def _check_request(db: Database, branch: str, start: date, end: date, fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(
            Text(zh=f"不支持的格式 {fmt}(可用 csv、jsonl)", en=f"no format {fmt} (csv, jsonl)"),
            fmt=fmt,
        )
    if start > end:
        raise InvalidInput(
            Text(zh=f"起始日期 {start} 晚于结束日期 {end}", en=f"{start} is after {end}"),
            start=str(start),
            end=str(end),
        )
    with db.read() as conn:
        known = conn.execute(select(_branches.c.code).where(_branches.c.code == branch)).first()
    if known is None:
        raise NotFound(Text(zh=f"没有网点 {branch}", en=f"no branch {branch}"), branch=branch)


@dataclass
class _Stream:
    """Where the export is in the current stream."""

    name: str
    masker: CaseMasker
    channel: str | None = None
    """The case's channel (counter, online, phone); None for branch and user streams."""
    sealed: bool = False
    """A masked entry was exported: from there on the database's hashes are withheld."""


class _Exporter:
    def __init__(
        self, conn: Connection, branch: str, start: date, end: date, policy: MaskingPolicy
    ) -> None:
        self.conn = conn
        self.branch = branch
        self.policy = policy
        self.definitions = DefinitionCache()
        first, after = day_bounds(start, end)
        usernames = [
            f"user:{name}"
            for name in conn.execute(select(_users.c.username).where(_users.c.branch == branch))
            .scalars()
        ]
        streams = or_(
            _events.c.stream.in_(select(_cases.c.reference).where(_cases.c.branch == branch)),
            _events.c.stream == f"branch:{branch}",
            _events.c.stream.startswith(f"branch:{branch}:", autoescape=True),
            _events.c.stream.in_(usernames),
        )
        self.where = and_(streams, _events.c.at >= first, _events.c.at < after)

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).where(self.where)).scalar_one())

    def rows(self) -> Iterator[Any]:
        """Every selected entry, by stream then seq, a page at a time."""
        query = select(_events).where(self.where).order_by(_events.c.stream, _events.c.seq)
        after: tuple[str, int] | None = None
        while True:
            page_query = query if after is None else query.where(
                tuple_(_events.c.stream, _events.c.seq) > tuple_(*after)
            )
            page = self.conn.execute(page_query.limit(PAGE)).all()
            yield from page
            if len(page) < PAGE:
                return
            after = (page[-1].stream, page[-1].seq)

    def stream(self, name: str) -> _Stream:
        case = self.conn.execute(
            select(_cases.c.data, _cases.c.definition_hash, _cases.c.channel).where(
                _cases.c.reference == name
            )
        ).first()
        if case is None:
            return _Stream(name, CaseMasker(self.policy))
        query = select(_definitions.c.bundle).where(_definitions.c.hash == case.definition_hash)
        workflow = self.definitions.get(
            case.definition_hash, lambda: self.conn.execute(query).scalar()
        )
        data: Mapping[str, Any] = case.data or {}
        return _Stream(name, CaseMasker.for_case(self.policy, workflow, data), case.channel)

    @staticmethod
    def entry(row: Any, stream: _Stream, first_in_stream: bool) -> dict[str, Any]:
        findings_before = list(row.findings or [])
        findings = stream.masker.findings(findings_before)
        note = row.note
        if note is not None and row.kind not in MACHINE_NOTE_KINDS:
            note = stream.masker.note(row.kind, note)  # machine-written notes hold no PII
        masked = [
            name
            for name, before, after in (
                ("findings", findings_before, findings),
                ("note", row.note, note),
            )
            if canonical_json(before) != canonical_json(after)
        ]
        prev_hash: str | None = row.prev_hash
        entry_hash: str | None = row.hash
        if stream.sealed and not first_in_stream:
            prev_hash = None
        if masked or stream.sealed:
            entry_hash = None
            stream.sealed = True
        return {
            "record": "entry",
            "stream": row.stream,
            "channel": stream.channel,
            "seq": row.seq,
            "at": timestamp(row.at),
            "actor": row.actor,
            "kind": row.kind,
            "trigger": row.trigger,
            "from_state": row.from_state,
            "to_state": row.to_state,
            "findings": findings,
            "data_digest": row.data_digest,
            "note": note,
            "masked": masked,
            "prev_hash": prev_hash,
            "hash": entry_hash,
        }


def export_journal(
    db: Database,
    *,
    branch: str,
    start: date,
    end: date,
    fmt: str,
    policy: MaskingPolicy | None = None,
    created_at: datetime | None = None,
    on_progress: ProgressCallback | None = None,
) -> Iterator[str]:
    """The export as text chunks, one record each (a CSV record may span lines).

    The request is checked at once (``InvalidInput`` for a bad format or
    range, ``NotFound`` for an unknown branch), before the first chunk is
    asked for, so that a web route can refuse it before it starts answering.
    ``policy`` defaults to the configured masking policy.
    """
    _check_request(db, branch, start, end, fmt)
    rules = policy if policy is not None else get_settings().masking
    header = {
        "record": "header",
        "format": FORMAT,
        "version": VERSION,
        "branch": branch,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": zone_name(),
        "created_at": timestamp(created_at or utcnow()),
        "masking": rules.model_dump(mode="json"),
    }
    encode = encode_csv if fmt == "csv" else encode_jsonl
    return _records(db, header, encode, start, end, rules, on_progress, fmt == "csv")


def _records(
    db: Database,
    header: dict[str, Any],
    encode: Callable[[Mapping[str, Any]], str],
    start: date,
    end: date,
    policy: MaskingPolicy,
    on_progress: ProgressCallback | None,
    csv: bool,
) -> Iterator[str]:
    previous = START

    def chained(record: dict[str, Any]) -> str:
        nonlocal previous
        record["line_hash"] = previous = line_hash(previous, record)
        return encode(record)

    with db.read() as conn:
        exporter = _Exporter(conn, str(header["branch"]), start, end, policy)
        total = exporter.count()
        first = chained(header)
        yield (BOM + csv_header() + first) if csv else first
        written = withheld = streams = 0
        stream: _Stream | None = None
        for row in exporter.rows():
            first_in_stream = stream is None or stream.name != row.stream
            if first_in_stream:
                stream = exporter.stream(row.stream)
                streams += 1
            assert stream is not None
            record = exporter.entry(row, stream, first_in_stream)
            withheld += record["hash"] is None
            yield chained(record)
            written += 1
            if on_progress is not None and written % _PROGRESS_EVERY == 0:
                on_progress(written, max(total, written))
    trailer = {
        "record": "trailer",
        "entries": written,
        "streams": streams,
        "withheld": withheld,
        "final_hash": previous,
    }
    yield chained(trailer)
    if on_progress is not None:
        on_progress(written, written)
