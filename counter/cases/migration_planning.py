"""Planning a migration: what would happen to every running case (nothing is changed).

The views of a plan (``MigrationView``, ``PlannedCase``) and ``MigrationPlanner``,
the reading half of ``counter.cases.migration.CaseMigrations``: which running
cases a migration covers, what the engine says happens to each
(``counter.engine.migration.plan_case``), with the map linted against each
old version, and, for a revert, which moved cases are still untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from counter.cases import records
from counter.cases.desk import Desk
from counter.cases.records import CaseRow
from counter.engine.loader import Workflow
from counter.engine.migration import (
    CaseMove,
    Outcome,
    migration_issues,
    plan_case,
    rename_fields,
)
from counter.engine.types import PendingApproval, evolve
from counter.errors import NotFound
from counter.store.migration_tables import CaseMigration, CaseMigrationMove
from counter.text import Text

__all__ = ["MigrationPlanner", "MigrationView", "PlannedCase", "move_of", "refused_because"]

_plans = CaseMigration.__table__  # type: ignore[attr-defined]
_moves = CaseMigrationMove.__table__  # type: ignore[attr-defined]
_cases = records.cases


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


def refused_because(zh: str, en: str) -> Text:
    return Text(zh=zh, en=en)


class MigrationPlanner:
    """Plans and stored plans of migrations (see the module docstring)."""

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

    def get(self, *, migration_id: int) -> MigrationView:
        with self.db.read() as conn:
            row = conn.execute(select(_plans).where(_plans.c.id == migration_id)).first()
        if row is None:
            raise NotFound(
                Text(zh=f"没有迁移计划 {migration_id}", en=f"No migration plan {migration_id}"),
                migration=migration_id,
            )
        return self._stored(row)

    def recent(self, *, limit: int = 30) -> list[MigrationView]:
        """The stored plans, newest first: those waiting for confirmation, and what was done."""
        with self.db.read() as conn:
            rows = conn.execute(select(_plans).order_by(_plans.c.id.desc()).limit(limit)).all()
        return [self._stored(row) for row in rows]

    def _stored(self, row: Any) -> MigrationView:
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
        self, workflow: str, *, from_hash: str | None = None,
        references: Sequence[str] = (),
    ) -> list[CaseRow]:
        query = (
            select(_cases)
            .where(_cases.c.workflow == workflow, _cases.c.closed_at.is_(None))
            .order_by(_cases.c.id)
        )
        if from_hash:
            query = query.where(_cases.c.definition_hash.startswith(from_hash, autoescape=True))
        if references:
            query = query.where(_cases.c.reference.in_(list(references)))
        with self.db.read() as conn:
            return [CaseRow.from_row(row) for row in conn.execute(query)]

    def _plan_migrate(
        self, current: Workflow, from_hash: str | None, references: Sequence[str]
    ) -> tuple[list[PlannedCase], list[str]]:
        rows = self._running(current.name, from_hash=from_hash, references=references)
        lint: dict[str, Text | None] = {}
        issues: list[str] = []
        planned: list[PlannedCase] = []
        for row in rows:
            if row.definition_hash == current.hash:  # listed, so that every running case is
                planned.append(PlannedCase(
                    reference=row.reference, branch=row.branch, version=row.version,
                    outcome=Outcome.STAY, from_hash=row.definition_hash, to_hash=current.hash,
                    from_state=row.state,
                    reason=Text(zh="已在当前版本上运行", en="already runs on this version"),
                ))
                continue
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
                reason=refused_because(
                    f"迁移后案件已有变动(版本 {move.version_after} → {row.version})",
                    f"the case changed since the migration "
                    f"(version {move.version_after}, now {row.version})",
                ),
            )
        back = {new: old for old, new in dict(move.renamed).items()}
        pending = PendingApproval.from_dict(move.from_pending) if move.from_pending else None
        return evolve(base, data=rename_fields(row.data, back), pending=pending, renamed=back)

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
                reason=refused_because(
                    "不是此迁移涵盖的进行中案件",
                    "not a running case this migration covers",
                ),
            )
            for reference in dict.fromkeys(references)
            if reference not in seen
        ]


def _planned(row: CaseRow, move: CaseMove) -> PlannedCase:
    return PlannedCase(
        reference=row.reference, branch=row.branch, version=row.version,
        outcome=str(move.outcome), from_hash=move.from_hash, to_hash=move.to_hash,
        from_state=move.from_state, to_state=move.to_state, reason=move.reason,
        back_for=move.back_for,
    )


def move_of(case: PlannedCase) -> CaseMove:
    return CaseMove(
        reference=case.reference, version=case.version, outcome=Outcome(case.outcome),
        from_hash=case.from_hash, to_hash=case.to_hash, from_state=case.from_state,
        to_state=case.to_state,
        reason=refused_because("迁移记录已不在", "the migration's record of this case is gone"),
    )
