"""Wiring the banking workflows to the outside world: outbox handlers and services.

The workflows' actions only write outbox effects; this module says who
delivers each kind:

* ``sms.send``: the SMS gateway, with the outbox key as its idempotency key;
* ``acquirer.unbind`` / ``acquirer.bind``: the acquirer, with the **case
  reference** as idempotency key, so that however often a message is
  delivered (a retry, a second dispatcher, a crash between commit and
  delivery) the acquirer executes once. ``done`` fires the on-success
  trigger with the answer; ``refused`` fires the on-failure trigger at once;
  ``unavailable`` raises ``PeerUnavailable``, so the dispatcher retries with backoff and fires
  the on-failure trigger when the retries are spent.

``slip.issue`` is the slip integration's to register. ``wire`` builds the
whole desk the way the web app, the CLI and the tests use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from counter.adapters import (
    AccountType,
    AcquirerResult,
    CodeRecord,
    build_adapters,
    issue_code,
    verify_code,
)
from counter.banking.rules import CODES, PASSWORDS, REFUSALS, CodeAnswer
from counter.banking.rules.channels import CASES
from counter.cases.desk import Desk
from counter.cases.dispatch import Dispatcher, OutboxMessage, Refused
from counter.cases.services import Services
from counter.cases.slip_wiring import register_slip_handler
from counter.config import Settings, get_settings
from counter.engine.loader import Catalog
from counter.engine.registry import Registry, default_registry
from counter.engine.runtime import Runtime
from counter.engine.types import Actor, CaseSnapshot
from counter.errors import NotFound, PeerUnavailable
from counter.store import lockout
from counter.store.db import Database, utcnow

__all__ = [
    "LocalCodes",
    "Wired",
    "case_lookup",
    "deliver_bind",
    "deliver_sms",
    "deliver_unbind",
    "delivery_options",
    "register_handlers",
    "teller_passwords",
    "wire",
    "wire_services",
]



def delivery_options(config: Settings) -> dict[str, Any]:
    """The dispatcher's options from the settings' ``outbox_*``: retries, lease, threads."""
    return {
        "max_attempts": config.outbox_max_attempts,
        "base_delay": timedelta(seconds=config.outbox_retry_base_seconds),
        "max_delay": timedelta(seconds=config.outbox_retry_max_seconds),
        "jitter": config.outbox_retry_jitter,
        "lease": timedelta(seconds=config.outbox_lease_seconds),
        "threads": config.outbox_threads,
    }


def teller_passwords(db: Database, settings: Settings | None = None) -> Callable[[str, str], str]:
    """``(username, password) -> "right" | "wrong" | "locked"``, under the sign-in lockout.

    A teller's sign-off password counts toward the same lockout as signing
    in (``counter.store.lockout``): a wrong one is counted and journaled on
    ``user:NAME``, and a locked teller's sign-off is refused unchecked.
    """
    chosen = settings or get_settings()
    policy = lockout.LockoutPolicy(
        after=chosen.lockout_after, duration=timedelta(minutes=chosen.lockout_minutes)
    )

    def check(username: str, password: str) -> str:
        return str(
            lockout.check_password(
                db, username=username, password=password, where="sign_off", now=utcnow(),
                policy=policy,
            )
        )

    return check


@dataclass(frozen=True)
class LocalCodes:
    """The rules' ``OneTimeCodes`` over ``counter.adapters.codes``: an HMAC under the secret key."""

    secret_key: str

    def issue(self, now: datetime) -> tuple[str, Mapping[str, Any]]:
        """The code and what the case keeps: no count, the journal's refusals are the count."""
        code, record = issue_code(self.secret_key, now=now)
        kept = record.as_vars()
        del kept["attempts"]
        return code, kept

    def verify(self, kept: Mapping[str, Any], entered: str, now: datetime) -> CodeAnswer:
        answer = verify_code(CodeRecord.from_vars(kept), entered, self.secret_key, now=now)
        return CodeAnswer(str(answer.outcome), answer.record.as_vars(), answer.attempts_left)


