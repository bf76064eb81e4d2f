"""The application service: open cases and fire triggers, one transaction per step.

``Desk.fire`` loads the case, lets the pure engine decide *outside* any
write transaction (checks may ask outside systems), then writes everything
the step changes in one transaction: the case (compare-and-set on its
version), the journal entry, the approval row, outbox messages and the
idempotency record. Either all of it commits or none of it does.

Who sees what: tellers and supervisors see and act on the cases of their own
branch only; auditors (and admins) read every case and change none; the
``system`` actor (dispatcher) acts on any.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from counter.cases import records
from counter.cases.services import Services
from counter.cases.views import ApprovalView, CaseSummary, CaseView, FindingView, JournalEntryView
from counter.engine.definition import BUILTIN_TRIGGERS
from counter.engine.loader import Workflow
from counter.engine.runtime import Runtime
from counter.engine.types import Actor, CaseSnapshot, Decision, PendingApproval
from counter.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from counter.store import journal
from counter.store.db import Database
from counter.store.tables import CaseEvent
from counter.text import Text

__all__ = ["CASE_ROLES", "READ_ALL_ROLES", "Desk"]

log = logging.getLogger(__name__)

CASE_ROLES = frozenset({"teller", "supervisor"})  # may open cases and act on them (own branch)
READ_ALL_ROLES = frozenset({"auditor", "admin", "system"})  # may read any branch's cases
SYSTEM = "system"

_events = CaseEvent.__table__  # type: ignore[attr-defined]
_last_step_findings = (
    select(_events.c.findings)
    .where(_events.c.stream == bindparam("stream"), _events.c.kind.in_(journal.STEP_KINDS))
    .order_by(_events.c.seq.desc())
    .limit(1)
)
_open_approval = select(records.approvals).where(
    records.approvals.c.case_reference == bindparam("reference"),
    records.approvals.c.decided_at.is_(None),
)

CommitListener = Callable[[str], None]


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from a JSON column (dates as text, tuples as lists)."""
    loaded: dict[str, Any] = json.loads(journal.canonical_json(data))
    return loaded


def _finding_views(raw: Any) -> list[FindingView]:
    return [FindingView.model_validate(f) for f in raw or []]


def _approval_view(row: Any, **extra: Any) -> ApprovalView:
    return ApprovalView(
        id=row.id,
        case_reference=row.case_reference,
        trigger=row.trigger,
        source=row.source,
        dest=row.dest,
        raised_by=row.raised_by,
        raised_at=row.raised_at,
        findings=_finding_views(row.findings),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision=row.decision,
        reason=row.reason,
        **extra,
    )


