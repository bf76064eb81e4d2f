"""What waits in the outbox: per kind, how many messages and since when (``/metrics``, pages).

A message is waiting while its status is ``pending``: not yet delivered, or
delivered and failed with retries left. ``oldest`` is when the oldest of
them was written, so "the acquirer has been unreachable for 20 minutes"
reads straight off it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from counter.cases import records
from counter.store.db import Database, as_utc

__all__ = ["Backlog", "Delivery", "delivery_progress", "outbox_backlog", "waiting_deliveries"]

_outbox = records.outbox
_waiting = (
    select(
        _outbox.c.kind,
        func.count().label("waiting"),
        func.min(_outbox.c.created_at).label("oldest"),
        func.max(_outbox.c.attempts).label("attempts"),
    )
    .where(_outbox.c.status == "pending")
    .group_by(_outbox.c.kind)
    .order_by(_outbox.c.kind)
)
_failed = (
    select(_outbox.c.kind, func.count().label("failed"))
    .where(_outbox.c.status == "failed")
    .group_by(_outbox.c.kind)
)


@dataclass(frozen=True)
class Backlog:
    kind: str  # sms.send, acquirer.unbind, ...
    waiting: int
    oldest: datetime | None  # when the oldest waiting message was written (UTC)
    most_attempts: int  # the most delivery attempts any waiting message has had
    failed: int  # messages given up on (their case went to its on-failure state)


def outbox_backlog(db: Database) -> list[Backlog]:
    """One ``Backlog`` per kind that has waiting or failed messages."""
    with db.read() as conn:
        waiting = {row.kind: row for row in conn.execute(_waiting)}
        failed = {row.kind: int(row.failed) for row in conn.execute(_failed)}
    return [
        Backlog(
            kind=kind,
            waiting=int(waiting[kind].waiting) if kind in waiting else 0,
            oldest=as_utc(waiting[kind].oldest) if kind in waiting else None,
            most_attempts=int(waiting[kind].attempts or 0) if kind in waiting else 0,
            failed=failed.get(kind, 0),
        )
        for kind in sorted({*waiting, *failed})
    ]


@dataclass(frozen=True)
class Delivery:
    """One of a case's outbox messages that has not been delivered yet."""

    kind: str
    attempts: int  # 0: queued, never tried yet
    since: datetime  # when the step that wrote it committed (UTC)
    next_attempt_at: datetime
    last_error: str | None  # why the last attempt failed (no personal data: adapters' errors)


_of_case = (
    select(
        _outbox.c.kind,
        _outbox.c.attempts,
        _outbox.c.created_at,
        _outbox.c.next_attempt_at,
        _outbox.c.last_error,
    )
    .where(_outbox.c.case_reference == bindparam("reference"), _outbox.c.status == "pending")
    .order_by(_outbox.c.created_at, _outbox.c.id)
)


_progress = select(
    func.coalesce(func.sum(_outbox.c.attempts), 0),
    func.count(_outbox.c.id).filter(_outbox.c.status != "pending"),
).where(_outbox.c.case_reference == bindparam("reference"))


def delivery_progress(conn: Connection, reference: str) -> int:
    """A count that grows with every delivery of the case's messages attempted or settled.

    An SMS sent writes no journal entry; beside the journal's head, this is
    what tells a page watching the case that its deliveries panel changed.
    """
    attempts, settled = conn.execute(_progress, {"reference": reference}).one()
    return int(attempts) + int(settled)


def waiting_deliveries(db: Database, reference: str) -> list[Delivery]:
    """The case's messages still waiting, oldest first: what the teller is waiting for."""
    with db.read() as conn:
        rows = conn.execute(_of_case, {"reference": reference}).all()
    return [
        Delivery(
            kind=row.kind,
            attempts=int(row.attempts),
            since=as_utc(row.created_at),
            next_attempt_at=as_utc(row.next_attempt_at),
            last_error=row.last_error,
        )
        for row in rows
    ]
