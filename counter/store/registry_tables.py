"""Tables behind the built-in local adapters (``counter.adapters``).

They stand in for systems a bank owns elsewhere: the acquirer's merchant
registry (merchants, their terminals and the settlement account bound to
each), the acquirer's record of executed unbind/bind requests, the national
identity system's answers for demo people, and an SMS gateway's sent box.
Only the local adapters read and write them; a bank that plugs in its own
adapters leaves them empty.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = [
    "AcquirerExecution",
    "IdentityPerson",
    "RegistryMerchant",
    "RegistryTerminal",
    "SmsMessage",
]


class RegistryMerchant(SQLModel, table=True):
    """A merchant as the acquirer knows it, loaded by ``counter registry import``."""

    __tablename__ = "registry_merchant"

    merchant_no: str = Field(primary_key=True, max_length=15)
    merchant_name: str = Field(max_length=200)
    uscc: str = Field(max_length=18)
    legal_rep_name: str = Field(max_length=100)
    legal_rep_id_number: str = Field(max_length=32)
    registered_phone: str = Field(max_length=20)
    status: str = Field(max_length=20)  # active | risk_flagged | frozen_judicial | closed
    pending_settlement_cents: int = Field(default=0, sa_type=BigInteger)
    last_binding_change: date | None = None
    # Failure the local acquirer shows on its next executions (tests and demos):
    # "refused" (a final no) or "unavailable" (a transient error, retried).
    simulated_failure: str | None = Field(default=None, max_length=16)
    simulated_failure_times: int = 0
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RegistryTerminal(SQLModel, table=True):
    """A merchant's POS terminal and the settlement account bound to it (none after an unbind)."""

    __tablename__ = "registry_terminal"

    terminal_sn: str = Field(primary_key=True, max_length=64)  # vendor serial number
    merchant_no: str = Field(foreign_key="registry_merchant.merchant_no", index=True, max_length=15)
    terminal_id: str = Field(max_length=8)
    account_type: str | None = Field(default=None, max_length=16)  # personal_card | corporate
    account_number: str | None = Field(default=None, max_length=40)
    account_holder: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AcquirerExecution(SQLModel, table=True):
    """One unbind or bind request as the local acquirer executed it: one row per case reference.

    The unique key is what makes execution idempotent: a repeat with the same
    reference reads this row instead of changing the registry again.
    """

    __tablename__ = "acquirer_execution"
    __table_args__ = (UniqueConstraint("operation", "reference", name="uq_acquirer_execution_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    operation: str = Field(max_length=8)  # unbind | bind
    reference: str = Field(max_length=200)  # idempotency key: case reference or outbox key
    merchant_no: str = Field(max_length=15)
    terminal_sn: str = Field(max_length=64)
    account_masked: str = Field(max_length=40)  # masked: the full number stays on the terminal row
    outcome: str = Field(max_length=16)  # done | refused | unavailable (the last one is retried)
    message_zh: str = Field(max_length=500)
    message_en: str = Field(max_length=500)
    acquirer_reference: str = Field(max_length=40)
    attempts: int = 1  # calls that reached the acquirer (a transient failure leaves room for more)
    replays: int = 0  # repeats answered from this row without executing
    executed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class IdentityPerson(SQLModel, table=True):
    """A person the local identity check answers for, loaded by ``counter identity import``."""

    __tablename__ = "identity_person"

    id_number: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    result: str = Field(max_length=16)  # match | mismatch | not_found | unavailable
    face_score: int | None = None  # 0-100, photo similarity
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SmsMessage(SQLModel, table=True):
    """A text the local SMS gateway "sent": shown by ``counter sms outbox`` (demo and tests)."""

    __tablename__ = "sms_message"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)  # idempotency key from the sender
    phone: str = Field(index=True, max_length=20)
    text: str = Field(max_length=1000)
    gateway_reference: str = Field(max_length=40)
    sent_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
