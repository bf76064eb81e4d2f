"""The JSON shapes of the wire contract, both ways (the adapters read them, the simulator writes).

Names and formats are docs/integration.md's and docs/integration/*.yaml's:
times are RFC 3339 in UTC, dates ``YYYY-MM-DD``, amounts whole cents, texts
for people ``{"zh": ..., "en": ...}``. A field missing or of the wrong type
in an answer is the peer's fault: ``WireError``, which the adapters treat
as "try later" (the same request, resent, may well get a good answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from counter.adapters.acquirer import (
    AccountType,
    ExecutionOutcome,
    Merchant,
    MerchantStatus,
    SettlementAccount,
    Terminal,
)
from counter.adapters.identity import IdentityOutcome, IdentityResult
from counter.adapters.sms import SmsReceipt
from counter.text import Text

__all__ = [
    "WireError",
    "account_from_wire",
    "account_to_wire",
    "error_body",
    "execution_from_wire",
    "identity_from_wire",
    "identity_to_wire",
    "instant",
    "merchant_from_wire",
    "merchant_to_wire",
    "receipt_from_wire",
    "receipt_to_wire",
    "terminal_from_wire",
    "terminal_to_wire",
]


class WireError(ValueError):
    """An answer that does not have the contract's shape."""


def instant(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(body: Mapping[str, Any], name: str) -> datetime:
    raw = _text(body, name)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WireError(f"{name}: not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise WireError(f"{name}: the time has no zone")
    return moment.astimezone(UTC)


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise WireError(f"{name}: a string is required")
    return value


def _int(body: Mapping[str, Any], name: str, *, optional: bool = False) -> int | None:
    value = body.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError(f"{name}: a whole number is required")
    return value


def _choice(body: Mapping[str, Any], name: str, allowed: type[Any]) -> Any:
    try:
        return allowed(_text(body, name))
    except ValueError as exc:
        raise WireError(f"{name}: not one of the contract's values") from exc


def _message(body: Mapping[str, Any]) -> Text:
    value = body.get("message")
    if not isinstance(value, Mapping):
        raise WireError("message: {zh, en} is required")
    return Text(zh=_text(value, "zh"), en=_text(value, "en"))


def error_body(code: str, message: Text, *, retryable: bool) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": {"zh": message.zh, "en": message.en},
            "retryable": retryable,
        }
    }


# -- acquirer -------------------------------------------------------------------------------


def merchant_to_wire(merchant: Merchant) -> dict[str, Any]:
    changed = merchant.last_binding_change
    return {
        "merchant_no": merchant.merchant_no,
        "merchant_name": merchant.merchant_name,
        "uscc": merchant.uscc,
        "legal_rep_name": merchant.legal_rep_name,
        "legal_rep_id_number": merchant.legal_rep_id_number,
        "registered_phone": merchant.registered_phone,
        "status": str(merchant.status),
        "pending_settlement_cents": merchant.pending_settlement_cents,
        "last_binding_change": changed.isoformat() if changed is not None else None,
    }


def merchant_from_wire(body: Mapping[str, Any]) -> Merchant:
    changed = body.get("last_binding_change")
    try:
        last_change = date.fromisoformat(changed) if isinstance(changed, str) else None
    except ValueError as exc:
        raise WireError("last_binding_change: not a YYYY-MM-DD date") from exc
    pending = _int(body, "pending_settlement_cents")
    return Merchant(
        merchant_no=_text(body, "merchant_no"),
        merchant_name=_text(body, "merchant_name"),
        uscc=_text(body, "uscc"),
        legal_rep_name=_text(body, "legal_rep_name"),
        legal_rep_id_number=_text(body, "legal_rep_id_number"),
        registered_phone=_text(body, "registered_phone"),
        status=_choice(body, "status", MerchantStatus),
        pending_settlement_cents=pending or 0,
        last_binding_change=last_change,
    )


def terminal_to_wire(terminal: Terminal) -> dict[str, Any]:
    return {
        "merchant_no": terminal.merchant_no,
        "terminal_sn": terminal.terminal_sn,
        "terminal_id": terminal.terminal_id,
    }


def terminal_from_wire(body: Mapping[str, Any]) -> Terminal:
    return Terminal(
        merchant_no=_text(body, "merchant_no"),
        terminal_sn=_text(body, "terminal_sn"),
        terminal_id=_text(body, "terminal_id"),
    )


def account_to_wire(account: SettlementAccount) -> dict[str, Any]:
    return {
        "account_type": str(account.account_type),
        "account_number": account.account_number,
        "holder": account.holder,
    }


def account_from_wire(body: Mapping[str, Any]) -> SettlementAccount:
    return SettlementAccount(
        account_type=_choice(body, "account_type", AccountType),
        account_number=_text(body, "account_number"),
        holder=_text(body, "holder"),
    )


def execution_from_wire(
    body: Mapping[str, Any],
) -> tuple[ExecutionOutcome, Text, str, datetime, bool]:
    """(outcome, message, acquirer_reference, executed_at, replayed) of an execution answer."""
    outcome = _choice(body, "outcome", ExecutionOutcome)
    if outcome is ExecutionOutcome.UNAVAILABLE:
        raise WireError("outcome: unavailable is said with HTTP 503, not in an answer")
    return (
        outcome,
        _message(body),
        _text(body, "acquirer_reference"),
        _instant(body, "executed_at"),
        body.get("replayed") is True,
    )


# -- identity -------------------------------------------------------------------------------


def identity_to_wire(result: IdentityResult) -> dict[str, Any]:
    return {
        "outcome": str(result.outcome),
        "face_score": result.face_score,
        "reference": result.reference,
        "checked_at": instant(result.checked_at),
    }


def identity_from_wire(body: Mapping[str, Any]) -> IdentityResult:
    score = _int(body, "face_score", optional=True)
    if score is not None and not 0 <= score <= 100:
        raise WireError("face_score: from 0 to 100")
    return IdentityResult(
        outcome=_choice(body, "outcome", IdentityOutcome),
        face_score=score,
        reference=_text(body, "reference"),
        checked_at=_instant(body, "checked_at"),
    )


# -- sms ------------------------------------------------------------------------------------


def receipt_to_wire(receipt: SmsReceipt) -> dict[str, Any]:
    return {
        "key": receipt.key,
        "gateway_reference": receipt.gateway_reference,
        "accepted_at": instant(receipt.accepted_at),
        "replayed": receipt.replayed,
    }


def receipt_from_wire(body: Mapping[str, Any]) -> SmsReceipt:
    return SmsReceipt(
        key=_text(body, "key"),
        gateway_reference=_text(body, "gateway_reference"),
        accepted_at=_instant(body, "accepted_at"),
        replayed=body.get("replayed") is True,
    )
