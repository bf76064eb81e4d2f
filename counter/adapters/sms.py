"""Text messages to customers' phones (the one-time unbind code).

``SmsGateway.send`` is reached only through the outbox, so it is called with
the outbox message's idempotency ``key``: a gateway must send once per key
and answer a repeat with the first receipt. ``LocalSmsGateway`` sends
nothing; it records each message so that ``counter sms outbox`` shows what a
customer would have received (demo and tests only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from counter.adapters._store import new_reference
from counter.banking.masking import mask_phone
from counter.store.db import Database, utcnow
from counter.store.registry_tables import SmsMessage

__all__ = ["LocalSmsGateway", "SentSms", "SmsGateway", "SmsReceipt"]

logger = logging.getLogger(__name__)

_MESSAGES = SmsMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SmsReceipt:
    """The gateway's acknowledgement; a repeat of ``key`` gets the first one back."""

    key: str
    gateway_reference: str
    accepted_at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class SentSms:
    """A message in the local gateway's record (full phone number: mask it to show it)."""

    phone: str
    text: str
    key: str
    gateway_reference: str
    sent_at: datetime


@runtime_checkable
class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, key: str) -> SmsReceipt: ...


class LocalSmsGateway:
    """Records messages in the ``sms_message`` table instead of sending them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def send(self, phone: str, text: str, *, key: str) -> SmsReceipt:
        number = "".join(phone.split())
        try:
            with self._db.transaction() as conn:
                previous = self._receipt(conn, key)
                if previous is not None:
                    return previous
                receipt = SmsReceipt(key, new_reference("LOCAL-SMS"), utcnow())
                conn.execute(
                    insert(_MESSAGES).values(
                        key=key,
                        phone=number,
                        text=text,
                        gateway_reference=receipt.gateway_reference,
                        sent_at=receipt.accepted_at,
                    )
                )
        except IntegrityError:
            # Another process recorded the same key first; answer with its receipt.
            with self._db.read() as conn:
                previous = self._receipt(conn, key)
            if previous is None:
                raise
            return previous
        logger.info("sms %s to %s recorded", receipt.gateway_reference, mask_phone(number))
        return receipt

    def outbox(self, *, phone: str | None = None, limit: int = 50) -> list[SentSms]:
        """The latest messages first, optionally to one phone number only."""
        query = select(_MESSAGES).order_by(_MESSAGES.c.id.desc()).limit(limit)
        if phone is not None:
            query = query.where(_MESSAGES.c.phone == "".join(phone.split()))
        with self._db.read() as conn:
            return [
                SentSms(row.phone, row.text, row.key, row.gateway_reference, row.sent_at)
                for row in conn.execute(query)
            ]

    @staticmethod
    def _receipt(conn: Connection, key: str) -> SmsReceipt | None:
        row = conn.execute(
            select(_MESSAGES.c.gateway_reference, _MESSAGES.c.sent_at).where(_MESSAGES.c.key == key)
        ).first()
        if row is None:
            return None
        return SmsReceipt(key, row.gateway_reference, row.sent_at, replayed=True)