class Desk:
    """Cases as tellers, supervisors and auditors use them (see the module docstring)."""

    def __init__(self, db: Database, runtime: Runtime, services: Services | None = None) -> None:
        self.db = db
        self.runtime = runtime
        self.services = services if services is not None else Services(db=db)
        self._stored_definitions: set[str] = set()
        self._listeners: list[CommitListener] = []

    # --- listeners ---------------------------------------------------------

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call ``listener(reference)`` after every step that wrote outbox messages commits."""
        self._listeners.append(listener)

    def _committed(self, reference: str) -> None:
        for listener in self._listeners:
            try:
                listener(reference)
            except Exception:  # a failed delivery stays in the outbox; the step stands
                log.exception("commit listener failed for case %s", reference)

    # --- access ------------------------------------------------------------

    @staticmethod
    def _not_found(reference: str) -> NotFound:
        return NotFound(
            Text(zh=f"没有案件 {reference}", en=f"No case {reference}"), case=reference
        )

    def _check_read(self, branch: str, reference: str, actor: Actor) -> None:
        if actor.roles & READ_ALL_ROLES:
            return
        if not actor.roles & CASE_ROLES or actor.branch != branch:
            raise self._not_found(reference)

    def _check_change(self, branch: str, reference: str, actor: Actor) -> None:
        self._check_read(branch, reference, actor)
        if SYSTEM in actor.roles:
            return
        if not actor.roles & CASE_ROLES or actor.branch != branch:
            raise PermissionDenied(
                Text(
                    zh=f"{actor.username} 只能查看案件 {reference},不能办理",
                    en=f"{actor.username} may read case {reference} but not act on it",
                ),
                case=reference,
                actor=actor.username,
            )

    # --- loading -----------------------------------------------------------

    def _row(self, reference: str) -> Row[Any]:
        with self.db.read() as conn:
            row = conn.execute(records.load_case, {"reference": reference}).first()
        if row is None:
            raise self._not_found(reference)
        return row

    def workflow_of(self, definition_hash: str) -> Workflow:
        """A definition version: from the catalog, or brought back from its stored bundle."""
        if definition_hash in self.runtime.catalog:
            return self.runtime.catalog.get(definition_hash)
        with self.db.read() as conn:
            bundle = conn.execute(
                select(records.definitions.c.bundle).where(
                    records.definitions.c.hash == definition_hash
                )
            ).scalar()
        if bundle is None:
            return self.runtime.catalog.get(definition_hash)  # raises NotFound
        return self.runtime.catalog.add_bundle(bundle)

    @staticmethod
    def _snapshot(row: Any) -> CaseSnapshot:
        return CaseSnapshot(
            reference=row.reference,
            workflow=row.workflow,
            definition_hash=row.definition_hash,
            state=row.state,
            version=row.version,
            data=row.data,
            opened_by=row.opened_by,
            branch=row.branch,
            pending=PendingApproval.from_dict(row.pending) if row.pending else None,
            opened_at=row.opened_at,
        )

    def _view(
        self,
        snapshot: CaseSnapshot,
        row: Any,
        *,
        actor: Actor,
        findings: list[FindingView],
        pending: ApprovalView | None,
        updated_at: datetime,
        closed_at: datetime | None,
    ) -> CaseView:
        workflow = self.workflow_of(snapshot.definition_hash).definition
        final = workflow.states[snapshot.state].final
        may_act = bool(actor.roles & (CASE_ROLES | {SYSTEM})) and (
            SYSTEM in actor.roles or actor.branch == row.branch
        )
        return CaseView(
            reference=snapshot.reference,
            workflow=snapshot.workflow,
            title=workflow.title,
            definition_hash=snapshot.definition_hash,
            state=snapshot.state,
            state_title=workflow.state_title(snapshot.state),
            final=final,
            version=snapshot.version,
            data=dict(snapshot.data),
            findings=findings,
            pending=pending,
            available_triggers=(
                self.runtime.available_triggers(snapshot, actor) if may_act and not final else []
            ),
            opened_by=snapshot.opened_by,
            branch=row.branch,
            channel=row.channel,
            opened_at=row.opened_at,
            updated_at=updated_at,
            closed_at=closed_at,
        )

    # --- reading -----------------------------------------------------------

    def get(self, *, reference: str, actor: Actor) -> CaseView:
        with self.db.read() as conn:
            row = conn.execute(records.load_case, {"reference": reference}).first()
            if row is None:
                raise self._not_found(reference)
            self._check_read(row.branch, reference, actor)
            findings = conn.execute(_last_step_findings, {"stream": reference}).scalar()
            approval = (
                conn.execute(_open_approval, {"reference": reference}).first()
                if row.pending
                else None
            )
        return self._view(
            self._snapshot(row),
            row,
            actor=actor,
            findings=_finding_views(findings),
            pending=_approval_view(approval) if approval is not None else None,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
        )

    def snapshot(self, *, reference: str, actor: Actor) -> CaseSnapshot:
        """The case as the engine sees it (for presenters that need its definition)."""
        row = self._row(reference)
        self._check_read(row.branch, reference, actor)
        return self._snapshot(row)

    def journal(self, *, reference: str, actor: Actor | None = None) -> list[JournalEntryView]:
        """The case's journal, oldest first (``actor`` None: no access check, internal use)."""
        row = self._row(reference)
        if actor is not None:
            self._check_read(row.branch, reference, actor)
        with self.db.read() as conn:
            entries = journal.entries(conn, reference)
        return [
            JournalEntryView(
                **{
                    **dataclasses.asdict(e),
                    "findings": _finding_views(e.findings),
                }
            )
            for e in entries
        ]

    def list_cases(
        self, *, actor: Actor, state: str | None = None, limit: int = 200
    ) -> list[CaseSummary]:
        """The newest cases the actor may see, optionally in one state."""
        cases = records.cases
        query = select(cases).order_by(cases.c.updated_at.desc(), cases.c.id.desc()).limit(limit)
        if not actor.roles & READ_ALL_ROLES:
            if not actor.roles & CASE_ROLES or actor.branch is None:
                return []
            query = query.where(cases.c.branch == actor.branch)
        if state is not None:
            query = query.where(cases.c.state == state)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            CaseSummary(
                reference=r.reference,
                workflow=r.workflow,
                state=r.state,
                version=r.version,
                branch=r.branch,
                opened_by=r.opened_by,
                opened_at=r.opened_at,
                updated_at=r.updated_at,
                closed_at=r.closed_at,
                awaiting_approval=r.pending is not None,
            )
            for r in rows
        ]

    def approvals(self, *, actor: Actor, include_decided: bool = False) -> list[ApprovalView]:
        """Approvals waiting (or, with ``include_decided``, all) in the actor's reach."""
        a, c = records.approvals, records.cases
        query = (
            select(a, c.c.workflow, c.c.branch)
            .join(c, c.c.reference == a.c.case_reference)
            .order_by(a.c.raised_at, a.c.id)
        )
        if not include_decided:
            query = query.where(a.c.decided_at.is_(None))
        if not actor.roles & READ_ALL_ROLES:
            if not actor.roles & CASE_ROLES or actor.branch is None:
                return []
            query = query.where(c.c.branch == actor.branch)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [_approval_view(r, workflow=r.workflow, branch=r.branch) for r in rows]

    # --- opening -----------------------------------------------------------

    def open_case(self, *, workflow: str, actor: Actor, channel: str = "counter") -> CaseView:
        """Open a case of the current version of ``workflow`` at the actor's branch."""
        if not actor.roles & CASE_ROLES or not actor.branch:
            raise PermissionDenied(
                Text(
                    zh=f"{actor.username} 不能开立案件(需要柜员或主管角色及所属网点)",
                    en=f"{actor.username} may not open cases (teller or supervisor of a branch)",
                ),
                actor=actor.username,
            )
        branch = actor.branch
        current = self.runtime.catalog.current(workflow)
        now = self.services.now()
        with self.db.transaction() as conn:
            self._store_definition(conn, current, now)
            reference = records.next_reference(conn, branch=branch, now=now)
            snapshot, decision = self.runtime.start(
                workflow,
                reference=reference,
                actor=actor,
                services=self.services,
                now=now,
                branch=branch,
            )
            data = _plain(decision.data)
            snapshot = dataclasses.replace(snapshot, data=data, version=1, opened_at=now)
            conn.execute(
                records.insert_case,
                {
                    "reference": reference,
                    "workflow": snapshot.workflow,
                    "definition_hash": snapshot.definition_hash,
                    "state": decision.dest,
                    "data": data,
                    "pending": None,
                    "version": 1,
                    "branch": branch,
                    "channel": channel,
                    "opened_by": actor.username,
                    "opened_at": now,
                    "updated_at": now,
                    "closed_at": None,
                },
            )
            journal.append(
                conn,
                stream=reference,
                actor=actor.username,
                kind="open",
                at=now,
                trigger=decision.trigger,
                from_state=None,
                to_state=decision.dest,
                data_digest=journal.digest(data),
                note=channel,
            )
            wrote_outbox = self._write_outbox(conn, reference, decision, 1, now)
        self._stored_definitions.add(current.hash)
        if wrote_outbox:
            self._committed(reference)
        row = self._row(reference)
        return self._view(
            snapshot, row, actor=actor, findings=[], pending=None, updated_at=now, closed_at=None
        )

    def _store_definition(self, conn: Connection, workflow: Workflow, now: datetime) -> None:
        if workflow.hash in self._stored_definitions:
            return
        records.insert_ignore(
            conn,
            records.definitions,
            [{"hash": workflow.hash, "name": workflow.name, "bundle": workflow.bundle,
              "stored_at": now}],
        )

    @staticmethod
    def _write_outbox(
        conn: Connection, reference: str, decision: Decision, version: int, now: datetime
    ) -> bool:
        rows = [
            {
                "case_reference": reference,
                "kind": effect.kind,
                "key": f"{reference}/{effect.kind}/{effect.key or f'v{version}'}",
                "payload": _plain(effect.payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "on_success": effect.on_success,
                "on_failure": effect.on_failure,
            }
            for effect in decision.effects
        ]
        return records.insert_ignore(conn, records.outbox, rows) > 0

    # --- firing --------------------------------------------------------------

    def fire(
        self,
        *,
        reference: str,
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CaseView:
        """Apply ``trigger`` to the case at ``version`` (None: whatever is current).

        Raises ``StaleVersion`` when the case moved on since ``version``; a
        repeated ``idempotency_key`` from the same actor returns the first
        answer and changes nothing (a different request under it is refused).
        """
        form = dict(data or {})
        remember: tuple[str, str] | None = None
        if idempotency_key:
            fingerprint = journal.digest(
                {"reference": reference, "trigger": trigger, "data": form, "version": version}
            )
            remember = (idempotency_key, fingerprint)
            earlier = self._remembered(idempotency_key, actor, fingerprint)
            if earlier is not None:
                return earlier
        try:
            return self.step(
                reference=reference,
                trigger=trigger,
                actor=actor,
                data=form,
                version=version,
                remember=remember,
            )
        except StaleVersion:
            if remember is not None:  # the same request may have just won in another process
                earlier = self._remembered(remember[0], actor, remember[1])
                if earlier is not None:
                    return earlier
            raise

    def approve(
        self, *, reference: str, actor: Actor, version: int | None = None,
        comment: str | None = None, idempotency_key: str | None = None,
    ) -> CaseView:
        """The approval state's built-in ``approve`` trigger."""
        data = {"comment": comment} if comment else {}
        return self.fire(reference=reference, trigger="approve", actor=actor, data=data,
                         version=version, idempotency_key=idempotency_key)

    def reject(
        self, *, reference: str, actor: Actor, reason: str, version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CaseView:
        """The approval state's built-in ``reject`` trigger (a reason is required)."""
        return self.fire(reference=reference, trigger="reject", actor=actor,
                         data={"reason": reason}, version=version,
                         idempotency_key=idempotency_key)

    def _remembered(self, key: str, actor: Actor, fingerprint: str) -> CaseView | None:
        with self.db.read() as conn:
            row = conn.execute(
                records.find_idempotency, {"key": key, "actor": actor.username}
            ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise InvalidInput(
                Text(
                    zh="同一个幂等键已用于另一个请求",
                    en="This Idempotency-Key was already used for a different request",
                ),
                idempotency_key=key,
            )
        return CaseView.model_validate(row.response)

    def step(
        self,
        *,
        reference: str,
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any],
        version: int | None,
        remember: tuple[str, str] | None = None,
        within: Callable[[Connection], None] | None = None,
    ) -> CaseView:
        """One step without the idempotency look-up; ``within(conn)`` joins its transaction.

        The dispatcher passes ``within`` to mark its message delivered in the
        same transaction as the follow-up trigger.
        """
        row = self._row(reference)
        self._check_change(row.branch, reference, actor)
        if version is not None and version != row.version:
            raise StaleVersion(records.STALE, reference=reference, version=version)
        snapshot = self._snapshot(row)
        self.workflow_of(row.definition_hash)
        now = self.services.now()
        decision = self.runtime.decide(
            snapshot, trigger, actor, data, services=self.services, now=now
        )
        stored = _plain(decision.data)
        new_version = row.version + 1
        after = dataclasses.replace(
            snapshot,
            state=decision.dest,
            data=stored,
            version=new_version,
            pending=decision.pending,
        )
        findings = [f.as_dict() for f in decision.findings]
        closed_at = now if decision.final else None
        with self.db.transaction() as conn:
            records.compare_and_set(
                conn,
                case_id=row.id,
                seen_version=row.version,
                state=decision.dest,
                data=stored,
                pending=decision.pending.as_dict() if decision.pending else None,
                updated_at=now,
                closed_at=closed_at,
                reference=reference,
            )
            journal.append(
                conn,
                stream=reference,
                actor=actor.username,
                kind="approval" if trigger in BUILTIN_TRIGGERS else "trigger",
                at=now,
                trigger=trigger,
                from_state=decision.source,
                to_state=decision.dest,
                findings=findings,
                data_digest=journal.digest(stored),
                note=decision.note,
            )
            pending = self._write_approvals(conn, snapshot, decision, actor, now)
            wrote_outbox = self._write_outbox(conn, reference, decision, new_version, now)
            view = self._view(
                after,
                row,
                actor=actor,
                findings=_finding_views(_plain({"f": findings})["f"]),
                pending=pending,
                updated_at=now,
                closed_at=closed_at,
            )
            if remember is not None:
                conn.execute(
                    records.insert_idempotency,
                    {
                        "key": remember[0],
                        "actor": actor.username,
                        "fingerprint": remember[1],
                        "response": view.model_dump(mode="json"),
                        "created_at": now,
                    },
                )
            if within is not None:
                within(conn)
        if wrote_outbox:
            self._committed(reference)
        return view

    @staticmethod
    def _write_approvals(
        conn: Connection,
        before: CaseSnapshot,
        decision: Decision,
        actor: Actor,
        now: datetime,
    ) -> ApprovalView | None:
        if before.pending is not None:
            records.close_approval(
                conn,
                reference=before.reference,
                decided_by=actor.username,
                decided_at=now,
                decision=decision.trigger,
                reason=decision.note,
            )
        if decision.pending is None:
            return None
        pending = decision.pending
        values = {
            "case_reference": before.reference,
            "trigger": pending.trigger,
            "source": pending.source,
            "dest": pending.dest,
            "raised_by": pending.raised_by,
            "raised_at": now,
            "findings": _plain({"f": [f.as_dict() for f in pending.findings]})["f"],
        }
        key = conn.execute(records.insert_approval, values).inserted_primary_key
        assert key is not None
        return ApprovalView(
            id=int(key[0]),
            **{**values, "findings": _finding_views(values["findings"])},
        )
