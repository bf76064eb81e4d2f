"""The acquirer: its merchant registry, and executing an unbind or bind of a settlement account.

``AcquirerRegistry`` is what the workflow asks (read-only look-ups, in its
checks) and what the outbox dispatcher calls to change a binding
(``execute_unbind`` / ``execute_bind``). Execution is idempotent by case
reference: a second call with the same reference answers the first result
and changes nothing, so a dispatcher that delivers twice, or retries after a
crash, never unbinds twice.

Outcomes: ``done`` and ``refused`` are final and are what a repeat answers;
``unavailable`` is transient: the dispatcher retries with backoff, and the
retry executes for real.

The built-in implementation is ``counter.adapters.local_acquirer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from counter.text import Text

__all__ = [
    "AccountType",
    "AcquirerRegistry",
    "AcquirerResult",
    "BindResult",
    "ExecutionOutcome",
    "ExecutionRecord",
    "Merchant",
    "MerchantStatus",
    "SettlementAccount",
    "SimulatedFailure",
    "Terminal",
    "UnbindResult",
]


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    RISK_FLAGGED = "risk_flagged"
    FROZEN_JUDICIAL = "frozen_judicial"
    CLOSED = "closed"


class AccountType(StrEnum):
    PERSONAL_CARD = "personal_card"
    CORPORATE = "corporate"


class ExecutionOutcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"  # final: the acquirer will not do it; a supervisor decides
    UNAVAILABLE = "unavailable"  # transient: retry later with the same reference


class SimulatedFailure(StrEnum):
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Merchant:
    """A merchant as registered with the acquirer (unmasked: mask before showing)."""

    merchant_no: str
    merchant_name: str
    uscc: str
    legal_rep_name: str
    legal_rep_id_number: str
    registered_phone: str
    status: MerchantStatus
    pending_settlement_cents: int
    last_binding_change: date | None


@dataclass(frozen=True)
class Terminal:
    merchant_no: str
    terminal_sn: str
    terminal_id: str


@dataclass(frozen=True)
class SettlementAccount:
    """The account a terminal settles to."""

    account_type: AccountType
    account_number: str
    holder: str


@dataclass(frozen=True)
class AcquirerResult:
    """The acquirer's answer to one execution request."""

    reference: str  # the idempotency key the request carried
    outcome: ExecutionOutcome
    message: Text
    acquirer_reference: str  # the acquirer's own id of the execution, for the slip and journal
    executed_at: datetime
    replayed: bool = False  # True when this answers a repeat from the first execution's record

    @property
    def done(self) -> bool:
        return self.outcome is ExecutionOutcome.DONE

    @property
    def retryable(self) -> bool:
        return self.outcome is ExecutionOutcome.UNAVAILABLE


class UnbindResult(AcquirerResult):
    """Answer to ``execute_unbind``."""


class BindResult(AcquirerResult):
    """Answer to ``execute_bind``."""


@dataclass(frozen=True)
class ExecutionRecord:
    """The local acquirer's record of one reference's execution (tests, demos, support)."""

    operation: str
    reference: str
    merchant_no: str
    terminal_sn: str
    account_masked: str
    outcome: ExecutionOutcome
    acquirer_reference: str
    attempts: int
    replays: int
    executed_at: datetime


@runtime_checkable
class AcquirerRegistry(Protocol):
    """The acquirer's merchant registry and binding changes."""

    def merchant(self, merchant_no: str) -> Merchant | None: ...

    def terminals(self, merchant_no: str) -> list[Terminal]: ...

    def settlement_account(self, merchant_no: str, terminal_sn: str) -> SettlementAccount | None:
        """The account bound to that merchant's terminal; None if unknown there or unbound."""
        ...

    def execute_unbind(
        self, reference: str, merchant_no: str, terminal_sn: str, account_number: str
    ) -> UnbindResult:
        """Unbind ``account_number`` from the terminal, once per ``reference``.

        ``reference`` is the idempotency key, unique across cases: the case
        reference, or the outbox message's key where a supervisor's retry
        must count as a new request. Up to 200 characters.
        """
        ...

    def execute_bind(
        self,
        reference: str,
        merchant_no: str,
        terminal_sn: str,
        account_number: str,
        holder: str,
        *,
        account_type: AccountType | None = None,
    ) -> BindResult:
        """Bind an account to an unbound terminal. Without ``account_type`` the acquirer decides."""
        ...
