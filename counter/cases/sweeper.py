"""The sweeper: open cases left idle too long expire, through the desk, as the system actor.

A workflow says where an idle case may expire by declaring the trigger
``expire`` with the role ``system``, from the states where closing it is
safe, into a final state (``expired`` by convention)::

    - trigger: expire
      source: [identity_check, info_check]   # or "*": every non-final state
      dest: expired
      roles: [system]
      form: expiry                            # optional; a ``reason`` field gets the reason

The engine has no other notion of expiry, so a workflow without such a
transition never has its cases expired, and neither do the states it leaves
out (a case waiting for an outside system's answer, for instance).

A case is idle when its ``updated_at`` (written by every step, with the
journal entry of that step) is older than ``settings.case_idle_hours``.
Each expiry is an ordinary step: ``Desk.step`` with the version the sweeper
read, so it is one transaction (case, journal entry, closed approval) and a
compare-and-set. A case someone moved meanwhile raises ``StaleVersion`` and
is skipped: it is no longer idle, and if it is idle again later a later
round takes it. For the same reason several sweepers may run at once, in
threads or processes, on SQLite or PostgreSQL: of those that pick the same
case, exactly one expires it and writes the one journal entry.

If the expiring transition's form has a field ``reason``, the sweeper fills
it in, and the desk journals it as the entry's note.

Each round also deletes the idempotency keys older than
``settings.idempotency_keep_hours`` (``Desk.forget_idempotency_keys``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import bindparam, select

from counter.cases import records
from counter.cases.desk import Desk
from counter.cases.dispatch import Dispatcher
from counter.cases.escalation import escalate_due
from counter.engine.definition import WorkflowDefinition
from counter.engine.types import Actor, CaseSnapshot
from counter.errors import CounterError, StaleVersion

__all__ = [
    "EXPIRE",
    "REASON_FIELD",
    "Echo",
    "SweepReport",
    "Sweeper",
    "expirable_states",
    "run_rounds",
    "sweep_round",
]

log = logging.getLogger(__name__)

EXPIRE = "expire"
REASON_FIELD = "reason"

SYSTEM_ROLES = Actor.system().roles
_cases = records.cases
_idle = (
    select(
        _cases.c.id,
        _cases.c.reference,
        _cases.c.workflow,
        _cases.c.definition_hash,
        _cases.c.state,
        _cases.c.version,
        _cases.c.opened_by,
        _cases.c.branch,
    )
    .where(
        _cases.c.closed_at.is_(None),
        _cases.c.updated_at < bindparam("cutoff"),
        _cases.c.id > bindparam("after"),
    )
    .order_by(_cases.c.id)
    .limit(bindparam("limit"))
)


def expirable_states(definition: WorkflowDefinition) -> frozenset[str]:
    """The non-final states from which ``expire``, fired by ``system``, leads to a final state."""
    found: set[str] = set()
    for transition in definition.transitions:
        if transition.trigger != EXPIRE or not SYSTEM_ROLES & set(transition.roles):
            continue
        dest = definition.states.get(transition.dest)
        if dest is None or not dest.final:
            continue
        found.update(
            source
            for source in definition.expand_sources(transition)
            if source in definition.states and not definition.states[source].final
        )
    return frozenset(found)


@dataclass(frozen=True)
class _IdleCase:
    """The columns of an idle case the sweeper needs (a row of ``_idle``)."""

    id: int
    reference: str
    workflow: str
    definition_hash: str
    state: str
    version: int
    opened_by: str
    branch: str


@dataclass
class SweepReport:
    """What one round did. ``stale`` cases moved meanwhile; ``refused`` ones the engine refused."""

    examined: int = 0
    expired: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    keys_forgotten: int = 0
    escalated: int = 0  # approvals escalated past their service time

    def __str__(self) -> str:
        line = (
            f"examined {self.examined}, expired {len(self.expired)}, "
            f"moved meanwhile {len(self.stale)}, refused {len(self.refused)}, "
            f"idempotency keys deleted {self.keys_forgotten}"
        )
        if self.escalated:
            line += f"; 审批升级 / approvals escalated: {self.escalated}"
        return line


class Sweeper:
    """Expires idle open cases (see the module docstring); one instance per process is enough."""

    def __init__(
        self, desk: Desk, *, idle: timedelta | None = None, batch_size: int = 200
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.desk = desk
        self.idle = (
            idle if idle is not None else timedelta(hours=desk.services.settings.case_idle_hours)
        )
        self.batch_size = batch_size
        self._expirable: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def _states(self, definition_hash: str) -> frozenset[str]:
        with self._lock:
            known = self._expirable.get(definition_hash)
        if known is not None:
            return known
        definition = self.desk.workflow_of(definition_hash).definition
        states = expirable_states(definition)
        if not states:
            log.info("workflow %s (%s) declares no expire: its cases never expire",
                     definition.name, definition_hash[:12])
        with self._lock:
            self._expirable[definition_hash] = states
        return states

    def reason(self) -> str:
        """The reason journaled with each expiry."""
        hours = self.idle.total_seconds() / 3600
        shown = f"{hours:g}"
        return f"闲置超过 {shown} 小时,系统自动关闭 / idle for more than {shown} hours: expired"

    def run_once(self) -> SweepReport:
        """Expire every case idle now (by the desk's clock), batch by batch; forget old keys;
        escalate the approvals past their service time."""
        cutoff = self.desk.services.now() - self.idle
        report = SweepReport()
        keep = timedelta(hours=self.desk.services.settings.idempotency_keep_hours)
        report.keys_forgotten = self.desk.forget_idempotency_keys(older_than=keep)
        report.escalated = len(escalate_due(self.desk))
        after = 0
        while True:
            with self.desk.db.read() as conn:
                batch = [
                    _IdleCase(**row._mapping)
                    for row in conn.execute(
                        _idle, {"cutoff": cutoff, "after": after, "limit": self.batch_size}
                    )
                ]
            for row in batch:
                report.examined += 1
                if row.state in self._states(row.definition_hash):
                    self._expire(row, report)
            if len(batch) < self.batch_size:
                return report
            after = batch[-1].id

    def _expire(self, case: _IdleCase, report: SweepReport) -> None:
        reference = case.reference
        snapshot = CaseSnapshot(
            reference=reference,
            workflow=case.workflow,
            definition_hash=case.definition_hash,
            state=case.state,
            version=case.version,
            data={},
            opened_by=case.opened_by,
            branch=case.branch,
        )
        try:
            form = self.desk.runtime.form_for(snapshot, EXPIRE)
            reason = form.field(REASON_FIELD) if form is not None else None
            data = {REASON_FIELD: self.reason()[: reason.max_length]} if reason else {}
            self.desk.step(
                reference=reference,
                trigger=EXPIRE,
                actor=Actor.system(),
                data=data,
                version=snapshot.version,
            )
        except StaleVersion:
            report.stale.append(reference)  # someone moved it, or another sweeper expired it
            return
        except CounterError as refused:
            log.warning("case %s was not expired: %s", reference, refused.message.en)
            report.refused[reference] = refused.message.en
            return
        log.info("case %s expired from %s", reference, snapshot.state)
        report.expired.append(reference)


Echo = Callable[[str], None]


def sweep_round(sweeper: Sweeper, dispatcher: Dispatcher | None, echo: Echo) -> None:
    """One round: expire idle cases, then deliver the outbox messages due."""
    report = sweeper.run_once()
    line = f"过期处理 / sweep: {report}"
    if dispatcher is not None:
        line += f"; 外发消息 / outbox: {dispatcher.run_once()} finished"
    echo(line)
    for reference, why in sorted(report.refused.items()):
        echo(f"  未过期 / not expired {reference}: {why}")


def run_rounds(
    sweeper: Sweeper,
    dispatcher: Dispatcher | None,
    *,
    interval: float,
    stop: threading.Event,
    echo: Echo,
    wait_first: bool = False,
) -> int:
    """Run rounds every ``interval`` seconds until ``stop`` is set; returns how many ran.

    A round that fails (the database restarting, say) is logged and the
    next one runs as usual: a long-running sweeper should outlive that.
    """
    rounds = 0
    if wait_first:
        stop.wait(interval)
    while not stop.is_set():
        try:
            sweep_round(sweeper, dispatcher, echo)
        except Exception:
            log.exception("sweep round failed; trying again in %s s", interval)
        rounds += 1
        stop.wait(interval)
    return rounds
