"""The outbox dispatcher: deliver messages to outside systems after commit, exactly once.

A step writes its outbox rows in its own transaction; the dispatcher picks
them up afterwards. Each delivery is *claimed* first with a compare-and-set
(``UPDATE outbox SET attempts = attempts + 1, next_attempt_at = <lease end>
WHERE id = :id AND status = 'pending' AND next_attempt_at <= :now``; the
messages due together are claimed a few to a transaction): of several
processes, exactly one gets row count 1 and calls the handler. A
process that dies mid-delivery leaves the message claimed until the lease
ends, after which it is delivered again with the same key, which the
outside system uses as its idempotency key, so the effect still happens once.

The messages of one claim are delivered side by side, on ``threads``
threads: a peer that answers slowly or times out holds one of them, not
every message behind it (a code SMS behind an acquirer's timeout).

The handler's answer and the case's follow-up trigger (``on_success`` with
the answer as its data, or ``on_failure`` once the retries are spent) commit
in one transaction with marking the message delivered or failed.

An effect that stays inside this database and is idempotent by itself (the
slip: rendered, then stored as copy 0 unless copy 0 exists) needs no claim:
its handler (``register_local_handler``) writes its result and *settles*
the message in one transaction. Two deliverers at once cost a render twice,
never a second slip; a crash before that commit leaves the message due, to
be delivered again. One write transaction instead of three.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from counter.cases import records
from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.engine.types import Actor
from counter.errors import CounterError, StaleVersion
from counter.store.db import as_utc

__all__ = [
    "REDACTED",
    "REDACT_KEY",
    "Dispatcher",
    "Handler",
    "LocalHandler",
    "OutboxMessage",
    "Refused",
    "Settle",
    "redacted",
]

log = logging.getLogger(__name__)

_outbox = records.outbox
_due = (
    select(_outbox.c.id, _outbox.c.kind)
    .where(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= bindparam("now"),
           _outbox.c.kind.in_(bindparam("kinds", expanding=True)))
    .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
    .limit(bindparam("limit"))
)
_next_due = select(func.min(_outbox.c.next_attempt_at)).where(
    _outbox.c.status == "pending", _outbox.c.kind.in_(bindparam("kinds", expanding=True))
)
_due_for_case = _due.where(_outbox.c.case_reference == bindparam("reference"))
_claim = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending",
           _outbox.c.next_attempt_at <= bindparam("b_now"))
    .values(attempts=_outbox.c.attempts + 1, next_attempt_at=bindparam("lease_until"))
)
_load = select(_outbox).where(_outbox.c.id == bindparam("id"))
_finish = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending")
    .values(
        status=bindparam("status"),
        result=bindparam("result"),
        delivered_at=bindparam("delivered_at"),
        last_error=bindparam("last_error"),
        payload=bindparam("payload"),
    )
)
_retry_later = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending")
    .values(next_attempt_at=bindparam("next_attempt_at"), last_error=bindparam("last_error"))
)
# Unclaimed (local) deliveries count their attempt when they settle or fail.
_retry_unclaimed = _retry_later.values(attempts=_outbox.c.attempts + 1)
_settle_unclaimed = _finish.values(attempts=_outbox.c.attempts + 1)


CLAIM_BATCH = 10
"""Messages claimed in one transaction: few enough that the last is delivered well within
its lease even when the outside system is slow."""

REDACT_KEY = "redact_after_delivery"
REDACTED = "[已删除 / redacted]"


@dataclass(frozen=True)
class OutboxMessage:
    """One message as a handler receives it. ``key`` is the idempotency key to pass on."""

    id: int
    case_reference: str
    kind: str
    key: str
    payload: Mapping[str, Any]
    attempt: int  # 1 for the first delivery
    on_success: str | None
    on_failure: str | None


def redacted(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as kept once its message is settled: keys it lists under
    ``REDACT_KEY`` (a one-time code's SMS text, say) are blanked, so the
    database does not keep a secret that only the delivery needed."""
    secret = set(payload.get(REDACT_KEY) or ())
    return {key: REDACTED if key in secret else value for key, value in payload.items()}


@dataclass(frozen=True)
class Refused:
    """A handler's answer for a final no (do not retry): fire ``on_failure`` at once.

    ``data`` becomes the failure trigger's form data.
    """

    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)


Handler = Callable[[OutboxMessage, Services], "Mapping[str, Any] | Refused | None"]
"""Deliver one message; return the answer (a mapping, may be empty) or ``Refused``.

Raise for a transient failure: the message is retried with backoff.
"""

Settle = Callable[[Connection, "Mapping[str, Any]"], None]
"""``settle(conn, answer)``: mark the message delivered with ``answer``, in ``conn``."""

LocalHandler = Callable[[OutboxMessage, Services, Settle], "Mapping[str, Any]"]
"""Deliver an idempotent effect inside this database: write it and call ``settle`` in the
same transaction (or not at all when nothing needed writing), and return the answer.

Raise for a failure: the message is retried with backoff, ``on_failure`` fired once the
retries are spent.
"""


