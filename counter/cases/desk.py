"""The application service: open cases and fire triggers, one transaction per step.

``Desk.fire`` loads the case, lets the pure engine decide *outside* any
write transaction (checks may ask outside systems), then writes everything
the step changes in one transaction: the case (compare-and-set on its
version), the journal entry, the approval row, outbox messages and the
idempotency record. Either all of it commits or none of it does. Reading
and the access rules are in ``counter.cases.reading``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from counter.cases import records, reservations
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
from counter.engine.authority import required_level
from counter.engine.definition import BUILTIN_TRIGGERS
from counter.engine.loader import Workflow
from counter.engine.rekey import rekey_name
from counter.engine.runtime import Runtime
from counter.engine.types import Actor, CaseSnapshot, Decision, evolve
from counter.errors import (
    BlockedByFindings,
    CounterError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from counter.store import journal
from counter.store.db import Database
from counter.store.prepared import JSONText
from counter.text import Text

__all__ = ["CASE_ROLES", "READ_ALL_ROLES", "CommitListener", "Desk"]

log = logging.getLogger(__name__)

CommitListener = Callable[[str], None]

DECIDE_ROUNDS = 20
"""How often one step is decided again because refusals were journaled meanwhile."""


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
        self.check_may_open(actor)
        branch = actor.branch
        assert branch is not None
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
            data_text = journal.canonical_json(decision.data)  # the column and the digest
            data = json.loads(data_text)
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
                data_digest=journal.text_digest(data_text),
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
            case_id = records.insert_case.execute(
                conn, {**opened.values(), "data": JSONText(data_text)}
            ).lastrowid
            assert case_id is not None
            journal.record(conn, entry)
            wrote_outbox = self._write_outbox(conn, reference, decision, 1, now)
            if within is not None:
                within(conn, reference)
        opened = evolve(opened, id=case_id, data=json.loads(data_text))
        self._stored_definitions.add(current.hash)
        self._remember(opened)
        if wrote_outbox:
            self._committed(reference)
        return self._view(
            snapshot, opened, actor=actor, findings=[], pending=None, updated_at=now,
            closed_at=None, waiting=[effect.kind for effect in decision.effects],
        )

    @staticmethod
    def check_may_open(actor: Actor) -> None:
        """Raise ``PermissionDenied`` unless ``actor`` may open cases of some workflow at all."""
        if not actor.roles & (CASE_ROLES | OWN_CASE_ROLES) or not actor.branch:
            raise PermissionDenied(
                Text(
                    zh=f"{actor.username} 不能开立案件(需要柜员或主管角色及所属网点)",
                    en=f"{actor.username} may not open cases (teller or supervisor of a branch)",
                ),
                actor=actor.username,
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
        repeated ``idempotency_key`` from the same actor changes nothing and
        answers the case as it stands now (a different request under it is
        refused). The key keeps only the reference and the version the first
        request made, never the case itself, and a repeat passes the same
        access check as the first request.
        """
        form = dict(data or {})
        remember: tuple[str, str] | None = None
        if idempotency_key:
            fingerprint = journal.digest(
                {"reference": reference, "trigger": trigger, "data": form, "version": version}
            )
            remember = (idempotency_key, fingerprint)
            earlier = self._remembered(idempotency_key, actor, fingerprint, reference, trigger)
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
                earlier = self._remembered(remember[0], actor, remember[1], reference, trigger)
                if earlier is not None:
                    return earlier
            raise

    def approve(
        self, *, reference: str, actor: Actor, version: int | None = None,
        comment: str | None = None, idempotency_key: str | None = None,
        rekey: Mapping[str, str] | None = None,
    ) -> CaseView:
        """The approval state's built-in ``approve`` trigger.

        ``rekey`` holds what the approver re-entered blind, by field
        (``{"pos_binding.account_number": "..."}``); a value that differs
        from the maker's refuses the approval.
        """
        data: dict[str, Any] = {"comment": comment} if comment else {}
        data.update({rekey_name(path): value for path, value in (rekey or {}).items()})
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

    def _remembered(
        self, key: str, actor: Actor, fingerprint: str, reference: str, trigger: str
    ) -> CaseView | None:
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
        self.authorize(reference=reference, trigger=trigger, actor=actor)
        return self.get(reference=reference, actor=actor)

    def forget_idempotency_keys(self, *, older_than: timedelta) -> int:
        """Delete the idempotency keys older than ``older_than``; returns how many went."""
        cutoff = self.services.now() - older_than
        with self.db.transaction() as conn:
            gone = conn.execute(records.forget_idempotency, {"cutoff": cutoff}).rowcount
        return int(gone or 0)

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
        same transaction as the follow-up trigger. A step refused by findings,
        for want of permission or by four eyes changes nothing of the case and
        is journaled as a ``refused`` entry in a transaction of its own, then
        raised. A step or refusal decided while another refusal was journaled
        is decided again on what the journal holds now (a wrong code counts).
        What a check writes once it has decided (the lockout's reset after a
        right sign-off password) rides in the step's or the refusal's
        transaction (``Database.joined_writes``).
        """
        row = self._row(reference, version)
        with self.db.joined_writes():  # what the checks write rides in the step's transaction
            for _ in range(DECIDE_ROUNDS):
                try:
                    done = self._step_once(row, trigger, actor, data, version, remember, within)
                except (PermissionDenied, BlockedByFindings) as refused:
                    if self._journal_refusal(row, trigger, actor, refused):
                        raise
                    done = None  # another entry came first: decide again on it
                if done is not None:
                    return done
                self._forget(reference)
                row = self._row(reference)
        raise StaleVersion(records.STALE, reference=reference, version=version)

    def _step_once(
        self,
        row: CaseRow,
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any],
        version: int | None,
        remember: tuple[str, str] | None,
        within: Callable[[Connection], None] | None,
    ) -> CaseView | None:
        """``step`` on ``row`` as read; ``None`` when a refusal was journaled meanwhile."""
        reference = row.reference
        self.check_row(row, actor, change=True)
        if version is not None and version != row.version:
            raise StaleVersion(records.STALE, reference=reference, version=version)
        snapshot = self._snapshot(row)
        workflow = self.workflow_of(row.definition_hash)
        now = self.services.now()
        decision = self.runtime.decide(
            snapshot, trigger, actor, data, services=self.services, now=now
        )
        stored_text = journal.canonical_json(decision.data)
        stored: dict[str, Any] = json.loads(stored_text)
        holding = reservations.plan(workflow, row.data, stored, final=decision.final)
        masking = self.services.settings.masking
        reservations.refuse_if_held(self.db, workflow, reference, holding, masking)
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
            data_digest=journal.text_digest(stored_text),
            note=decision.note,
        )
        joined = self.db.joining()
        try:
            with self.db.transaction() as conn:
                if joined is not None and not joined.run(conn):
                    return None  # what a check decided on no longer holds: decide again
                moved = records.compare_and_set(
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
                if moved is None:  # nothing written: decide again with the refusal
                    return None
                entry = moved
                journal.record(conn, entry)
                if holding:
                    reservations.apply(conn, workflow, reference, holding, now, masking)
                level = (
                    required_level(workflow.definition.states[decision.dest],
                                   decision.pending.findings)
                    if decision.pending is not None
                    else None
                )
                pending = self._write_approvals(
                    conn, snapshot, row.channel, decision, actor, now, level
                )
                wrote_outbox = self._write_outbox(conn, reference, decision, new_version, now)
                view = self._view(
                    after,
                    row,
                    actor=actor,
                    findings=finding_views(entry["findings"]),  # as journaled: plain JSON
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
                            "response": {"reference": reference, "version": new_version},
                            "created_at": now,
                        },
                    )
                if within is not None:
                    within(conn)
        except BaseException:
            self._forget(reference)  # reload next time: the copy kept may be behind
            if joined is not None:  # the reset rolled back with the step: it is still owed
                joined.rolled_back()
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

    def authorize(self, *, reference: str, trigger: str, actor: Actor) -> None:
        """Refuse (and journal) a caller who may not fire ``trigger`` on the case at all.

        What the roles and four eyes decide, before any form is read: the API
        asks this before it validates a request's body. ``NotFound`` for a
        case the actor cannot see; a trigger the state lacks passes (the step
        refuses it).
        """
        with self._recent_lock:
            kept = self._recent.get(reference)
        if kept is not None and self._allowed(kept, trigger, actor):
            return  # the step that follows decides on the stored case anyway
        for _ in range(DECIDE_ROUNDS):
            row = self._row(reference)  # a refusal is decided on the stored case
            try:
                self.check_row(row, actor, change=True)
                self.workflow_of(row.definition_hash)  # an old version: from its bundle
                self.runtime.authorize(self._snapshot(row), trigger, actor)
            except PermissionDenied as refused:
                if not self._journal_refusal(row, trigger, actor, refused):
                    continue
                raise
            return
        raise StaleVersion(records.STALE, reference=reference)

    def _allowed(self, row: CaseRow, trigger: str, actor: Actor) -> bool:
        try:
            self.check_row(row, actor, change=True)
            self.workflow_of(row.definition_hash)
            self.runtime.authorize(self._snapshot(row), trigger, actor)
        except (PermissionDenied, NotFound):
            return False
        return True

    def _journal_refusal(
        self, row: CaseRow, trigger: str, actor: Actor, refused: CounterError
    ) -> bool:
        """Journal ``refused`` after the head ``row`` saw; False when another entry came first."""
        with self.db.transaction() as conn:
            joined = self.db.joining()
            if joined is not None:  # a right password refused for another finding: reset here
                joined.run(conn)
            entry = journal.append_after(
                conn,
                head=(row.journal_seq, row.journal_hash),
                stream=row.reference,
                actor=actor.username,
                at=self.services.now(),
                trigger=trigger,
                from_state=row.state,
                **records.refusal_fields(refused),
            )
        if entry is None:
            return False
        log.info("case %s: %s refused for %s (%s)", row.reference, trigger, actor.username,
                 refused.code)
        self._remember(evolve(row, journal_seq=entry.seq, journal_hash=entry.hash))
        return True

    def refusals_since_step(self, reference: str, finding: str) -> int:
        """How many refusals since the case's last step name ``finding`` (wrong codes, say)."""
        with self.db.read() as conn:
            found = journal.refusals_since_step(conn, reference)
        return sum(1 for entry in found if any(f.get("code") == finding for f in entry.findings))

    @staticmethod
    def _write_approvals(
        conn: Connection,
        before: CaseSnapshot,
        channel: str,
        decision: Decision,
        actor: Actor,
        now: datetime,
        level: str | None = None,
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
            "level": level,
        }
        approval_id = records.insert_approval.execute(conn, values).lastrowid
        assert approval_id is not None
        return ApprovalView(
            id=approval_id,
            channel=channel,
            **{**values, "findings": finding_views(values["findings"])},
        )
