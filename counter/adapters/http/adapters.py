"""The three Protocols over HTTP: the acquirer, identity verification, SMS.

Each holds a ``PeerClient`` and speaks the contract of docs/integration.md.
How "the peer did not answer" comes out differs by what the caller can do:

* acquirer executions answer ``ExecutionOutcome.UNAVAILABLE``, so that the
  outbox dispatcher retries later with the same idempotency key;
* identity verification answers ``IdentityOutcome.UNAVAILABLE`` at once
  (the breaker makes it immediate while the service is down), which raises
  the supervisor's manual check finding;
* look-ups (merchant, terminals, settlement account) and SMS raise
  ``PeerUnavailable``: a teller's step says "try again later", and the
  dispatcher retries an SMS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from counter.adapters._store import new_reference
from counter.adapters.acquirer import (
    AccountType,
    AcquirerResult,
    BindResult,
    ExecutionOutcome,
    Merchant,
    SettlementAccount,
    Terminal,
    UnbindResult,
)
from counter.adapters.http.breaker import BreakerState
from counter.adapters.http.cache import LookupCache
from counter.adapters.http.client import PeerAnswer, PeerClient
from counter.adapters.http.wire import (
    WireError,
    account_from_wire,
    execution_from_wire,
    identity_from_wire,
    merchant_from_wire,
    receipt_from_wire,
    terminal_from_wire,
)
from counter.adapters.identity import IdentityOutcome, IdentityResult
from counter.adapters.sms import SmsReceipt
from counter.errors import PeerError, PeerUnavailable
from counter.store.db import utcnow
from counter.text import Text

__all__ = ["HttpAcquirerRegistry", "HttpIdentityVerifier", "HttpSmsGateway", "idempotency_key"]

log = logging.getLogger(__name__)

_Result = TypeVar("_Result", bound=AcquirerResult)
_Parsed = TypeVar("_Parsed")


def idempotency_key(reference: str, step: str) -> str:
    """The key of one request: the case reference (or outbox key) and the step, ``REF:step``."""
    return f"{reference}:{step}"


def _segment(value: str) -> str:
    return quote(value.strip(), safe="")


class _Peer:
    def __init__(self, client: PeerClient) -> None:
        self.client = client

    def available(self) -> bool:
        """False while the peer's breaker is open: calls would be refused without trying."""
        return self.client.breaker.state is not BreakerState.OPEN

    def close(self) -> None:
        self.client.close()


