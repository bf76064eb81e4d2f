"""The journal: append-only, hash-chained entries in ``case_events``.

Each stream (a case reference, ``user:NAME``, ``branch:CODE``) is its own
chain: entry *n* stores the hash of entry *n-1* (64 zeros for the first) and
its own hash, SHA-256 over the canonical JSON of its fields plus that
previous hash. Each stream's last entry (its head) is remembered apart, so
that deleting the newest rows is caught as surely as editing old ones: a
case's in its ``teller_case`` row (``journal_seq``, ``journal_hash``, moved
in the same statement as the case itself), any other stream's in
``journal_heads``.

:func:`verify` recomputes everything and also checks each case against its
journal: its ``version`` equals its number of step entries and its
``state`` equals the last step's ``to_state``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import Connection, bindparam, func, insert, select, update

from counter.errors import AuditChainBroken, StaleVersion
from counter.store.db import Database, as_utc, json_default
from counter.store.prepared import Prepared
from counter.store.tables import GENESIS, CaseEvent, JournalHead, TellerCase
from counter.text import Text

__all__ = [
    "ENTRY_KINDS",
    "GENESIS",
    "MACHINE_NOTE_KINDS",
    "REFUSED",
    "REFUSED_SHAPE",
    "STEP_KINDS",
    "VERSION_KINDS",
    "BrokenEntry",
    "EntryFields",
    "JournalEntry",
    "VerifyReport",
    "append",
    "append_after",
    "canonical_json",
    "chain",
    "digest",
    "entries",
    "rechain",
    "record",
    "refusals_since_step",
    "text_digest",
    "verify",
]

STEP_KINDS = frozenset({"open", "trigger", "approval"})
"""Entry kinds of the steps people (and the system) take; each moves a case one version on."""
MACHINE_NOTE_KINDS = frozenset({"migrated", "escalated"})
"""Entry kinds whose note the system writes (canonical JSON of hashes, states, levels and
user names, never personal data): exports leave it as it is."""
VERSION_KINDS = STEP_KINDS | {"migrated"}
"""Every entry kind that moves a case one version on: the steps and a migration to
another definition version. Other kinds (slip, reprint) only record."""

REFUSED = "refused"
REFUSED_SHAPE = 1
"""The shape of ``refused`` entries (see ``ENTRY_KINDS``), written in their ``note``."""

ENTRY_KINDS: dict[str, str] = {
    "open": "a case opened: to_state its first state, note the channel, data_digest its data",
    "trigger": "a step: trigger, from_state, to_state, findings raised, data_digest after it, "
    "note the reason or comment typed",
    "approval": "a supervisor's approve or reject, shaped as a trigger entry",
    REFUSED: "a step refused (shape 1): trigger (null: a post-transaction review decision "
    "refused), from_state (the case's state, unchanged), "
    "to_state null, data_digest null, findings the reasons (code, severity, field, message; "
    "never evidence nor form values), note canonical JSON {\"cause\": \"findings\" | "
    "\"forbidden\" | \"four_eyes\", \"shape\": 1}. The case's state, data and version "
    "are unchanged: it is not a step",
}
"""The entry kinds of case streams and what their fields hold; docs/journal-export.md lists
them all (slip, reprint and hand-over entries are described by the modules writing them)."""

_events = CaseEvent.__table__  # type: ignore[attr-defined]
_heads = JournalHead.__table__  # type: ignore[attr-defined]
_cases = TellerCase.__table__  # type: ignore[attr-defined]

_head_query = select(_heads.c.seq, _heads.c.hash).where(_heads.c.stream == bindparam("stream"))
_insert_event = Prepared(insert(_events))
_insert_head = Prepared(insert(_heads))
_advance_head = Prepared(
    update(_heads)
    .where(_heads.c.stream == bindparam("b_stream"), _heads.c.seq == bindparam("b_seen"))
    .values(seq=bindparam("seq"), hash=bindparam("hash"))
)
_case_head_query = select(_cases.c.journal_seq, _cases.c.journal_hash).where(
    _cases.c.reference == bindparam("stream")
)
_advance_case_head = Prepared(
    update(_cases)
    .where(_cases.c.reference == bindparam("b_stream"), _cases.c.journal_seq == bindparam("b_seen"))
    .values(journal_seq=bindparam("seq"), journal_hash=bindparam("hash"))
)


_canonical = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
).encode


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same bytes for the same value, always."""
    text: str = _canonical(value)
    return text


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return text_digest(canonical_json(value))


