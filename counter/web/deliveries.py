"""What a case waits for from outside systems, as the case page shows it to teller and supervisor.

An outbox message not yet delivered (``counter.cases.backlog``): which
system, since when, how many attempts, why the last one failed and when
the next comes. A code SMS that has not gone out while the case waits for
that code is said loudly: the teller must not ask the customer for it yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from counter.cases.backlog import waiting_deliveries
from counter.store.db import Database
from counter.text import Text

__all__ = ["DeliveryOut", "deliveries_out", "sms_not_sent"]

_KINDS = {
    "sms.send": Text(zh="验证码短信", en="Code SMS"),
    "acquirer.unbind": Text(zh="收单机构解绑", en="Unbind at the acquirer"),
    "acquirer.bind": Text(zh="收单机构绑定", en="Bind at the acquirer"),
    "slip.issue": Text(zh="凭条生成", en="Slip"),
}
_MAX_ERROR = 300
# The outbox keeps "ExceptionName: message"; the teller reads the message.
_EXCEPTION_NAME = re.compile(r"^[A-Z][A-Za-z]*(?:Error|Unavailable|Rejected|Exception): ")


@dataclass(frozen=True)
class DeliveryOut:
    kind: str
    title: Text
    attempts: int
    since: datetime
    next_attempt_at: datetime
    error: str | None


def deliveries_out(db: Database, reference: str) -> list[DeliveryOut]:
    """The case's waiting messages, oldest first (the caller has checked the reader's access)."""
    return [
        DeliveryOut(
            kind=d.kind,
            title=_KINDS.get(d.kind, Text(zh=d.kind, en=d.kind)),
            attempts=d.attempts,
            since=d.since,
            next_attempt_at=d.next_attempt_at,
            error=_EXCEPTION_NAME.sub("", d.last_error)[:_MAX_ERROR] if d.last_error else None,
        )
        for d in waiting_deliveries(db, reference)
    ]


def sms_not_sent(state: str, deliveries: list[DeliveryOut]) -> bool:
    """The case waits for a code whose SMS has failed at least once and is still not out."""
    return state == "code_check" and any(
        d.kind == "sms.send" and d.attempts > 0 for d in deliveries
    )
