"""The rows one step writes, as SQLAlchemy Core statements built once per process.

The hot path (one trigger) stays on Core: an ORM session per trigger costs
about three times the durable commit it wraps (DESIGN, pitfalls). Every
statement here is module-level with bind parameters, so SQLAlchemy compiles
it once and reuses the compiled form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from counter.errors import CounterError, FourEyesViolation, PermissionDenied, StaleVersion
from counter.store import journal
from counter.store.prepared import JSONText, Prepared
from counter.store.tables import (
    GENESIS,
    Approval,
    CaseSequence,
    IdempotencyKey,
    Outbox,
    TellerCase,
    WorkflowDefinition,
)
from counter.text import Text

__all__ = [
    "REFERENCE_ZONE",
    "CaseRow",
    "approvals",
    "cases",
    "close_approval",
    "compare_and_set",
    "insert_ignore",
    "next_reference",
    "refusal_fields",
]

# Case numbers run per branch and per local business day; branches are in China.
REFERENCE_ZONE = timezone(timedelta(hours=8), "Asia/Shanghai")

cases: Table = TellerCase.__table__  # type: ignore[attr-defined]
approvals: Table = Approval.__table__  # type: ignore[attr-defined]
outbox: Table = Outbox.__table__  # type: ignore[attr-defined]
idempotency: Table = IdempotencyKey.__table__  # type: ignore[attr-defined]
sequences: Table = CaseSequence.__table__  # type: ignore[attr-defined]
definitions: Table = WorkflowDefinition.__table__  # type: ignore[attr-defined]


class RefusalFields(TypedDict):
    """The fields of a ``refused`` journal entry that say what was refused and why."""

    kind: str
    to_state: None
    data_digest: None
    findings: list[dict[str, Any]]
    note: str


def refusal_fields(refused: CounterError) -> RefusalFields:
    """What the ``refused`` journal entry recording ``refused`` holds besides who, when, where.

    The note's ``cause``: ``four_eyes``, ``forbidden`` (roles), or ``findings``
    (what a step's checks found); each finding names its field and its words.
    """
    if isinstance(refused, FourEyesViolation):
        cause = "four_eyes"
    elif isinstance(refused, PermissionDenied):
        cause = "forbidden"
    else:
        cause = "findings"
    findings = [
        {"code": f.code, "severity": str(f.severity), "field": f.field,
         "message": {"zh": f.message.zh, "en": f.message.en}}
        for f in getattr(refused, "findings", ())
    ] or [{"code": refused.code, "severity": "block", "field": None,
           "message": {"zh": refused.message.zh, "en": refused.message.en}}]
    return RefusalFields(
        kind=journal.REFUSED, to_state=None, data_digest=None, findings=findings,
        note=journal.canonical_json({"cause": cause, "shape": journal.REFUSED_SHAPE}),
    )


@dataclass(frozen=True)
class CaseRow:
    """A ``teller_case`` row as plain values (read back, or as this process just wrote it)."""

    id: int
    reference: str
    workflow: str
    definition_hash: str
    state: str
    data: Mapping[str, Any]
    pending: Mapping[str, Any] | None
    version: int
    branch: str
    channel: str
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    journal_seq: int = 0  # the head of the case's journal stream
    journal_hash: str = GENESIS

    @classmethod
    def from_row(cls, row: Any) -> CaseRow:
        return cls(**{name: getattr(row, name) for name in _CASE_FIELDS})

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _CASE_FIELDS if name != "id"}


_CASE_FIELDS = tuple(CaseRow.__dataclass_fields__)

load_case = select(cases).where(cases.c.reference == bindparam("reference"))

_cas_update = (
    update(cases)
    .where(
        cases.c.id == bindparam("b_id"),
        cases.c.version == bindparam("b_seen"),
        cases.c.journal_seq == bindparam("b_seen_seq"),
    )
    .values(
        state=bindparam("state"),
        data=bindparam("data"),
        pending=bindparam("pending"),
        version=cases.c.version + 1,
        updated_at=bindparam("updated_at"),
        closed_at=bindparam("closed_at"),
        journal_seq=bindparam("journal_seq"),
        journal_hash=bindparam("journal_hash"),
    )
)
_cas = Prepared(_cas_update)
_cas_migrate = Prepared(
    _cas_update.where(cases.c.definition_hash == bindparam("b_hash")).values(
        definition_hash=bindparam("definition_hash")
    )
)
_case_heads = select(cases.c.version, cases.c.journal_seq, cases.c.journal_hash).where(
    cases.c.id == bindparam("b_id")
)
_close_approval = Prepared(
    update(approvals)
    .where(
        approvals.c.case_reference == bindparam("b_reference"),
        approvals.c.decided_at.is_(None),
    )
    .values(
        decided_by=bindparam("decided_by"),
        decided_at=bindparam("decided_at"),
        decision=bindparam("decision"),
        reason=bindparam("reason"),
    )
)
insert_case = Prepared(insert(cases))
insert_approval = Prepared(insert(approvals))
insert_idempotency = insert(idempotency)
find_idempotency = select(idempotency.c.fingerprint, idempotency.c.response).where(
    idempotency.c.key == bindparam("key"), idempotency.c.actor == bindparam("actor")
)
forget_idempotency = delete(idempotency).where(idempotency.c.created_at < bindparam("cutoff"))
_sequence_last = select(sequences.c.last).where(
    sequences.c.branch == bindparam("branch"), sequences.c.day == bindparam("day")
)
_sequence_step = Prepared(
    update(sequences)
    .where(
        sequences.c.branch == bindparam("b_branch"),
        sequences.c.day == bindparam("b_day"),
        sequences.c.last == bindparam("b_seen"),
    )
    .values(last=bindparam("last"))
)

STALE = Text(
    zh="案件已被他人更新,请刷新后重试",
    en="The case changed since you loaded it; reload and try again",
)


_insert_ignore: dict[tuple[str, str], Prepared] = {}


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows``, skipping any that collide with a unique key; returns how many went in.

    ``ON CONFLICT DO NOTHING`` rather than catching the error: on PostgreSQL
    a failed insert would abort the whole transaction.
    """
    if not rows:
        return 0
    key = (conn.dialect.name, table.name)
    statement = _insert_ignore.get(key)
    if statement is None:
        if key[0] == "postgresql":
            statement = Prepared(postgresql.insert(table).on_conflict_do_nothing())
        elif key[0] == "sqlite":
            statement = Prepared(sqlite.insert(table).on_conflict_do_nothing())
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise NotImplementedError(key[0])
        _insert_ignore[key] = statement
    if len(rows) == 1:
        return statement.execute(conn, rows[0]).rowcount
    return statement.execute_many(conn, rows)


def compare_and_set(
    conn: Connection,
    *,
    case_id: int,
    seen_version: int,
    state: str,
    data: Mapping[str, Any] | JSONText,
    pending: Mapping[str, Any] | None,
    updated_at: datetime,
    closed_at: datetime | None,
    reference: str,
    entry: dict[str, Any],
    migrate: tuple[str, str] | None = None,
) -> dict[str, Any] | None:
    """Move the case one version on and its journal head to ``entry`` (from ``journal.chain``).

    ``migrate`` is ``(from_hash, to_hash)`` when a migration moves the case
    to another definition version: the case must still be on ``from_hash``.

    Raises ``StaleVersion`` if someone else moved the case first. If only the
    journal moved (a slip or hand-over entry written since ``entry`` was
    chained), ``entry`` is chained again after the stored head; the entry
    returned is the one to record. If a refusal was journaled meanwhile, the
    step was decided without it (a wrong code counts against the next one):
    ``None``, and the caller decides again. ``data`` may come as
    ``JSONText``, already encoded (the step hashes it anyway).
    """
    params = {
        "b_id": case_id,
        "b_seen": seen_version,
        "state": state,
        "data": data if isinstance(data, JSONText) else dict(data),
        "pending": dict(pending) if pending is not None else None,
        "updated_at": updated_at,
        "closed_at": closed_at,
    }
    statement = _cas
    if migrate is not None:
        statement = _cas_migrate
        params.update(b_hash=migrate[0], definition_hash=migrate[1])
    for _ in range(2):
        moved = statement.execute(
            conn,
            {**params, "b_seen_seq": entry["seq"] - 1, "journal_seq": entry["seq"],
             "journal_hash": entry["hash"]},
        )
        if moved.rowcount == 1:
            return entry
        stored = conn.execute(_case_heads, {"b_id": case_id}).first()
        if stored is None or stored.version != seen_version:
            break
        if journal.refusals_since_step(conn, reference, after=entry["seq"] - 1):
            return None
        entry = journal.rechain(entry, (stored.journal_seq, stored.journal_hash))
    raise StaleVersion(STALE, reference=reference, version=seen_version)


def close_approval(
    conn: Connection,
    *,
    reference: str,
    decided_by: str,
    decided_at: datetime,
    decision: str,
    reason: str | None,
) -> None:
    _close_approval.execute(
        conn,
        {
            "b_reference": reference,
            "decided_by": decided_by,
            "decided_at": decided_at,
            "decision": decision,
            "reason": reason,
        },
    )


_last_numbers: dict[tuple[str, str], int] = {}  # what this process gave out last


def next_reference(conn: Connection, *, branch: str, now: datetime) -> str:
    """``BRANCH-YYYYMMDD-NNNNNN``: the branch's next number for the local day (compare-and-set).

    The number this process gave out last is tried first, which saves a read
    when (as usual) no other process numbered a case of the branch since.
    """
    day = now.astimezone(REFERENCE_ZONE).strftime("%Y%m%d")
    seen = _last_numbers.get((branch, day))
    for _ in range(20):
        if seen is None:
            seen = conn.execute(_sequence_last, {"branch": branch, "day": day}).scalar()
        if seen is None:
            if insert_ignore(conn, sequences, [{"branch": branch, "day": day, "last": 1}]):
                return _given(branch, day, 1)
            continue
        moved = _sequence_step.execute(
            conn, {"b_branch": branch, "b_day": day, "b_seen": seen, "last": seen + 1}
        )
        if moved.rowcount == 1:
            return _given(branch, day, seen + 1)
        seen = None
    raise StaleVersion(
        Text(zh="案件编号分配冲突,请重试", en="Could not number the case; try again"),
        branch=branch,
    )


def _given(branch: str, day: str, number: int) -> str:
    # Remembered before commit: if the transaction rolls back, the next
    # compare-and-set simply misses and reads the stored number.
    _last_numbers[(branch, day)] = number
    return f"{branch}-{day}-{number:06d}"
