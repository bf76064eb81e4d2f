"""Moving a running case from an earlier version of its workflow to the current one.

A workflow file may say how cases of its earlier versions move to it
(``migration:`` in the file, :class:`~counter.engine.definition.MigrationDefinition`).
This module is the pure half of a migration: :func:`migration_issues` lints
that map against one old version (with the new file's lines), and
:func:`plan_case` says what happens to one case: it moves (to which state,
with which data), it stays (its state is declared as one that may not move),
or it is refused (and why). ``counter.cases.migration`` stores the plan,
asks a second person to confirm it and moves each case in its own
transaction.

A move runs no action and no check: the case waits in its new state as if
it had been there. A case that has passed the step collecting a new required
field goes back to that step; one waiting for a supervisor keeps its
approval, with the approval's states mapped like the case's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from counter.engine.definition import MigrationDefinition, WorkflowDefinition
from counter.engine.lint import LintIssue
from counter.engine.loader import Workflow
from counter.engine.types import CaseSnapshot, PendingApproval, copy_data, evolve
from counter.text import Text

__all__ = [
    "CaseMove",
    "Outcome",
    "applied_map",
    "migration_issues",
    "plan_case",
    "rename_fields",
]

_NO_MIGRATION = MigrationDefinition()


class Outcome(StrEnum):
    MOVE = "move"  # the case moves to the new version
    STAY = "stay"  # its state is one the new version says may not move
    REFUSED = "refused"  # it cannot move as the map stands (``reason`` says why)


@dataclass(frozen=True)
class CaseMove:
    """What a migration does to one case; ``data``/``pending`` only for a move."""

    reference: str
    version: int
    outcome: Outcome
    from_hash: str
    to_hash: str
    from_state: str
    to_state: str | None
    reason: Text | None = None
    data: Mapping[str, Any] | None = None
    pending: PendingApproval | None = None
    back_for: str | None = None  # the new required field that sent the case back
    renamed: Mapping[str, str] = field(default_factory=dict)  # form.old -> form.new applied


def _migration(wf: WorkflowDefinition) -> MigrationDefinition:
    return wf.migration if wf.migration is not None else _NO_MIGRATION


def applied_map(old: Workflow, new: Workflow) -> dict[str, str]:
    """Every open state of ``old`` that may move, and the state of ``new`` it moves to."""
    migration = _migration(new.definition)
    return {
        state: migration.states.get(state, state)
        for state in old.definition.open_states()
        if state not in migration.stay
    }


def _split(path: str) -> tuple[str, str]:
    form, field = path.split(".", 1)
    return form, field


def rename_fields(data: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with each ``form.old`` value moved to ``form.new`` (absent ones left alone)."""
    moved: dict[str, Any] = copy_data(dict(data))
    for old_path, new_path in renamed.items():
        old_form, old_field = _split(old_path)
        section = moved.get(old_form)
        if not isinstance(section, dict) or old_field not in section:
            continue
        value = section.pop(old_field)
        new_form, new_field = _split(new_path)
        target = moved.setdefault(new_form, {})
        if isinstance(target, dict):
            target[new_field] = value
    return moved


def _has_field(workflow: Workflow, path: str) -> bool:
    form, field = _split(path)
    spec = workflow.forms.get(form)
    return spec is not None and spec.field(field) is not None


