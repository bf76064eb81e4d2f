"""Moving running cases to the current version of their workflow, under four eyes.

::

    migrations = CaseMigrations(desk)
    migrations.plan(workflow="pos_unbind")                    # a dry run: nothing stored
    plan = migrations.prepare(workflow="pos_unbind", actor=ops1)   # stored, status prepared
    migrations.confirm(migration_id=plan.id, actor=ops2)      # another user: the cases move
    migrations.prepare(workflow="pos_unbind", actor=ops1, revert=True)  # back, if untouched

Both users need the ``operations`` role; the confirmer is never the
preparer (decided by a compare-and-set on the plan's ``status``). What the
engine says happens to each case is in ``counter.engine.migration``. Each
case then moves in its own transaction, by the same compare-and-set on its
version as a step, and only if it is still at the version the preparer saw;
its journal gets a ``migrated`` entry (shape in docs/journal-export.md). A
revert moves a case back only while its version is the one the migration
left it at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, bindparam, insert, select, update

from counter.cases import records
from counter.cases.desk import Desk
from counter.cases.reading import plain
from counter.cases.records import CaseRow
from counter.engine.loader import Workflow
from counter.engine.migration import (
    CaseMove,
    Outcome,
    applied_map,
    migration_issues,
    plan_case,
    rename_fields,
)
from counter.engine.types import Actor, PendingApproval, evolve
from counter.errors import FourEyesViolation, InvalidInput, NotFound, PermissionDenied, StaleVersion
from counter.store import journal
from counter.store.migration_tables import CaseMigration, CaseMigrationMove
from counter.text import Text

__all__ = [
    "MIGRATED",
    "MIGRATION_ROLE",
    "NOTE_SHAPE",
    "CaseMigrations",
    "MigrationView",
    "PlannedCase",
]

MIGRATION_ROLE = "operations"
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


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlannedCase(_View):
    """What a migration does (or did) to one case."""

    reference: str
    branch: str
    version: int
    outcome: str  # move | stay | refused
    from_hash: str
    to_hash: str
    from_state: str
    to_state: str | None = None
    reason: Text | None = None
    back_for: str | None = None
    result: str | None = None  # after confirmation: moved, or why it did not
    result_reason: Text | None = None


class MigrationView(_View):
    """A migration plan; ``id`` is None for a dry run."""

    id: int | None
    workflow: str
    kind: str  # migrate | revert
    to_hash: str | None
    reverts: int | None
    status: str  # dry_run | prepared | moving | done
    prepared_by: str | None
    prepared_at: datetime | None
    confirmed_by: str | None = None
    cases: list[PlannedCase]
    issues: list[str] = []  # what lint found in the map, per old version (file:line: ...)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)


def _refused(zh: str, en: str) -> Text:
    return Text(zh=zh, en=en)


class CaseMigrations:
    """Prepare, dry-run, confirm and revert migrations (see the module docstring)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.db = desk.db

    # --- planning ------------------------------------------------------------

    def plan(
        self,
        *,
        workflow: str,
        from_hash: str | None = None,
        references: Sequence[str] = (),
        revert: bool = False,
    ) -> MigrationView:
        """What a migration would do now, case by case; nothing is stored or changed."""
        if revert:
            reverts, cases = self._plan_revert(workflow, references)
            return self._view_of(None, workflow, "revert", None, reverts, "dry_run", None, cases)
        current = self.desk.runtime.catalog.current(workflow)
        cases, issues = self._plan_migrate(current, from_hash, references)
        view = self._view_of(None, workflow, "migrate", current.hash, None, "dry_run", None, cases)
        return view.model_copy(update={"issues": issues})

    def prepare(
        self,
        *,
        workflow: str,
        actor: Actor,
        from_hash: str | None = None,
        references: Sequence[str] = (),
        revert: bool = False,
    ) -> MigrationView:
        """Store the plan for a second user to confirm; nothing moves yet."""
        self._require_role(actor)
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

    def get(self, *, migration_id: int) -> MigrationView:
        with self.db.read() as conn:
            row = conn.execute(select(_plans).where(_plans.c.id == migration_id)).first()
        if row is None:
            raise NotFound(
                Text(zh=f"没有迁移计划 {migration_id}", en=f"No migration plan {migration_id}"),
                migration=migration_id,
            )
        cases = [PlannedCase.model_validate(c) for c in row.plan]
        view = self._view_of(
            row.id, row.workflow, row.kind, row.to_hash, row.reverts, row.status,
            row.prepared_by, cases, prepared_at=row.prepared_at,
        )
        return view.model_copy(update={"confirmed_by": row.confirmed_by})

    @staticmethod
    def _view_of(
        migration_id: int | None, workflow: str, kind: str, to_hash: str | None,
        reverts: int | None, status: str, prepared_by: str | None, cases: list[PlannedCase],
        *, prepared_at: datetime | None = None,
    ) -> MigrationView:
        return MigrationView(
            id=migration_id, workflow=workflow, kind=kind, to_hash=to_hash, reverts=reverts,
            status=status, prepared_by=prepared_by, prepared_at=prepared_at, cases=cases,
        )

    def _running(
        self, workflow: str, *, not_hash: str | None = None, from_hash: str | None = None,
        references: Sequence[str] = (),
    ) -> list[CaseRow]:
        query = (
            select(_cases)
            .where(_cases.c.workflow == workflow, _cases.c.closed_at.is_(None))
            .order_by(_cases.c.id)
        )
        if not_hash is not None:
            query = query.where(_cases.c.definition_hash != not_hash)
        if from_hash:
            query = query.where(_cases.c.definition_hash.startswith(from_hash, autoescape=True))
        if references:
            query = query.where(_cases.c.reference.in_(list(references)))
        with self.db.read() as conn:
            return [CaseRow.from_row(row) for row in conn.execute(query)]

    def _plan_migrate(
        self, current: Workflow, from_hash: str | None, references: Sequence[str]
    ) -> tuple[list[PlannedCase], list[str]]:
        rows = self._running(
            current.name, not_hash=current.hash, from_hash=from_hash, references=references
        )
        lint: dict[str, Text | None] = {}
        issues: list[str] = []
        planned: list[PlannedCase] = []
        for row in rows:
            if row.definition_hash not in lint:
                old = self.desk.workflow_of(row.definition_hash)
                found = migration_issues(old, current)
                issues += [str(i) for i in found]
                errors = [i for i in found if i.severity == "error"]
                lint[row.definition_hash] = (
                    Text(zh=f"迁移映射有误:{errors[0]}", en=f"the migration map is wrong: "
                         f"{errors[0]}") if errors else None
                )
            problem = lint[row.definition_hash]
            move = self._move(row, current)
            if problem is not None and move.outcome == Outcome.MOVE:
                move = evolve(move, outcome=Outcome.REFUSED, to_state=None, reason=problem)
            planned.append(_planned(row, move))
        planned += self._missing(references, planned, current.hash)
        return planned, issues

    def _move(self, row: CaseRow, current: Workflow) -> CaseMove:
        old = self.desk.workflow_of(row.definition_hash)
        return plan_case(old, current, self.desk._snapshot(row))

    def _last_migration(self, workflow: str) -> Any:
        with self.db.read() as conn:
            return conn.execute(
                select(_plans)
                .where(
                    _plans.c.workflow == workflow,
                    _plans.c.kind == "migrate",
                    _plans.c.status == "done",
                )
                .order_by(_plans.c.id.desc())
                .limit(1)
            ).first()

    def _plan_revert(
        self, workflow: str, references: Sequence[str]
    ) -> tuple[int, list[PlannedCase]]:
        last = self._last_migration(workflow)
        if last is None:
            raise NotFound(
                Text(zh=f"流程 {workflow} 没有可撤回的迁移",
                     en=f"workflow {workflow} has no migration to revert"),
                workflow=workflow,
            )
        query = select(_moves).where(
            _moves.c.migration_id == last.id, _moves.c.reverted_by.is_(None)
        ).order_by(_moves.c.id)
        if references:
            query = query.where(_moves.c.case_reference.in_(list(references)))
        with self.db.read() as conn:
            moves = list(conn.execute(query))
        planned = []
        for move in moves:
            row = self.desk._row(move.case_reference)
            planned.append(_planned(row, self._move_back(row, move)))
        return int(last.id), planned + self._missing(references, planned, None)

    @staticmethod
    def _move_back(row: CaseRow, move: Any) -> CaseMove:
        base = CaseMove(
            reference=row.reference, version=row.version, outcome=Outcome.MOVE,
            from_hash=row.definition_hash, to_hash=move.from_hash, from_state=row.state,
            to_state=move.from_state,
        )
        if row.version != move.version_after or row.definition_hash != move.to_hash:
            return evolve(
                base, outcome=Outcome.REFUSED, to_state=None,
                reason=_refused(
                    f"迁移后案件已有变动(版本 {move.version_after} → {row.version})",
                    f"the case changed since the migration "
                    f"(version {move.version_after}, now {row.version})",
                ),
            )
        back = {new: old for old, new in dict(move.renamed).items()}
        pending = PendingApproval.from_dict(move.from_pending) if move.from_pending else None
        return evolve(base, data=rename_fields(row.data, back), pending=pending)

    @staticmethod
    def _missing(
        references: Iterable[str], planned: list[PlannedCase], to_hash: str | None
    ) -> list[PlannedCase]:
        """A refused line for each reference asked for that the migration does not cover."""
        seen = {c.reference for c in planned}
        return [
            PlannedCase(
                reference=reference, branch="", version=0, outcome=Outcome.REFUSED,
                from_hash="", to_hash=to_hash or "", from_state="",
                reason=_refused(
                    "不是此迁移涵盖的进行中案件",
                    "not a running case this migration covers",
                ),
            )
            for reference in dict.fromkeys(references)
            if reference not in seen
        ]

    # --- confirming ---------------------------------------------------------

    def confirm(self, *, migration_id: int, actor: Actor) -> MigrationView:
        """A second user confirms: every case planned to move moves, each in its transaction."""
        self._require_role(actor)
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

    def _refuse_confirmation(self, migration_id: int, actor: Actor) -> None:
        plan = self.get(migration_id=migration_id)  # NotFound if there is none
        if plan.prepared_by == actor.username:
            raise FourEyesViolation(
                Text(
                    zh=f"{actor.username} 准备了迁移计划 {migration_id},须由另一人确认",
                    en=f"{actor.username} prepared migration {migration_id}; "
                    "another user must confirm it",
                ),
                migration=migration_id,
                actor=actor.username,
            )
        raise StaleVersion(
            Text(
                zh=f"迁移计划 {migration_id} 已确认(状态 {plan.status})",
                en=f"migration {migration_id} was already confirmed (status {plan.status})",
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
                "result_reason": _refused(
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
                else evolve(_move_of(case), outcome=Outcome.REFUSED)
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
        from_workflow = self.desk.workflow_of(row.definition_hash)
        to_workflow = self.desk.workflow_of(move.to_hash)
        if plan.kind == "migrate":
            state_map = applied_map(from_workflow, to_workflow)
            renamed = dict(
                to_workflow.definition.migration.renamed
                if to_workflow.definition.migration is not None
                else {}
            )
        else:
            state_map = {move.from_state: move.to_state}
            renamed = {}
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
                entry = records.compare_and_set(
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
                journal.record(conn, entry)
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

    @staticmethod
    def _require_role(actor: Actor) -> None:
        if MIGRATION_ROLE not in actor.roles:
            raise PermissionDenied(
                Text(
                    zh=f"{actor.username} 不能迁移案件(需要 {MIGRATION_ROLE} 角色)",
                    en=f"{actor.username} may not migrate cases (needs the "
                    f"{MIGRATION_ROLE} role)",
                ),
                actor=actor.username,
            )

    def _store_definition(self, conn: Connection, definition_hash: str, now: datetime) -> None:
        workflow = self.desk.workflow_of(definition_hash)
        records.insert_ignore(
            conn,
            records.definitions,
            [{"hash": workflow.hash, "name": workflow.name, "bundle": workflow.bundle,
              "stored_at": now}],
        )


def _planned(row: CaseRow, move: CaseMove) -> PlannedCase:
    return PlannedCase(
        reference=row.reference, branch=row.branch, version=row.version,
        outcome=str(move.outcome), from_hash=move.from_hash, to_hash=move.to_hash,
        from_state=move.from_state, to_state=move.to_state, reason=move.reason,
        back_for=move.back_for,
    )


def _move_of(case: PlannedCase) -> CaseMove:
    return CaseMove(
        reference=case.reference, version=case.version, outcome=Outcome(case.outcome),
        from_hash=case.from_hash, to_hash=case.to_hash, from_state=case.from_state,
        to_state=case.to_state,
        reason=_refused("迁移记录已不在", "the migration's record of this case is gone"),
    )