def text_digest(text: str) -> str:
    """``digest`` of a value whose canonical JSON is ``text`` (encoded once, for the
    stored column and the journal alike)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _timestamp(at: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, microseconds always written."""
    return as_utc(at).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry as read back (or as just written)."""

    id: int
    stream: str
    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    findings: list[dict[str, Any]]
    data_digest: str | None
    note: str | None
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return entry_hash(vars(self))


_HASHED = (
    "stream", "seq", "at", "actor", "kind", "trigger", "from_state", "to_state", "findings",
    "data_digest", "note", "prev_hash",
)
"""The fields an entry's hash covers: all but its row id and the hash itself."""


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's hashed fields, its time as UTC text."""
    hashed = {name: fields[name] for name in _HASHED}
    hashed["at"] = _timestamp(hashed["at"])
    return digest(hashed)


class EntryFields(TypedDict, total=False):
    """What the writer of an entry gives; the chain adds ``seq``, ``prev_hash`` and ``hash``."""

    stream: Required[str]
    actor: Required[str]
    kind: Required[str]
    at: Required[datetime]
    trigger: str | None
    from_state: str | None
    to_state: str | None
    findings: Sequence[Mapping[str, Any]]
    data_digest: str | None
    note: str | None


def chain(*, after: tuple[int, str], **fields: Unpack[EntryFields]) -> dict[str, Any]:
    """The stored values of the entry that follows ``after`` (the stream's ``(seq, hash)``).

    Nothing is written: :func:`record` inserts them once the caller has moved
    the stream's head, :func:`append` does both.
    """
    # Round-trip the findings through JSON first, so that what is hashed is what is stored.
    findings = fields.get("findings")
    finding_list: list[dict[str, Any]] = (
        json.loads(canonical_json([dict(f) for f in findings])) if findings else []
    )
    values: dict[str, Any] = {
        "stream": fields["stream"],
        "seq": after[0] + 1,
        "at": as_utc(fields["at"]),
        "actor": fields["actor"],
        "kind": fields["kind"],
        "trigger": fields.get("trigger"),
        "from_state": fields.get("from_state"),
        "to_state": fields.get("to_state"),
        "findings": finding_list,
        "data_digest": fields.get("data_digest"),
        "note": fields.get("note"),
        "prev_hash": after[1],
    }
    values["hash"] = entry_hash(values)
    return values


def rechain(values: Mapping[str, Any], after: tuple[int, str]) -> dict[str, Any]:
    """``values`` (from :func:`chain`) moved to follow another head: new seq and hashes."""
    moved = {**values, "seq": after[0] + 1, "prev_hash": after[1]}
    moved["hash"] = entry_hash(moved)
    return moved


def record(conn: Connection, values: Mapping[str, Any]) -> int:
    """Insert an entry made by :func:`chain` (its head already moved); returns the row id."""
    entry_id = _insert_event.execute(conn, values).lastrowid
    assert entry_id is not None
    return entry_id


def _is_case_stream(stream: str) -> bool:
    """Case references are streams of their own; other streams are ``kind:name``."""
    return ":" not in stream


def append(
    conn: Connection, *, head: tuple[int, str] | None = None, **fields: Unpack[EntryFields]
) -> JournalEntry:
    """Append one entry to ``fields["stream"]`` inside the caller's write transaction.

    A case's head is kept in its ``teller_case`` row (a step moves it with
    the case's own compare-and-set), any other stream's in ``journal_heads``.
    ``head`` is the ``(seq, hash)`` the caller believes ends the stream; it
    saves reading the head, and when it is wrong the head is read after all.
    Two writers appending to one stream at once cannot both succeed: the
    head moves by compare-and-set and ``(stream, seq)`` is unique.
    """
    stream = fields["stream"]
    values = chain(after=head or (0, GENESIS), **fields)
    if head is None or not _advance(conn, values):
        found = _read_head(conn, stream)
        if found is None:
            values = rechain(values, (0, GENESIS))
            _insert_head.execute(conn, {"stream": stream, "seq": 1, "hash": values["hash"]})
        else:
            values = rechain(values, found)
            if not _advance(conn, values):
                raise StaleVersion(
                    Text(
                        zh=f"日志 {stream} 同时有另一笔写入,请重试",
                        en=f"Another entry was written to journal {stream} at the same time; "
                        "try again",
                    ),
                    stream=stream,
                )
    return JournalEntry(id=record(conn, values), **values)


def append_after(
    conn: Connection, *, head: tuple[int, str], **fields: Unpack[EntryFields]
) -> JournalEntry | None:
    """Append to a stream that ``head`` still ends; ``None`` when another entry came first.

    For entries decided on what the stream held (a refusal counts earlier
    refusals): unlike :func:`append`, never chained after an entry its writer
    has not seen.
    """
    values = chain(after=head, **fields)
    if not _advance(conn, values):
        return None
    return JournalEntry(id=record(conn, values), **values)