class Dispatcher:
    """Delivers due outbox messages through the handlers registered by effect kind."""

    def __init__(
        self,
        desk: Desk,
        *,
        max_attempts: int = 5,
        base_delay: timedelta = timedelta(seconds=2),
        max_delay: timedelta = timedelta(minutes=10),
        lease: timedelta = timedelta(minutes=2),
        jitter: float = 0.0,
        threads: int = 1,
    ) -> None:
        self.desk = desk
        self.db = desk.db
        self.services = desk.services
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.jitter = min(max(jitter, 0.0), 1.0)
        self._handlers: dict[str, Handler] = {}
        self._local_handlers: dict[str, LocalHandler] = {}
        self._local = threading.local()
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_guard = threading.Lock()

    def _each(self, messages: list[OutboxMessage]) -> Iterable[bool]:
        """``_deliver`` of each message, side by side on the pool when there are several."""
        if self.threads == 1 or len(messages) < 2:
            return [self._deliver(message) for message in messages]
        with self._pool_guard:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.threads, thread_name_prefix="counter-delivery",
                    initializer=self._mark_running,
                )
        return list(self._pool.map(self._deliver, messages))

    def _mark_running(self) -> None:
        # A follow-up step committed on a pool thread must not start a delivery loop there.
        self._local.running = True

    def register_handler(self, kind: str, handler: Handler) -> None:
        """Deliver messages of ``kind`` (``sms.send``, ``acquirer.unbind``...) with ``handler``."""
        self._handlers[kind] = handler

    def register_local_handler(self, kind: str, handler: LocalHandler) -> None:
        """Deliver ``kind`` without a claim (see the module docstring): the slip."""
        self._local_handlers[kind] = handler

    @property
    def kinds(self) -> list[str]:
        """The effect kinds this dispatcher delivers."""
        return sorted({*self._handlers, *self._local_handlers})

    def attach(self) -> None:
        """Deliver right after every step that writes outbox messages, in its process
        (``COUNTER_OUTBOX_DELIVERY=inline``: tests, the CLI; the server rings the worker).

        Only that case's messages: a request never waits on other cases'
        deliveries or retries, which ``run_once()`` on a timer (the outbox
        worker, the web app's housekeeping thread, ``counter sweep``) takes care of.
        """
        self.desk.add_commit_listener(self._after_commit)

    def _after_commit(self, reference: str) -> None:
        if getattr(self._local, "running", False):
            return  # the loop already running in this thread picks the new message up
        self.run_once(reference=reference)

    def next_due(self) -> datetime | None:
        """When the earliest pending message this dispatcher delivers falls due (a claimed
        one: when its lease ends); None when none is pending."""
        if not self.kinds:
            return None
        with self.db.read() as conn:
            due = conn.execute(_next_due, {"kinds": self.kinds}).scalar()
        return as_utc(due) if due is not None else None

    def backoff(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1, 2, ...).

        With ``jitter`` (0 to 1), up to that share is taken off at random, so
        that the messages an outage failed together do not all come back to
        the peer in the same second; never later than without it.
        """
        delay: timedelta = min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)
        if self.jitter:
            delay *= 1 - self.jitter * random.random()  # noqa: S311  (spreading, not secrecy)
        return delay

    def run_once(self, *, limit: int = 100, reference: str | None = None) -> int:
        """Deliver every message due now (of one case, given ``reference``);
        returns how many were finished (either way)."""
        if not self.kinds:
            return 0
        self._local.running = True
        finished = 0
        try:
            # Again while messages are due: those written by follow-ups are due at once, and
            # local effects go one a round.
            for _ in range(10 + limit):
                now = self.services.now()
                with self.db.read() as conn:
                    query = _due if reference is None else _due_for_case
                    due = conn.execute(
                        query,
                        {"now": now, "kinds": self.kinds, "limit": limit, "reference": reference},
                    ).all()
                if not due:
                    break
                remote = [i for i, kind in due if kind not in self._local_handlers]
                for start in range(0, len(remote), CLAIM_BATCH):
                    claimed = self._claim(remote[start:start + CLAIM_BATCH])
                    finished += sum(self._each(claimed))
                # One local effect (a slip's render, ~100 ms) a round: an SMS or an unbind
                # written meanwhile goes out after it, not after every slip waiting.
                local = next((i for i, kind in due if kind in self._local_handlers), None)
                if local is not None:
                    finished += self._deliver_local(local)
        finally:
            self._local.running = False
        return finished

    def _claim(self, message_ids: list[int]) -> list[OutboxMessage]:
        """Claim each of ``message_ids`` that is still due, all in one transaction."""
        if not message_ids:
            return []
        now = self.services.now()
        claimed = []
        with self.db.transaction() as conn:
            for message_id in message_ids:
                taken = conn.execute(
                    _claim, {"b_id": message_id, "b_now": now, "lease_until": now + self.lease}
                )
                if taken.rowcount == 1:  # else another process has it, or it was finished
                    claimed.append(self._message(conn.execute(_load, {"id": message_id}).one()))
        return claimed

    def _deliver_local(self, message_id: int) -> bool:
        with self.db.read() as conn:
            row = conn.execute(_load, {"id": message_id}).first()
        if row is None or row.status != "pending":
            return False  # finished meanwhile
        message = self._message(row, attempt=row.attempts + 1)
        joins = message.on_success is None  # else the follow-up step's transaction marks it
        settled = []

        def settle(conn: Connection, answer: Mapping[str, Any]) -> None:
            if joins:
                self._mark(conn, message, "delivered", answer, None, _settle_unclaimed)
                settled.append(True)

        try:
            answer = dict(self._local_handlers[message.kind](message, self.services, settle))
        except Exception as exc:
            return self._failed(message, exc, _retry_unclaimed)
        if not joins:
            self._finish(message, "delivered", answer, None, message.on_success, answer)
        elif not settled:  # nothing needed writing (delivered before): settle on its own
            with self.db.transaction() as conn:
                settle(conn, answer)
        return True

    def _message(self, row: Any, *, attempt: int | None = None) -> OutboxMessage:
        return OutboxMessage(
            id=row.id,
            case_reference=row.case_reference,
            kind=row.kind,
            key=row.key,
            payload=dict(row.payload),
            attempt=row.attempts if attempt is None else attempt,
            on_success=row.on_success,
            on_failure=row.on_failure,
        )

    def _deliver(self, message: OutboxMessage) -> bool:
        handler = self._handlers[message.kind]
        try:
            answer = handler(message, self.services)
        except Exception as exc:  # any failure of an outside system is retried
            return self._failed(message, exc, _retry_later)
        if isinstance(answer, Refused):
            self._finish(
                message, "failed", None, answer.reason, message.on_failure,
                {"error": answer.reason, **answer.data},
            )
            return True
        result = dict(answer or {})
        self._finish(message, "delivered", result, None, message.on_success, result)
        return True

    def _failed(self, message: OutboxMessage, exc: Exception, retry: Any) -> bool:
        """Retry ``message`` with backoff, or fail it once its attempts are spent."""
        error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "delivery of %s for %s failed (attempt %s): %s",
            message.kind, message.case_reference, message.attempt, error,
        )
        if message.attempt < self.max_attempts:
            with self.db.transaction() as conn:
                conn.execute(
                    retry,
                    {
                        "b_id": message.id,
                        "next_attempt_at": self.services.now() + self.backoff(message.attempt),
                        "last_error": error,
                    },
                )
            return False
        self._finish(message, "failed", None, error, message.on_failure, {"error": error})
        return True

    def _mark(
        self,
        conn: Connection,
        message: OutboxMessage,
        status: str,
        result: Mapping[str, Any] | None,
        note: str | None,
        statement: Any = _finish,
    ) -> None:
        conn.execute(
            statement,
            {
                "b_id": message.id,
                "status": status,
                "result": dict(result) if result is not None else None,
                "delivered_at": self.services.now() if status == "delivered" else None,
                "last_error": note,
                "payload": redacted(message.payload),
            },
        )

    def _finish(
        self,
        message: OutboxMessage,
        status: str,
        result: Mapping[str, Any] | None,
        error: str | None,
        follow_up: str | None,
        data: Mapping[str, Any],
    ) -> None:
        def mark(conn: Connection, note: str | None = error) -> None:
            self._mark(conn, message, status, result, note)

        if follow_up is None:
            with self.db.transaction() as conn:
                mark(conn)
            return
        for _ in range(5):
            try:
                self.desk.step(
                    reference=message.case_reference,
                    trigger=follow_up,
                    actor=Actor.system(),
                    data=self._form_data(message.case_reference, follow_up, data),
                    version=None,
                    within=mark,
                )
                return
            except StaleVersion:
                continue  # a person moved the case meanwhile: decide again on the new version
            except CounterError as refused:
                log.warning(
                    "follow-up %s of %s for %s refused: %s",
                    follow_up, message.kind, message.case_reference, refused.message.en,
                )
                with self.db.transaction() as conn:
                    mark(conn, f"follow-up {follow_up} refused: {refused.message.en}")
                return
        with self.db.transaction() as conn:
            mark(conn, f"follow-up {follow_up} kept meeting a newer version")

    def _form_data(self, reference: str, trigger: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` limited to the fields the follow-up trigger's form declares."""
        snapshot = self.desk.snapshot(reference=reference, actor=Actor.system())
        form = self.desk.runtime.form_for(snapshot, trigger)
        names = {f.name for f in form.fields} if form is not None else set()
        return {k: v for k, v in data.items() if k in names}
