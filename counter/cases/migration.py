"""Moving running cases to the current version of their workflow, under four eyes.

::

    migrations = CaseMigrations(desk)
    migrations.plan(workflow="pos_unbind")                    # a dry run: nothing stored
    plan = migrations.prepare(workflow="pos_unbind", actor=ops1)   # stored, status prepared
    migrations.confirm(migration_id=plan.id, actor=ops2)      # another user: the cases move
    migrations.prepare(workflow="pos_unbind", actor=ops1, revert=True)  # back, if untouched
    migrations.withdraw(migration_id=plan.id, actor=ops1)     # drop a plan not yet confirmed

Both users need the ``operations`` role; the confirmer is never the
preparer (decided by a compare-and-set on the plan's ``status``); a refused
confirmation (the preparer, a role without the right) is journaled on the
plan's own stream ``migration:ID``. What the
engine says happens to each case is in ``counter.engine.migration``. Each
case then moves in its own transaction, by the same compare-and-set on its
version as a step, and only if it is still at the version the preparer saw;
its journal gets a ``migrated`` entry (shape in docs/journal-export.md). A
revert moves a case back only while its version is the one the migration
left it at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from counter.cases import records
from counter.cases.migration_planning import (
    MigrationPlanner,
    MigrationView,
    PlannedCase,
    move_of,
    refused_because,
)
from counter.cases.reading import plain
from counter.cases.records import CaseRow
from counter.engine.loader import Workflow
from counter.engine.migration import (
    CaseMove,
    Outcome,
    applied_map,
)
from counter.engine.types import Actor, evolve
from counter.errors import (
    CounterError,
    FourEyesViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from counter.store import journal
from counter.store.migration_tables import CaseMigration, CaseMigrationMove
from counter.text import Text

__all__ = [
    "MIGRATED",
    "MIGRATION_ROLE",
    "NOTE_SHAPE",
    "PLAN_STREAM",
    "CaseMigrations",
    "MigrationView",
    "PlannedCase",
]

MIGRATION_ROLE = "operations"
PLAN_STREAM = "migration:"
"""The journal stream of a plan's refused confirmations: ``migration:ID``."""
MIGRATED = "migrated"
NOTE_SHAPE = 1
"""The version of a ``migrated`` entry's note (JSON); docs/journal-export.md describes it."""

_plans = CaseMigration.__table__  # type: ignore[attr-defined]
_moves = CaseMigrationMove.__table__  # type: ignore[attr-defined]
_cases = records.cases

_move_approval = (
    update(records.approvals)
    .where(
        records.approvals.c.case_reference == bindparam("b_reference"),
        records.approvals.c.decided_at.is_(None),
    )
    .values(source=bindparam("source"), dest=bindparam("dest"))
)