def migration_issues(old: Workflow, new: Workflow) -> list[LintIssue]:
    """What is wrong with moving cases of ``old`` to ``new``, at the lines of ``new``'s file.

    Rules: ``migration_unknown_state`` (a mapped or staying state that ``old``
    does not have), ``migration_no_destination`` (an open state of ``old``
    with no state to go to), ``migration_approval`` (an approval state
    mapped to one that is not, or the other way round), ``migration_field``
    (a renamed or required field that a form does not have) and
    ``migration_required`` (a new required field the map does not declare).
    All are errors.
    """
    wf = new.definition
    migration = _migration(wf)
    found: list[LintIssue] = []

    def error(rule: str, line: int | None, zh: str, en: str) -> None:
        found.append(LintIssue("error", rule, wf.file, line, Text(zh=zh, en=en)))

    top = wf.line("migration") or wf.line("name")
    short = old.hash[:12]
    for key in ("states", "stay"):
        names: Mapping[str, Any] = getattr(migration, key)
        for state in names:
            if state not in old.definition.states:
                error(
                    "migration_unknown_state",
                    wf.line("migration", key, state),
                    f"旧版本 {short} 没有状态 '{state}'",
                    f"version {short} has no state '{state}'",
                )
    for state, dest in applied_map(old, new).items():
        line = wf.line("migration", "states", state) if state in migration.states else top
        target = wf.states.get(dest)
        if target is None or target.final:
            error(
                "migration_no_destination",
                line,
                f"旧版本 {short} 的状态 '{state}' 在新版本中没有去处"
                "(写入 migration.states 或 stay)",
                f"state '{state}' of version {short} has no destination in this version "
                "(map it in migration.states, or let it stay)",
            )
        elif target.approval != old.definition.states[state].approval:
            error(
                "migration_approval",
                line,
                f"审批状态只能对应审批状态('{state}' → '{dest}')",
                f"an approval state maps to an approval state only ('{state}' -> '{dest}')",
            )
    for old_path, new_path in migration.renamed.items():
        for side, path, version in (("old", old_path, old), ("new", new_path, new)):
            if not _has_field(version, path):
                error(
                    "migration_field",
                    wf.line("migration", "renamed", old_path),
                    f"{'旧' if side == 'old' else '新'}版本的表单没有字段 '{path}'",
                    f"the {side} version's forms have no field '{path}'",
                )
    declared = {r.field for r in migration.required}
    for index, required in enumerate(migration.required):
        if not _has_field(new, required.field):
            error(
                "migration_field",
                wf.line("migration", "required", index, "field"),
                f"新版本的表单没有字段 '{required.field}'",
                f"this version's forms have no field '{required.field}'",
            )
    renamed_to = set(migration.renamed.values())
    for form_name, form in new.forms.items():
        before = old.forms.get(form_name)
        if before is None:
            continue
        for spec in form.fields:
            path = f"{form_name}.{spec.name}"
            added = before.field(spec.name) is None and path not in renamed_to
            if added and spec.required and not spec.required_if and path not in declared:
                error(
                    "migration_required",
                    top,
                    f"新的必填字段 '{path}' 未在 migration.required 中声明"
                    "(已过该步骤的案件会缺少它)",
                    f"new required field '{path}' is not declared in migration.required "
                    "(cases past its step would go on without it)",
                )
    return sorted(found, key=lambda i: i.line or 0)


def _collecting_state(wf: WorkflowDefinition, form: str) -> str | None:
    return next((name for name, s in wf.states.items() if s.form == form), None)


def plan_case(old: Workflow, new: Workflow, case: CaseSnapshot) -> CaseMove:
    """What moving ``case`` (running on ``old``) to ``new`` does; nothing is changed."""
    migration = _migration(new.definition)
    base = CaseMove(
        reference=case.reference,
        version=case.version,
        outcome=Outcome.REFUSED,
        from_hash=old.hash,
        to_hash=new.hash,
        from_state=case.state,
        to_state=None,
    )

    def refused(zh: str, en: str) -> CaseMove:
        return evolve(base, reason=Text(zh=zh, en=en))

    if old.definition.states[case.state].final:
        return refused("案件已结束", "the case is closed")
    if case.state in migration.stay:
        return evolve(base, outcome=Outcome.STAY, reason=migration.stay[case.state])
    mapping = applied_map(old, new)
    dest = mapping[case.state]
    target = new.definition.states.get(dest)
    if target is None or target.final:
        return refused(
            f"状态 '{case.state}' 在新版本中没有去处",
            f"state '{case.state}' has no destination in the new version",
        )
    pending = case.pending
    if target.approval != (pending is not None):
        return refused(
            f"审批状态不对应('{case.state}' → '{dest}')",
            f"'{case.state}' and '{dest}' are not both approval states",
        )
    if pending is not None:
        source = migration.states.get(pending.source, pending.source)
        after = migration.states.get(pending.dest, pending.dest)
        if source not in new.definition.states or after not in new.definition.states:
            return refused(
                "待审批的去向在新版本中不存在",
                f"the approval's states ({pending.source} -> {pending.dest}) "
                "do not exist in the new version",
            )
        pending = evolve(pending, source=source, dest=after)
    data = rename_fields(case.data, migration.renamed)
    for required in migration.required:
        form, field = _split(required.field)
        section = data.get(form)
        if not isinstance(section, Mapping) or section.get(field) not in (None, ""):
            continue
        back_to = required.back_to or _collecting_state(new.definition, form)
        if back_to is None or back_to == dest:
            continue
        if pending is not None:
            return refused(
                f"案件正等待审批:先审批或拒绝,再回到 '{back_to}' 补录 '{required.field}'",
                f"the case waits for an approval: approve or reject it before it goes back "
                f"to '{back_to}' for '{required.field}'",
            )
        return evolve(
            base, outcome=Outcome.MOVE, to_state=back_to, data=data, back_for=required.field,
            renamed=dict(migration.renamed),
        )
    return evolve(
        base, outcome=Outcome.MOVE, to_state=dest, data=data, pending=pending,
        renamed=dict(migration.renamed),
    )