class HttpAcquirerRegistry(_Peer):
    """The registry (``/v1/merchants``) and executions (``/v1/unbinds``, ``/v1/binds``).

    Look-ups are kept ``cache_seconds`` (``counter.adapters.http.cache``).
    """

    def __init__(self, client: PeerClient, *, cache_seconds: float = 2.0) -> None:
        super().__init__(client)
        self.cache = LookupCache(cache_seconds)

    def _get(self, operation: str, path: str) -> PeerAnswer | None:
        return self.cache.get(path, lambda: self.client.get(operation, path))

    def merchant(self, merchant_no: str) -> Merchant | None:
        answer = self._get("merchant", f"/v1/merchants/{_segment(merchant_no)}")
        return None if answer is None else _parsed(self.client, merchant_from_wire, answer.body)

    def terminals(self, merchant_no: str) -> list[Terminal]:
        answer = self._get("terminals", f"/v1/merchants/{_segment(merchant_no)}/terminals")
        if answer is None:
            return []
        rows = answer.body.get("terminals")
        if not isinstance(rows, list):
            raise _broken(self.client, "terminals: a list is required")
        return [_parsed(self.client, terminal_from_wire, row) for row in rows]

    def settlement_account(self, merchant_no: str, terminal_sn: str) -> SettlementAccount | None:
        path = (
            f"/v1/merchants/{_segment(merchant_no)}/terminals/{_segment(terminal_sn)}"
            "/settlement-account"
        )
        answer = self._get("settlement_account", path)
        return None if answer is None else _parsed(self.client, account_from_wire, answer.body)

    def execute_unbind(
        self, reference: str, merchant_no: str, terminal_sn: str, account_number: str
    ) -> UnbindResult:
        body = {
            "reference": reference,
            "merchant_no": merchant_no,
            "terminal_sn": terminal_sn,
            "account_number": account_number,
        }
        return self._execute("unbind", "/v1/unbinds", reference, body, UnbindResult)

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
        body = {
            "reference": reference,
            "merchant_no": merchant_no,
            "terminal_sn": terminal_sn,
            "account_number": account_number,
            "holder": holder,
            "account_type": str(account_type) if account_type is not None else None,
        }
        return self._execute("bind", "/v1/binds", reference, body, BindResult)

    def _execute(
        self,
        step: str,
        path: str,
        reference: str,
        body: Mapping[str, object],
        answer: type[_Result],
    ) -> _Result:
        # Whatever comes of it, this merchant's registry may change: ask afresh next time
        # (before, and after, for a look-up made meanwhile).
        merchant = f"/v1/merchants/{_segment(str(body['merchant_no']))}"
        self.cache.forget(merchant)
        try:
            reply = self.client.post(step, path, body, key=idempotency_key(reference, step))
            outcome, message, acquirer_reference, executed_at, replayed = execution_from_wire(
                reply.body
            )
        except (PeerUnavailable, WireError) as exc:
            text = exc.message if isinstance(exc, PeerError) else _BROKEN
            return answer(
                reference=reference,
                outcome=ExecutionOutcome.UNAVAILABLE,
                message=text,
                acquirer_reference="",
                executed_at=utcnow(),
            )
        finally:
            self.cache.forget(merchant)
        return answer(
            reference=reference,
            outcome=outcome,
            message=message,
            acquirer_reference=acquirer_reference,
            executed_at=executed_at,
            replayed=replayed,
        )


class HttpIdentityVerifier(_Peer):
    """Identity verification over ``POST /v1/verifications``."""

    def verify(self, id_type: str, id_number: str, name: str) -> IdentityResult:
        # A read, but the national system may bill per query: one key per check, kept on retries.
        key = idempotency_key(new_reference("CHECK"), "verify")
        body = {"id_type": id_type, "id_number": id_number, "name": name}
        try:
            reply = self.client.post("verify", "/v1/verifications", body, key=key)
            return identity_from_wire(reply.body)
        except (PeerError, WireError) as exc:
            # Rejected too: the teller cannot fix a gateway's refusal, a supervisor can check
            # the documents by hand; the log and /metrics tell operations what went wrong.
            log.warning("identity verification unavailable: %s", exc)
            return IdentityResult(
                outcome=IdentityOutcome.UNAVAILABLE,
                face_score=None,
                reference=key,
                checked_at=utcnow(),
            )


class HttpSmsGateway(_Peer):
    """Text messages over ``POST /v1/messages``; ``PeerUnavailable`` makes the outbox retry."""

    def send(self, phone: str, text: str, *, key: str) -> SmsReceipt:
        body = {"phone": "".join(phone.split()), "text": text}
        reply = self.client.post("send", "/v1/messages", body, key=idempotency_key(key, "sms"))
        return _parsed(self.client, receipt_from_wire, reply.body)


_BROKEN = Text(
    zh="对方系统的应答格式不符合接口约定,稍后重试。",
    en="The peer's answer does not have the contract's shape; trying again later.",
)


def _broken(client: PeerClient, detail: str) -> PeerUnavailable:
    log.warning("%s answered out of contract: %s", client.link.peer, detail)
    return PeerUnavailable(_BROKEN, peer=client.link.peer, reason="bad_answer")


def _parsed(
    client: PeerClient, parse: Callable[[Mapping[str, Any]], _Parsed], body: Any
) -> _Parsed:
    if not isinstance(body, Mapping):
        raise _broken(client, "an object is required")
    try:
        return parse(body)
    except WireError as exc:
        raise _broken(client, str(exc)) from exc
