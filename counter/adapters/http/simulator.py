"""A peer that speaks the wire contract, over its own data, with faults on demand.

``counter simulate acquirer|identity|sms --port P`` runs one in its own
process. It keeps its data in its own SQLite database, loaded from the same
CSV files as the local adapters (``counter registry import`` and
``counter identity import``; the demo files by default), and answers
through the local implementations, so the business answers are the same as
in demo mode. What it adds is the network: signatures checked and made,
idempotency keys honoured (a repeat gets the first answer), and the faults
of ``counter.adapters.http.faults``. This module is the peer's logic; the
server on the socket, which checks signatures and applies the faults, is
``counter.adapters.http.sim_server``.

It counts, per idempotency key, the requests that reached it and the
executions that changed something (``GET /_sim/ledger``): a test proves
"exactly once" there. ``/_sim/*`` is the control surface (unsigned: the
simulator listens on loopback only):

* ``GET /_sim/health``; ``GET /_sim/ledger`` (per key: ``arrivals``, signed
  requests before any fault; ``requests`` that reached the engine;
  ``executions``; ``replays``);
* ``GET /_sim/faults``, ``POST /_sim/faults`` (a partial ``FaultPlan``);
* ``GET /_sim/messages?phone=...`` (SMS: what was sent, newest first).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from counter.adapters.acquirer import AccountType, AcquirerResult, ExecutionOutcome
from counter.adapters.http.faults import Faults
from counter.adapters.http.wire import (
    account_to_wire,
    error_body,
    identity_to_wire,
    instant,
    merchant_to_wire,
    receipt_to_wire,
    terminal_to_wire,
)
from counter.adapters.identity import LocalIdentityVerifier
from counter.adapters.local_acquirer import LocalAcquirerRegistry
from counter.adapters.sms import LocalSmsGateway
from counter.store.db import Database
from counter.text import Text

__all__ = ["KINDS", "Ledger", "Simulator", "build_simulator"]

log = logging.getLogger(__name__)

KINDS = ("acquirer", "identity", "sms")
MAX_KEY = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: Mapping[str, Any]
    executed: bool = False  # this request changed something at the peer
    headers: Mapping[str, str] = field(default_factory=dict)


class Refusal(Exception):
    """An error answer: status and contract error code."""

    def __init__(self, status: int, code: str, message: Text, *, retryable: bool = False) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(code)

    def answer(self) -> Answer:
        headers = {"Retry-After": "1"} if self.retryable else {}
        return Answer(
            self.status,
            error_body(self.code, self.message, retryable=self.retryable),
            headers=headers,
        )


class Ledger:
    """Per idempotency key: requests received, executions, the first answer and its body hash."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.keys: dict[str, dict[str, Any]] = {}
        self._answers: dict[str, Answer] = {}
        self._busy: dict[str, threading.Lock] = {}
        self._arrivals: dict[str, int] = {}

    def arrived(self, key: str) -> None:
        """A signed request with this key reached the simulator (before any fault)."""
        with self._lock:
            self._arrivals[key] = self._arrivals.get(key, 0) + 1

    def received(self, key: str, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            entry = self.keys.setdefault(
                key, {"requests": 0, "executions": 0, "replays": 0, "body": digest}
            )
            entry["requests"] += 1
            if entry["body"] != digest:
                raise Refusal(
                    422,
                    "idempotency_key_reused",
                    Text(
                        zh="同一幂等键的请求内容不一致。",
                        en="This idempotency key came with a different body before.",
                    ),
                )

    def lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._busy.setdefault(key, threading.Lock())

    def first_answer(self, key: str) -> Answer | None:
        with self._lock:
            return self._answers.get(key)

    def settle(self, key: str, answer: Answer, *, keep: bool) -> None:
        with self._lock:
            entry = self.keys[key]
            if answer.executed:
                entry["executions"] += 1
            else:
                entry["replays"] += 1 if key in self._answers else 0
            if keep and key not in self._answers:
                self._answers[key] = answer

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            keys = {
                key: {name: value for name, value in entry.items() if name != "body"}
                for key, entry in self.keys.items()
            }
            for key, count in self._arrivals.items():
                keys.setdefault(key, {"requests": 0, "executions": 0, "replays": 0})
                keys[key]["arrivals"] = count
        return {
            "keys": keys,
            "arrivals": sum(self._arrivals.values()),
            "executions": sum(entry["executions"] for entry in keys.values()),
            "requests": sum(entry["requests"] for entry in keys.values()),
        }


_INVALID = Text(zh="请求内容不符合接口约定。", en="The request does not have the contract's shape.")
_NOT_FOUND = Text(zh="没有此资源。", en="No such resource.")


def _field(body: Mapping[str, Any], name: str, *, optional: bool = False) -> str:
    value = body.get(name)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise Refusal(
            422,
            "invalid_request",
            Text(zh=f"{name}:{_INVALID.zh}", en=f"{name}: {_INVALID.en}"),
        )
    return value


def _parse(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Refusal(400, "invalid_json", _INVALID)
    return parsed


class Simulator:
    """One peer's routes over its local implementation (no network here: see ``serve``)."""

    def __init__(self, kind: str, db: Database, keys: Mapping[str, str], skew: float) -> None:
        self.kind = kind
        self.db = db
        self.keys = dict(keys)
        self.skew = skew
        self.faults = Faults()
        self.ledger = Ledger()
        self.acquirer = LocalAcquirerRegistry(db)
        self.identity = LocalIdentityVerifier(db)
        self.sms = LocalSmsGateway(db)

    # -- routing -------------------------------------------------------------------------

    def route(self, method: str, path: str, body: bytes, key: str) -> Answer:
        """The answer to a verified request (``Refusal`` raised as an error answer)."""
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if method == "GET" and parts == ["v1", "health"]:
            return Answer(200, {"status": "ok", "peer": self.kind})
        if method == "POST":
            if not key:
                raise Refusal(
                    400,
                    "idempotency_key_required",
                    Text(zh="缺少 Idempotency-Key。", en="Idempotency-Key is required."),
                )
            if len(key) > MAX_KEY:
                raise Refusal(400, "idempotency_key_too_long", _INVALID)
            return self._once(key, body, lambda: self._post(parts, _parse(body), key))
        if method == "GET" and self.kind == "acquirer":
            return self._lookup(parts)
        raise Refusal(404, "not_found", _NOT_FOUND)

    def _once(self, key: str, body: bytes, run: Callable[[], Answer]) -> Answer:
        """Execute once per key; a repeat (or a concurrent duplicate) gets the first answer."""
        self.ledger.received(key, body)
        with self.ledger.lock_for(key):
            first = self.ledger.first_answer(key)
            if first is not None:
                replay = Answer(
                    first.status, {**first.body, "replayed": True}, headers=first.headers
                )
                self.ledger.settle(key, replay, keep=False)
                return replay
            try:
                answer = run()
            except Refusal as refusal:
                answer = refusal.answer()
            # Only final answers are kept: a 503 must let the retry execute for real.
            self.ledger.settle(key, answer, keep=answer.status < 500)
            return answer

    def _post(self, parts: list[str], body: dict[str, Any], key: str) -> Answer:
        if self.kind == "acquirer" and parts in (["v1", "unbinds"], ["v1", "binds"]):
            return self._execute(parts[1], body, key)
        if self.kind == "identity" and parts == ["v1", "verifications"]:
            result = self.identity.verify(
                _field(body, "id_type"), _field(body, "id_number"), _field(body, "name")
            )
            return Answer(200, identity_to_wire(result), executed=True)
        if self.kind == "sms" and parts == ["v1", "messages"]:
            receipt = self.sms.send(_field(body, "phone"), _field(body, "text"), key=key)
            return Answer(200, receipt_to_wire(receipt), executed=not receipt.replayed)
        raise Refusal(404, "not_found", _NOT_FOUND)

    def _execute(self, operation: str, body: dict[str, Any], key: str) -> Answer:
        reference = _field(body, "reference")
        merchant_no = _field(body, "merchant_no")
        terminal_sn = _field(body, "terminal_sn")
        account_number = _field(body, "account_number")
        result: AcquirerResult
        if operation == "unbinds":
            result = self.acquirer.execute_unbind(key, merchant_no, terminal_sn, account_number)
        else:
            kind = _field(body, "account_type", optional=True)
            try:
                account_type = AccountType(kind) if kind else None
            except ValueError:
                raise Refusal(422, "invalid_request", _INVALID) from None
            result = self.acquirer.execute_bind(
                key,
                merchant_no,
                terminal_sn,
                account_number,
                _field(body, "holder"),
                account_type=account_type,
            )
        if result.outcome is ExecutionOutcome.UNAVAILABLE:
            raise Refusal(503, "unavailable", result.message, retryable=True)
        return Answer(
            200,
            {
                "reference": reference,
                "outcome": str(result.outcome),
                "message": {"zh": result.message.zh, "en": result.message.en},
                "acquirer_reference": result.acquirer_reference,
                "executed_at": instant(result.executed_at),
                "replayed": result.replayed,
            },
            executed=not result.replayed,
        )

    def _lookup(self, parts: list[str]) -> Answer:
        if len(parts) >= 3 and parts[:2] == ["v1", "merchants"]:
            merchant = self.acquirer.merchant(parts[2])
            if merchant is not None:
                if len(parts) == 3:
                    return Answer(200, merchant_to_wire(merchant))
                if parts[3:] == ["terminals"]:
                    terminals = self.acquirer.terminals(parts[2])
                    return Answer(200, {"terminals": [terminal_to_wire(t) for t in terminals]})
                if len(parts) == 6 and parts[3] == "terminals" and parts[5] == "settlement-account":
                    account = self.acquirer.settlement_account(parts[2], parts[4])
                    if account is not None:
                        return Answer(200, account_to_wire(account))
        raise Refusal(404, "not_found", _NOT_FOUND)

    def control(self, method: str, path: str, query: str, body: bytes) -> Answer:
        """``/_sim/*``: health, ledger, faults, messages."""
        if path == "/_sim/health":
            return Answer(200, {"status": "ok", "peer": self.kind})
        if path == "/_sim/ledger":
            return Answer(200, self.ledger.as_json())
        if path == "/_sim/faults":
            if method == "POST":
                try:
                    self.faults.update(_parse(body))
                except (TypeError, ValueError) as exc:
                    raise Refusal(422, "invalid_request", Text(zh=str(exc), en=str(exc))) from exc
            return Answer(
                200, {"plan": self.faults.plan.as_json(), "injected": dict(self.faults.injected)}
            )
        if path == "/_sim/messages" and self.kind == "sms":
            wanted = parse_qs(query).get("phone")
            phone = wanted[0] if wanted else None
            messages = self.sms.outbox(phone=phone, limit=20)
            return Answer(
                200,
                {
                    "messages": [
                        {
                            "phone": m.phone,
                            "text": m.text,
                            "key": m.key,
                            "sent_at": instant(m.sent_at),
                        }
                        for m in messages
                    ]
                },
            )
        raise Refusal(404, "not_found", _NOT_FOUND)


def build_simulator(
    kind: str,
    db: Database,
    *,
    keys: Mapping[str, str],
    skew: float = 300.0,
    merchants: Path | bytes | None = None,
    people: Path | bytes | None = None,
) -> Simulator:
    """A simulator over ``db`` (tables created here), loaded with the given files or the demo."""
    from counter.adapters.demo import load_demo
    from counter.store import registry_tables  # noqa: F401  (registers the tables)

    if kind not in KINDS:
        raise ValueError(f"unknown simulator {kind!r}; one of {', '.join(KINDS)}")
    db.create_all()
    simulator = Simulator(kind, db, keys, skew)
    if merchants is None and people is None:
        load_demo(db)
    if merchants is not None:
        simulator.acquirer.import_merchants(merchants)
    if people is not None:
        simulator.identity.import_people(people)
    return simulator