def _advance(conn: Connection, values: Mapping[str, Any]) -> bool:
    """Move the stream's head from the entry before ``values`` to it (compare-and-set)."""
    moved = {"b_stream": values["stream"], "b_seen": values["seq"] - 1, "seq": values["seq"],
             "hash": values["hash"]}
    if _is_case_stream(values["stream"]) and _advance_case_head.execute(conn, moved).rowcount:
        return True
    return bool(_advance_head.execute(conn, moved).rowcount == 1)


def _read_head(conn: Connection, stream: str) -> tuple[int, str] | None:
    """The stream's ``(seq, hash)``: a case's from its row, others' from ``journal_heads``."""
    if _is_case_stream(stream):
        case = conn.execute(_case_head_query, {"stream": stream}).first()
        if case is not None:
            return (case.journal_seq, case.journal_hash)
    found = conn.execute(_head_query, {"stream": stream}).first()
    return (found.seq, found.hash) if found is not None else None


def _row_entry(row: Any) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        stream=row.stream,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        kind=row.kind,
        trigger=row.trigger,
        from_state=row.from_state,
        to_state=row.to_state,
        findings=list(row.findings or []),
        data_digest=row.data_digest,
        note=row.note,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


_stream_entries = (
    select(_events).where(_events.c.stream == bindparam("stream")).order_by(_events.c.seq)
)


def entries(conn: Connection, stream: str) -> list[JournalEntry]:
    """Every entry of ``stream``, oldest first (one statement, built once)."""
    return [_row_entry(row) for row in conn.execute(_stream_entries, {"stream": stream})]


_last_step_seq = (
    select(_events.c.seq)
    .where(_events.c.stream == bindparam("stream"), _events.c.kind.in_(STEP_KINDS))
    .order_by(_events.c.seq.desc())
    .limit(1)
    .scalar_subquery()
)
_refusals_since = (
    select(_events)
    .where(
        _events.c.stream == bindparam("stream"),
        _events.c.kind == REFUSED,
        _events.c.seq > func.coalesce(_last_step_seq, 0),
        _events.c.seq > bindparam("after"),
    )
    .order_by(_events.c.seq)
)


def refusals_since_step(conn: Connection, stream: str, *, after: int = 0) -> list[JournalEntry]:
    """The ``refused`` entries of a case after its last step (and after seq ``after``)."""
    return [_row_entry(row) for row in conn.execute(
        _refusals_since, {"stream": stream, "after": after}
    )]


@dataclass(frozen=True)
class BrokenEntry:
    """The first entry that does not verify, and why."""

    stream: str
    seq: int | None
    id: int | None
    reason: Text

    def __str__(self) -> str:
        return f"{self.stream} seq={self.seq} id={self.id}: {self.reason.en}"


