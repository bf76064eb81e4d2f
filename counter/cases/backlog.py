"""What waits in the outbox: per kind, how many messages and since when (``/metrics``, pages).

A message is waiting while its status is ``pending``: not yet delivered, or
delivered and failed with retries left. ``oldest`` is when the oldest of
them was written, so "the acquirer has been unreachable for 20 minutes"
reads straight off it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from counter.cases import records
from counter.store.db import Database, as_utc

__all__ = ["Backlog", "outbox_backlog"]

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