class CaseMigrations(MigrationPlanner):
    """Prepare, dry-run, confirm and revert migrations (see the module docstring)."""

    def prepare(
        self,
        *,
        workflow: str,
        actor: Actor,
        from_hash: str | None = None,
        references: Sequence[str] = (),
        revert: bool = False,
    ) -> MigrationView:
        """Store the plan for a second user to confirm; nothing moves yet.

        Refused for want of the role, it is journaled on the user's own stream
        ``user:NAME`` (no plan exists yet to hold it).
        """
        self._require_role(actor, trigger="prepare_migration")
        planned = self.plan(
            workflow=workflow, from_hash=from_hash, references=references, revert=revert
        )
        if not planned.count(Outcome.MOVE):
            raise InvalidInput(
                Text(zh="没有可迁移的案件", en="No case would move: nothing to prepare"),
                workflow=workflow,
            )
        now = self.desk.services.now()
        with self.db.transaction() as conn:
            if planned.to_hash is not None:
                self._store_definition(conn, planned.to_hash, now)
            key = conn.execute(
                insert(_plans).values(
                    workflow=workflow,
                    kind=planned.kind,
                    to_hash=planned.to_hash,
                    from_hash=from_hash,
                    reverts=planned.reverts,
                    plan=[c.model_dump(mode="json") for c in planned.cases],
                    status="prepared",
                    prepared_by=actor.username,
                    prepared_at=now,
                )
            ).inserted_primary_key
        assert key is not None
        return self.get(migration_id=int(key[0]))

    # --- confirming ---------------------------------------------------------

    def confirm(self, *, migration_id: int, actor: Actor) -> MigrationView:
        """A second user confirms: every case planned to move moves, each in its transaction."""
        self._require_role(actor, trigger="confirm", migration_id=migration_id)
        now = self.desk.services.now()
        with self.db.transaction() as conn:
            taken = conn.execute(
                update(_plans)
                .where(
                    _plans.c.id == migration_id,
                    _plans.c.status == "prepared",
                    _plans.c.prepared_by != actor.username,
                )
                .values(status="moving", confirmed_by=actor.username, confirmed_at=now)
            ).rowcount
        if taken != 1:
            self._refuse_confirmation(migration_id, actor)
        plan = self.get(migration_id=migration_id)
        current = (
            self.desk.workflow_of(plan.to_hash) if plan.to_hash is not None else None
        )
        done: list[PlannedCase] = []
        for case in plan.cases:
            if case.outcome != Outcome.MOVE:
                done.append(case)
                continue
            done.append(self._carry_out(plan, case, current, actor, now))
        with self.db.transaction() as conn:
            conn.execute(
                update(_plans)
                .where(_plans.c.id == migration_id)
                .values(
                    status="done",
                    finished_at=self.desk.services.now(),
                    plan=[c.model_dump(mode="json") for c in done],
                )
            )
        return self.get(migration_id=migration_id)

    def withdraw(self, *, migration_id: int, actor: Actor) -> MigrationView:
        """Drop a plan nobody has confirmed yet (either operations user may); nothing moves."""
        self._require_role(actor, trigger="withdraw", migration_id=migration_id)
        with self.db.transaction() as conn:
            taken = conn.execute(
                update(_plans)
                .where(_plans.c.id == migration_id, _plans.c.status == "prepared")
                .values(status="withdrawn", finished_at=self.desk.services.now())
            ).rowcount
        if taken != 1:
            self._refuse_confirmation(migration_id, None)
        return self.get(migration_id=migration_id)

    def _refuse_confirmation(self, migration_id: int, actor: Actor | None) -> None:
        """Why a plan cannot be taken: its own preparer confirming, or not prepared any more."""
        plan = self.get(migration_id=migration_id)  # NotFound if there is none
        if actor is not None and plan.prepared_by == actor.username:
            raise self._journaled(migration_id, actor, FourEyesViolation(
                Text(
                    zh=f"{actor.username} 准备了迁移计划 {migration_id},须由另一人确认",
                    en=f"{actor.username} prepared migration {migration_id}; "
                    "another user must confirm it",
                ),
                migration=migration_id,
                actor=actor.username,
            ))
        raise StaleVersion(
            Text(
                zh=f"迁移计划 {migration_id} 已不在待确认状态(状态 {plan.status})",
                en=f"migration {migration_id} no longer waits for confirmation "
                f"(status {plan.status})",
            ),
            migration=migration_id,
        )

    def _carry_out(
        self, plan: MigrationView, case: PlannedCase, current: Workflow | None, actor: Actor,
        now: datetime,
    ) -> PlannedCase:
        row = self.desk._row(case.reference)
        if row.version != case.version:
            return case.model_copy(update={
                "result": "changed",
                "result_reason": refused_because(
                    f"准备计划后案件已有变动(版本 {case.version} → {row.version}),未迁移",
                    f"the case changed since the plan was prepared "
                    f"(version {case.version}, now {row.version}); not moved",
                ),
            })
        if plan.kind == "revert":
            with self.db.read() as conn:
                move_row = conn.execute(
                    select(_moves).where(
                        _moves.c.migration_id == plan.reverts,
                        _moves.c.case_reference == case.reference,
                        _moves.c.reverted_by.is_(None),
                    )
                ).first()
            move = (
                self._move_back(row, move_row)
                if move_row is not None
                else evolve(move_of(case), outcome=Outcome.REFUSED)
            )
        else:
            assert current is not None
            move = self._move(row, current)
        if move.outcome != Outcome.MOVE or move.to_state is None:
            return case.model_copy(update={"result": "refused", "result_reason": move.reason})
        try:
            self._write_move(plan, row, move, actor, now)
        except StaleVersion as exc:
            return case.model_copy(update={"result": "changed", "result_reason": exc.message})
        return case.model_copy(update={"result": "moved", "to_state": move.to_state})

    def _write_move(
        self, plan: MigrationView, row: CaseRow, move: CaseMove, actor: Actor, now: datetime
    ) -> None:
        assert plan.id is not None and move.to_state is not None
        data = plain(move.data if move.data is not None else row.data)
        renamed = dict(move.renamed)
        if plan.kind == "migrate":
            state_map = applied_map(
                self.desk.workflow_of(row.definition_hash), self.desk.workflow_of(move.to_hash)
            )
        else:
            state_map = {move.from_state: move.to_state}
        note = {
            "shape": NOTE_SHAPE,
            "migration": plan.id,
            "kind": plan.kind,
            "from_hash": row.definition_hash,
            "to_hash": move.to_hash,
            "state_map": state_map,
            "renamed": renamed,
            "back_for": move.back_for,
            "prepared_by": plan.prepared_by,
            "confirmed_by": actor.username,
        }
        entry = journal.chain(
            stream=row.reference,
            after=(row.journal_seq, row.journal_hash),
            actor=actor.username,
            kind=MIGRATED,
            at=now,
            trigger=plan.kind,
            from_state=row.state,
            to_state=move.to_state,
            data_digest=journal.digest(data),
            note=journal.canonical_json(note),
        )
        pending = move.pending.as_dict() if move.pending is not None else None
        try:
            with self.db.transaction() as conn:
                moved = records.compare_and_set(
                    conn,
                    case_id=row.id,
                    seen_version=row.version,
                    state=move.to_state,
                    data=data,
                    pending=pending,
                    updated_at=now,
                    closed_at=None,
                    reference=row.reference,
                    entry=entry,
                    migrate=(row.definition_hash, move.to_hash),
                )
                if moved is None:
                    # A refusal was journaled since the case was read: the plan for
                    # it stands, but it is made again on the case as it is now.
                    raise StaleVersion(
                        records.STALE, reference=row.reference, version=row.version
                    )
                journal.record(conn, moved)
                if move.pending is not None:
                    conn.execute(
                        _move_approval,
                        {"b_reference": row.reference, "source": move.pending.source,
                         "dest": move.pending.dest},
                    )
                if plan.kind == "migrate":
                    conn.execute(
                        insert(_moves).values(
                            migration_id=plan.id,
                            case_reference=row.reference,
                            from_hash=row.definition_hash,
                            to_hash=move.to_hash,
                            from_state=row.state,
                            to_state=move.to_state,
                            from_pending=dict(row.pending) if row.pending else None,
                            renamed=renamed,
                            version_after=row.version + 1,
                        )
                    )
                else:
                    conn.execute(
                        update(_moves)
                        .where(
                            _moves.c.migration_id == plan.reverts,
                            _moves.c.case_reference == row.reference,
                        )
                        .values(reverted_by=plan.id)
                    )
        finally:
            self.desk._forget(row.reference)

    # --- helpers --------------------------------------------------------------

    def _journaled(
        self, migration_id: int, actor: Actor, refused: CounterError, *, trigger: str = "confirm"
    ) -> CounterError:
        """Journal a refused ``trigger`` on the plan's stream ``migration:ID``; return it.

        A plan that does not exist has no stream: the refusal is answered, not journaled."""
        try:
            plan = self.get(migration_id=migration_id)
        except NotFound:
            return refused
        return self._journal_refusal(
            f"{PLAN_STREAM}{migration_id}", actor, refused, trigger=trigger,
            from_state=plan.status,
        )

    def _journal_refusal(
        self, stream: str, actor: Actor, refused: CounterError, *, trigger: str,
        from_state: str | None,
    ) -> CounterError:
        """Journal ``refused`` as a ``refused`` entry on ``stream``; return it to be raised."""
        with self.db.transaction() as conn:
            journal.append(
                conn,
                stream=stream,
                actor=actor.username,
                at=self.desk.services.now(),
                trigger=trigger,
                from_state=from_state,
                **records.refusal_fields(refused),
            )
        return refused

    def _require_role(
        self, actor: Actor, *, trigger: str, migration_id: int | None = None
    ) -> None:
        """Refuse, and journal, ``trigger`` for a user without the operations role: on the
        plan's stream, or with no plan yet (preparing one) on the user's own ``user:NAME``."""
        if MIGRATION_ROLE in actor.roles:
            return
        refused = PermissionDenied(
            Text(
                zh=f"{actor.username} 不能迁移案件(需要 {MIGRATION_ROLE} 角色)",
                en=f"{actor.username} may not migrate cases (needs the "
                f"{MIGRATION_ROLE} role)",
            ),
            actor=actor.username,
        )
        if migration_id is not None:
            raise self._journaled(migration_id, actor, refused, trigger=trigger)
        raise self._journal_refusal(
            f"user:{actor.username}", actor, refused, trigger=trigger, from_state=None
        )

    def _store_definition(self, conn: Connection, definition_hash: str, now: datetime) -> None:
        workflow = self.desk.workflow_of(definition_hash)
        records.insert_ignore(
            conn,
            records.definitions,
            [{"hash": workflow.hash, "name": workflow.name, "bundle": workflow.bundle,
              "stored_at": now}],
        )
