"""Lint a workflow: what loads but cannot work as written.

Rules (``LintIssue.rule``): ``unreachable``, ``no_way_out``,
``final_never_reached``, ``unknown_name``, ``unknown_form``,
``unknown_role``, ``unknown_rekey_field``, ``approval_without_approve``,
``hold_form``, ``hold_field``, ``hold_duplicate`` (errors) and ``no_review``
(a warning: approvable findings of that transition will block). Run at
start-up and by ``counter workflows check``; ``check_directory`` also turns
files that do not load into issues, so that one run reports every file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from counter.engine.definition import FormDefinition, WorkflowDefinition
from counter.engine.holds import hold_problems
from counter.engine.loader import Workflow, load_workflow
from counter.engine.registry import Kind, Registry, did_you_mean
from counter.errors import DefinitionError
from counter.text import Text

__all__ = ["KNOWN_ROLES", "LintIssue", "check_directory", "lint"]

KNOWN_ROLES = frozenset(
    {
        "teller",
        "supervisor",
        "auditor",
        "admin",
        "system",
        "merchant",
        "reviewer",
        "service_agent",
        "branch_manager",
        "authorizer",
    }
)


@dataclass(frozen=True)
class LintIssue:
    severity: Literal["error", "warning"]
    rule: str
    file: str
    line: int | None
    message: Text

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.severity}: {self.message.en}"


class _Issues:
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[LintIssue] = []

    def error(self, rule: str, line: int | None, zh: str, en: str) -> None:
        self.found.append(LintIssue("error", rule, self.file, line, Text(zh=zh, en=en)))

    def warning(self, rule: str, line: int | None, zh: str, en: str) -> None:
        self.found.append(LintIssue("warning", rule, self.file, line, Text(zh=zh, en=en)))


def _reachable(definition: WorkflowDefinition) -> set[str]:
    following: dict[str, set[str]] = {}
    for edge in definition.edges():
        following.setdefault(edge.source, set()).add(edge.dest)
    seen = {definition.initial}
    todo = [definition.initial]
    while todo:
        for dest in following.get(todo.pop(), ()):
            if dest not in seen:
                seen.add(dest)
                todo.append(dest)
    return seen


def _graph_rules(wf: WorkflowDefinition, issues: _Issues) -> None:
    reachable = _reachable(wf)
    leaving = {edge.source for edge in wf.edges()}
    for name, state in wf.states.items():
        line = wf.line("states", name)
        if name not in reachable:
            if state.final:
                issues.error(
                    "final_never_reached",
                    line,
                    f"终态 '{name}' 永远不会到达",
                    f"final state '{name}' is never reached",
                )
            else:
                issues.error(
                    "unreachable",
                    line,
                    f"状态 '{name}' 从初始状态无法到达",
                    f"state '{name}' cannot be reached from the initial state",
                )
        if not state.final and name not in leaving:
            issues.error(
                "no_way_out",
                line,
                f"状态 '{name}' 不是终态,但没有任何出路",
                f"state '{name}' is not final but has no way out",
            )
        if state.approval and (not wf.approve_dests(name) or not state.approval_roles):
            why_zh, why_en = (
                ("没有角色可以审批", "no role may approve")
                if not state.approval_roles
                else (
                    "没有带检查的转换把案件送到这里",
                    "no transition with checks sends cases here",
                )
            )
            issues.error(
                "approval_without_approve",
                line,
                f"审批状态 '{name}' 无法批准:{why_zh}",
                f"approval state '{name}' has no way to approve: {why_en}",
            )


def _name_rules(
    wf: WorkflowDefinition,
    forms: Mapping[str, FormDefinition],
    known_forms: Iterable[str],
    registry: Registry,
    issues: _Issues,
) -> None:
    for kind, uses in wf.names_used().items():
        for name, path in uses:
            assert kind in ("check", "condition", "action")
            known: Kind = kind  # type: ignore[assignment]
            if not registry.has(known, name):
                message = registry.unknown_message(known, name)
                issues.error("unknown_name", wf.line(*path), message.zh, message.en)
    for name, state in wf.states.items():
        if state.form and state.form not in forms:
            _unknown_form(state.form, wf.line("states", name, "form"), known_forms, issues)
    for index, t in enumerate(wf.transitions):
        if t.form and t.form not in forms:
            _unknown_form(t.form, wf.line("transitions", index, "form"), known_forms, issues)
    for form in forms.values():
        for f_index, spec in enumerate(form.fields):
            for v_index, name in enumerate(spec.validators):
                if not registry.has("validator", name):
                    message = registry.unknown_message("validator", name)
                    issues.found.append(
                        LintIssue(
                            "error",
                            "unknown_name",
                            form.file,
                            form.line("fields", f_index, "validators", v_index),
                            message,
                        )
                    )


def _rekey_rules(
    wf: WorkflowDefinition, forms: Mapping[str, FormDefinition], issues: _Issues
) -> None:
    """Every re-keyed field must be a field of a form this workflow collects."""
    for name, state in wf.states.items():
        for index, rekey in enumerate(state.rekey):
            form, field = rekey.field.split(".", 1)
            if form in forms and forms[form].field(field) is not None:
                continue
            issues.error(
                "unknown_rekey_field",
                wf.line("states", name, "rekey", index),
                f"复核字段 '{rekey.field}' 不在本流程收集的表单中",
                f"re-keyed field '{rekey.field}' is not a field of a form this workflow collects",
            )


def _unknown_form(name: str, line: int | None, known: Iterable[str], issues: _Issues) -> None:
    hint = did_you_mean(name, known)
    issues.error("unknown_form", line, f"未知表单 '{name}'{hint}", f"unknown form '{name}'{hint}")


def _role_rules(wf: WorkflowDefinition, known_roles: Iterable[str], issues: _Issues) -> None:
    known = sorted(known_roles)

    def check(roles: Iterable[str], *path: str | int) -> None:
        for role in roles:
            if role not in known:
                hint = did_you_mean(role, known)
                issues.error(
                    "unknown_role",
                    wf.line(*path),
                    f"未知角色 '{role}'{hint}",
                    f"unknown role '{role}'{hint}",
                )

    for name, state in wf.states.items():
        if state.approval:
            check(state.approval_roles, "states", name, "roles")
    for index, t in enumerate(wf.transitions):
        check(t.roles, "transitions", index, "roles")


def lint(
    definition: Workflow | WorkflowDefinition,
    registry: Registry,
    known_roles: Iterable[str] = KNOWN_ROLES,
    known_forms: Iterable[str] = (),
) -> list[LintIssue]:
    """Everything wrong with one workflow version, errors and warnings, in file order.

    ``known_forms`` (the form files there are) only feeds "did you mean".
    """
    if isinstance(definition, Workflow):
        wf, forms = definition.definition, definition.forms
    else:
        wf, forms = definition, {}
    issues = _Issues(wf.file)
    _graph_rules(wf, issues)
    _name_rules(wf, forms, [*forms, *known_forms], registry, issues)
    _role_rules(wf, known_roles, issues)
    for rule, line, message in hold_problems(wf, forms):
        issues.error(rule, line, message.zh, message.en)
    _rekey_rules(wf, forms, issues)
    for index, t in enumerate(wf.transitions):
        if t.checks and wf.review_of(t) is None:
            issues.warning(
                "no_review",
                wf.line("transitions", index),
                f"'{t.trigger}' 有检查但没有审批状态:需审批的结果也会阻止办理",
                f"'{t.trigger}' has checks but no review state: approvable findings will block",
            )
    return sorted(issues.found, key=lambda i: (i.file, i.line or 0))


def check_directory(
    workflows_dir: Path,
    forms_dir: Path,
    registry: Registry,
    known_roles: Iterable[str] = KNOWN_ROLES,
) -> list[LintIssue]:
    """Lint every workflow file; a file that does not load becomes one error issue.

    A form shared by several workflows is reported once.
    """
    found: list[LintIssue] = []
    forms = [path.stem for path in Path(forms_dir).glob("*.yaml")]
    for path in sorted(Path(workflows_dir).glob("*.yaml")):
        try:
            workflow = load_workflow(path, Path(forms_dir))
        except DefinitionError as exc:
            found.append(LintIssue("error", "load", exc.file or str(path), exc.line, exc.message))
            continue
        found += [i for i in lint(workflow, registry, known_roles, forms) if i not in found]
    return found