def wire_services(services: Services, db: Database) -> Services:
    """Fill in what the banking rules need and ``services`` lacks (adapters, passwords, codes)."""
    if services.identity is None or services.acquirer is None or services.sms is None:
        adapters = build_adapters(services.settings, db)
        services.identity = services.identity or adapters.identity
        services.acquirer = services.acquirer or adapters.acquirer
        services.sms = services.sms or adapters.sms
    services.extra.setdefault(PASSWORDS, teller_passwords(db, services.settings))
    services.extra.setdefault(CODES, LocalCodes(services.settings.secret_key))
    return services


def deliver_sms(message: OutboxMessage, services: Services) -> Mapping[str, Any]:
    payload = message.payload
    receipt = services.sms.send(str(payload["phone"]), str(payload["text"]), key=message.key)
    return {"gateway_reference": receipt.gateway_reference}


def _answer(result: AcquirerResult, operation: str) -> Mapping[str, Any] | Refused:
    answer = {
        "outcome": str(result.outcome),
        "acquirer_reference": result.acquirer_reference,
        "message": result.message.zh,
    }
    if result.done:
        return answer
    if result.retryable:
        # Raising makes the dispatcher retry with backoff (same reference, so still once);
        # the message, in both languages, is what the case page shows as the reason.
        raise PeerUnavailable(result.message, peer="acquirer", operation=operation)
    return Refused(reason=result.message.en, data=answer)


def deliver_unbind(message: OutboxMessage, services: Services) -> Mapping[str, Any] | Refused:
    payload = message.payload
    result = services.acquirer.execute_unbind(
        message.case_reference,
        str(payload["merchant_no"]),
        str(payload["terminal_sn"]),
        str(payload["account_number"]),
    )
    return _answer(result, "unbind")


def deliver_bind(message: OutboxMessage, services: Services) -> Mapping[str, Any] | Refused:
    payload = message.payload
    kind = payload.get("account_type")
    result = services.acquirer.execute_bind(
        message.case_reference,
        str(payload["merchant_no"]),
        str(payload["terminal_sn"]),
        str(payload["account_number"]),
        str(payload["holder"]),
        account_type=AccountType(kind) if kind else None,
    )
    return _answer(result, "bind")


def register_handlers(dispatcher: Dispatcher) -> Dispatcher:
    """The banking effect kinds, delivered through the services' adapters."""
    dispatcher.register_handler("sms.send", deliver_sms)
    dispatcher.register_handler("acquirer.unbind", deliver_unbind)
    dispatcher.register_handler("acquirer.bind", deliver_bind)
    return register_slip_handler(dispatcher)


@dataclass(frozen=True)
class Wired:
    desk: Desk
    dispatcher: Dispatcher


def case_lookup(desk: Desk) -> Callable[[str], CaseSnapshot | None]:
    """``services.extra["cases"]``: a case by reference, as the engine sees it (None: unknown).

    A teller picking up a referral from another branch's channel (phone,
    online) must find that case, which their own access would not show.
    """

    def find(reference: str) -> CaseSnapshot | None:
        try:
            return desk.snapshot(reference=reference, actor=Actor.system())
        except NotFound:
            return None

    return find


def wire(
    db: Database,
    *,
    settings: Settings | None = None,
    services: Services | None = None,
    registry: Registry | None = None,
    catalog: Catalog | None = None,
    attach: bool = True,
    **dispatcher_options: Any,
) -> Wired:
    """A desk over the workflows in ``settings`` with the banking rules and handlers.

    ``attach``: deliver right after each commit (the local adapters answer at
    once); without it, outbox messages wait for ``dispatcher.run_once()``.
    Retries follow the settings' ``outbox_*`` unless ``dispatcher_options`` say otherwise.
    """
    import counter.banking.rules  # noqa: F401  (registers the names the workflows use)

    config = settings or (services.settings if services is not None else get_settings())
    names = registry or default_registry
    found = catalog or Catalog.load(config.workflows_dir, config.forms_dir, names)
    services = wire_services(services or Services(settings=config, db=db), db)
    if services.db is None:
        services.db = db
    desk = Desk(db, Runtime(found, names), services)
    services.extra.setdefault(CASES, case_lookup(desk))
    services.extra.setdefault(REFUSALS, desk.refusals_since_step)
    dispatcher = register_handlers(
        Dispatcher(desk, **{**delivery_options(config), **dispatcher_options})
    )
    if attach:
        dispatcher.attach()
    return Wired(desk, dispatcher)