@dataclass
class VerifyReport:
    """What :func:`verify` checked; ``broken`` is empty when everything verifies."""

    streams: int = 0
    entries: int = 0
    cases: int = 0
    broken: list[BrokenEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def first_broken(self) -> BrokenEntry | None:
        return self.broken[0] if self.broken else None

    def raise_if_broken(self) -> None:
        first = self.first_broken
        if first is None:
            return
        where = f"{first.stream} #{first.seq} (id {first.id})"
        raise AuditChainBroken(
            Text(
                zh=f"审计日志校验失败:{where}:{first.reason.zh}",
                en=f"The journal does not verify at {where}: {first.reason.en}",
            ),
            stream=first.stream,
            seq=first.seq,
            id=first.id,
        )


def _check_stream(
    stream: str, rows: Iterable[JournalEntry], head: tuple[int, str] | None
) -> tuple[list[JournalEntry], BrokenEntry | None]:
    seen: list[JournalEntry] = []
    prev_hash = GENESIS
    for expected_seq, entry in enumerate(rows, start=1):
        seen.append(entry)

        def broken(zh: str, en: str, entry: JournalEntry = entry) -> BrokenEntry:
            return BrokenEntry(stream, entry.seq, entry.id, Text(zh=zh, en=en))

        if entry.seq != expected_seq:
            return seen, broken(
                f"缺少第 {expected_seq} 条记录", f"entry {expected_seq} is missing before it"
            )
        if entry.prev_hash != prev_hash:
            return seen, broken("前一条记录的哈希不符", "the previous entry's hash does not match")
        if entry.expected_hash() != entry.hash:
            return seen, broken("记录内容已被修改", "the entry's content was changed")
        prev_hash = entry.hash
    last = seen[-1] if seen else None
    if head is None:
        if last is not None:
            return seen, BrokenEntry(
                stream, last.seq, last.id, Text(zh="日志流缺少头记录", en="the stream has no head")
            )
    elif last is None or (last.seq, last.hash) != head:
        return seen, BrokenEntry(
            stream,
            last.seq if last else None,
            last.id if last else None,
            Text(
                zh=f"日志流应有 {head[0]} 条记录,末尾的记录被删除",
                en=f"the stream should hold {head[0]} entries: its newest were deleted",
            ),
        )
    return seen, None


def _check_case(case: Any, seen: Sequence[JournalEntry]) -> BrokenEntry | None:
    steps = [e for e in seen if e.kind in VERSION_KINDS]
    last = seen[-1] if seen else None
    where = (case.reference, last.seq if last else None, last.id if last else None)
    if len(steps) != case.version:
        return BrokenEntry(
            *where,
            Text(
                zh=f"案件版本为 {case.version},日志中有 {len(steps)} 个步骤",
                en=f"the case is at version {case.version} "
                f"but the journal holds {len(steps)} steps",
            ),
        )
    if steps and steps[-1].to_state != case.state:
        return BrokenEntry(
            *where,
            Text(
                zh=f"案件状态 {case.state} 与日志最后一步 {steps[-1].to_state} 不符",
                en=f"the case is in {case.state} but the journal's last step went to "
                f"{steps[-1].to_state}",
            ),
        )
    return None


VERIFY_BATCH = 500
"""Streams checked together: the memory verify needs is bounded by this, not the journal."""


def verify(db: Database, stream: str | None = None, *, batch: int = VERIFY_BATCH) -> VerifyReport:
    """Recompute every chain (or one stream's) and check the cases against their journals.

    The entries are read once, in (stream, seq) order, through a streaming
    cursor in one read snapshot; heads and cases are fetched ``batch``
    streams at a time. Heads and cases that have no entry at all are found
    by two anti-joins at the end.
    """
    report = VerifyReport()
    with db.read() as conn:
        events = select(_events).order_by(_events.c.stream, _events.c.seq)
        if stream is not None:
            events = events.where(_events.c.stream == stream)
        pending: list[tuple[str, list[JournalEntry]]] = []
        rows = conn.execute(events.execution_options(yield_per=batch))
        for name, group in itertools.groupby(rows, key=lambda row: str(row.stream)):
            pending.append((name, [_row_entry(row) for row in group]))
            if len(pending) >= batch:
                _verify_batch(conn, report, pending)
                pending = []
        _verify_batch(conn, report, pending)
        _verify_without_entries(conn, report, stream)
    return report


def _verify_batch(
    conn: Connection, report: VerifyReport, streams: list[tuple[str, list[JournalEntry]]]
) -> None:
    if not streams:
        return
    names = [name for name, _ in streams]
    heads = {
        row.stream: (row.seq, row.hash)
        for row in conn.execute(select(_heads).where(_heads.c.stream.in_(names)))
    }
    cases = {
        row.reference: row
        for row in conn.execute(select(*_case_columns).where(_cases.c.reference.in_(names)))
    }
    for name, entries in streams:
        report.streams += 1
        report.entries += len(entries)
        _, problem = _check_stream(name, entries, _head_of(cases.get(name), heads.get(name)))
        if problem is not None:
            report.broken.append(problem)
        case = cases.get(name)
        if case is not None:
            report.cases += 1
            if problem is None:
                problem = _check_case(case, entries)
                if problem is not None:
                    report.broken.append(problem)


_case_columns = (
    _cases.c.reference, _cases.c.version, _cases.c.state, _cases.c.journal_seq,
    _cases.c.journal_hash,
)


def _head_of(case: Any, head: tuple[int, str] | None) -> tuple[int, str] | None:
    """A stream's head: in its case row once the case has an entry, else in ``journal_heads``."""
    if case is not None and case.journal_seq:
        return (case.journal_seq, case.journal_hash)
    return head


def _verify_without_entries(conn: Connection, report: VerifyReport, stream: str | None) -> None:
    """Heads whose every entry was deleted, and cases with no journal at all."""
    no_entry = ~select(_events.c.id).where(_events.c.stream == _heads.c.stream).exists()
    heads = select(_heads).where(no_entry)
    no_case_entry = ~select(_events.c.id).where(_events.c.stream == _cases.c.reference).exists()
    cases = select(*_case_columns).where(no_case_entry)
    if stream is not None:
        heads = heads.where(_heads.c.stream == stream)
        cases = cases.where(_cases.c.reference == stream)
    headless = {row.stream: (row.seq, row.hash) for row in conn.execute(heads)}
    unjournaled = []
    for case in conn.execute(cases):
        report.cases += 1
        head = _head_of(case, headless.get(case.reference))
        if head is not None:  # its entries were deleted: the head says how many
            headless[case.reference] = head
        else:
            unjournaled.append(case)
    for name, head in headless.items():
        report.streams += 1
        _, problem = _check_stream(name, [], head)
        if problem is not None:
            report.broken.append(problem)
    for case in unjournaled:
        problem = _check_case(case, [])
        if problem is not None:
            report.broken.append(problem)
