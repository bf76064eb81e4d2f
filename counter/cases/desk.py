"""The application service: open cases and fire triggers, one transaction per step.

``Desk.fire`` loads the case, lets the pure engine decide *outside* any
write transaction (checks may ask outside systems), then writes everything
the step changes in one transaction: the case (compare-and-set on its
version), the journal entry, the approval row, outbox messages and the
idempotency record. Either all of it commits or none of it does. Reading
and the access rules are in ``counter.cases.reading``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from counter.cases import records
from counter.cases.reading import (
    CASE_ROLES,
    OWN_CASE_ROLES,
    READ_ALL_ROLES,
    SYSTEM,
    CaseReader,
    finding_views,
    plain,
)
from counter.cases.records import CaseRow
from counter.cases.services import Services
from counter.cases.views import ApprovalView, CaseView
from counter.engine.definition import BUILTIN_TRIGGERS
from counter.engine.loader import Workflow
from counter.engine.runtime import Runtime
from counter.engine.types import Actor, CaseSnapshot, Decision, evolve
from counter.errors import InvalidInput, PermissionDenied, StaleVersion
from counter.store import journal
from counter.store.db import Database
from counter.store.prepared import JSONText
from counter.text import Text

__all__ = ["CASE_ROLES", "READ_ALL_ROLES", "CommitListener", "Desk"]

log = logging.getLogger(__name__)

CommitListener = Callable[[str], None]


class Desk(CaseReader):
    """Cases as tellers, supervisors and auditors use them (see the module docstring)."""

    def __init__(self, db: Database, runtime: Runtime, services: Services | None = None) -> None:
        super().__init__(db, runtime, services)
        self._stored_definitions: set[str] = set()
        self._opening_roles: dict[str, frozenset[str]] = {}  # by definition hash
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

    # --- opening -----------------------------------------------------------

    def openable(self, actor: Actor) -> list[Workflow]:
        """The current workflows ``actor`` may open a case of, in catalog order."""
        catalog = self.runtime.catalog
        return [
            current
            for current in (catalog.current(name) for name in catalog.names())
            if actor.roles & self._openers(current)
        ]

    def open_case(
        self,
        *,
        workflow: str,
        actor: Actor,
        channel: str | None = None,
        within: Callable[[Connection, str], None] | None = None,
    ) -> CaseView:
        """Open a case of the current version of ``workflow`` at the actor's branch.

        ``within(conn, reference)`` joins the opening's transaction (the counter
        session records the case there); if it raises, no case is opened.
        """
        if not actor.roles & (CASE_ROLES | OWN_CASE_ROLES) or not actor.branch:
            raise PermissionDenied(
                Text(
                    zh=f"{actor.username} 不能开立案件(需要柜员或主管角色及所属网点)",
                    en=f"{actor.username} may not open cases (teller or supervisor of a branch)",
                ),
                actor=actor.username,
            )
        branch = actor.branch
        current = self.runtime.catalog.current(workflow)
        definition = current.definition
        opening = self._openers(current)
        if not actor.roles & opening:
            raise PermissionDenied(
                Text(
                    zh=f"{actor.username} 不能开立“{definition.title.zh}”案件"
                    f"(可开立的角色:{'、'.join(sorted(opening))})",
                    en=f"{actor.username} may not open a '{definition.title.en}' case "
                    f"(opened by: {', '.join(sorted(opening))})",
                ),
                actor=actor.username,
                workflow=workflow,
            )
        channel = channel or definition.channel
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
                channel=channel,
            )
            data = plain(decision.data)
            snapshot = evolve(snapshot, data=data, version=1, opened_at=now)
            entry = journal.chain(
                stream=reference,
                after=(0, journal.GENESIS),
                actor=actor.username,
                kind="open",
                at=now,
                trigger=decision.trigger,
                from_state=None,
                to_state=decision.dest,
                data_digest=journal.digest(data),
                note=channel,
            )
            opened = CaseRow(
                id=0,
                reference=reference,
                workflow=snapshot.workflow,
                definition_hash=snapshot.definition_hash,
                state=decision.dest,
                data=data,
                pending=None,
                version=1,
                branch=branch,
                channel=channel,
                opened_by=actor.username,
                opened_at=now,
                updated_at=now,
                closed_at=None,
                journal_seq=entry["seq"],
                journal_hash=entry["hash"],
            )
            case_id = records.insert_case.execute(conn, opened.values()).lastrowid
            assert case_id is not None
            journal.record(conn, entry)
            wrote_outbox = self._write_outbox(conn, reference, decision, 1, now)
            if within is not None:
                within(conn, reference)
        opened = evolve(opened, id=case_id, data=plain(data))
        self._stored_definitions.add(current.hash)
        self._remember(opened)
        if wrote_outbox:
            self._committed(reference)
        return self._view(
            snapshot, opened, actor=actor, findings=[], pending=None, updated_at=now,
            closed_at=None, waiting=[effect.kind for effect in decision.effects],
        )

    def _openers(self, workflow: Workflow) -> frozenset[str]:
        """Who may open a case of ``workflow``: the roles of its first state's transitions.

        ``system`` aside; kept per definition version (each version is immutable).
        """
        found = self._opening_roles.get(workflow.hash)
        if found is None:
            found = workflow.definition.opening_roles() - {SYSTEM}
            self._opening_roles[workflow.hash] = found
        return found

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
                "payload": JSONText(journal.canonical_json(effect.payload)),
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
        except (StaleVersion, IntegrityError):
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
        row = self._row(reference, version)
        self.check_change(row.branch, reference, actor, row.opened_by)
        if version is not None and version != row.version:
            raise StaleVersion(records.STALE, reference=reference, version=version)
        snapshot = self._snapshot(row)
        self.workflow_of(row.definition_hash)
        now = self.services.now()
        decision = self.runtime.decide(
            snapshot, trigger, actor, data, services=self.services, now=now
        )
        stored_text = journal.canonical_json(decision.data)
        stored: dict[str, Any] = json.loads(stored_text)
        new_version = row.version + 1
        after = evolve(
            snapshot,
            state=decision.dest,
            data=stored,
            version=new_version,
            pending=decision.pending,
        )
        findings = [f.as_dict() for f in decision.findings]
        closed_at = now if decision.final else None
        entry = journal.chain(
            stream=reference,
            after=(row.journal_seq, row.journal_hash),
            actor=actor.username,
            kind="approval" if trigger in BUILTIN_TRIGGERS else "trigger",
            at=now,
            trigger=trigger,
            from_state=decision.source,
            to_state=decision.dest,
            findings=findings,
            data_digest=hashlib.sha256(stored_text.encode("utf-8")).hexdigest(),
            note=decision.note,
        )
        try:
            with self.db.transaction() as conn:
                entry = records.compare_and_set(
                    conn,
                    case_id=row.id,
                    seen_version=row.version,
                    state=decision.dest,
                    data=JSONText(stored_text),
                    pending=decision.pending.as_dict() if decision.pending else None,
                    updated_at=now,
                    closed_at=closed_at,
                    reference=reference,
                    entry=entry,
                )
                journal.record(conn, entry)
                pending = self._write_approvals(conn, snapshot, row.channel, decision, actor, now)
                wrote_outbox = self._write_outbox(conn, reference, decision, new_version, now)
                view = self._view(
                    after,
                    row,
                    actor=actor,
                    findings=finding_views(plain({"f": findings})["f"]) if findings else [],
                    pending=pending,
                    updated_at=now,
                    closed_at=closed_at,
                    waiting=[effect.kind for effect in decision.effects],
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
        except BaseException:
            self._forget(reference)  # reload next time: the copy kept may be behind
            raise
        self._remember(
            evolve(
                row,
                state=decision.dest,
                data=json.loads(stored_text),
                pending=decision.pending.as_dict() if decision.pending else None,
                version=new_version,
                updated_at=now,
                closed_at=closed_at,
                journal_seq=entry["seq"],
                journal_hash=entry["hash"],
            )
        )
        if wrote_outbox:
            self._committed(reference)
        return view

    @staticmethod
    def _write_approvals(
        conn: Connection,
        before: CaseSnapshot,
        channel: str,
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
            "findings": plain({"f": [f.as_dict() for f in pending.findings]})["f"],
        }
        key = conn.execute(records.insert_approval, values).inserted_primary_key
        assert key is not None
        return ApprovalView(
            id=int(key[0]),
            channel=channel,
            **{**values, "findings": finding_views(values["findings"])},
        )
