"""What a case page shows beside its forms: the row of steps and where the unbind code went.

``progress_steps`` turns the workflow's main path (``counter.engine.diagram.main_path``)
into the steps a teller reads across the top of the page, the current one
marked, with the supervisor's review where the case took it and the state a
case left the path for (a refusal by the acquirer, a cancellation) where it
did. ``code_panel`` reads what the code step keeps in the case variables
(the masked phone it went to, when it was sent, the tries used) for the
code form's countdown and tries left.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from counter.adapters.codes import CODE_MAX_ATTEMPTS, CODE_TTL
from counter.banking.rules.code import CODE_VAR
from counter.cases.views import CaseView
from counter.engine.definition import WorkflowDefinition
from counter.engine.diagram import main_path
from counter.engine.loader import Workflow
from counter.text import Text
from counter.web.schemas import ApprovalOut, JournalEntryOut

__all__ = ["CodePanel", "ProgressStep", "code_panel", "progress_steps", "supervisor_steps"]

SUPERVISOR_ROLES = frozenset({"supervisor"})


_Derived = TypeVar("_Derived")


def per_definition(
    derive: Callable[[WorkflowDefinition], _Derived],
) -> Callable[[WorkflowDefinition], _Derived]:
    """``derive`` worked out once per definition version, not on every page.

    Definitions are immutable once loaded; each entry keeps its definition
    alive, so the id it is filed under is never reused for another one."""
    kept: dict[int, tuple[WorkflowDefinition, _Derived]] = {}

    @functools.wraps(derive)
    def derived(definition: WorkflowDefinition) -> _Derived:
        found = kept.get(id(definition))
        if found is None or found[0] is not definition:
            found = kept[id(definition)] = (definition, derive(definition))
        return found[1]

    return derived


@per_definition
def _main_path(definition: WorkflowDefinition) -> tuple[str, ...]:
    return tuple(main_path(definition))


@per_definition
def supervisor_steps(definition: WorkflowDefinition) -> frozenset[str]:
    """Open states that only a supervisor can move on (no teller step, no outside answer)."""
    return _supervisor_steps(definition)


def _supervisor_steps(definition: WorkflowDefinition) -> frozenset[str]:
    found = set()
    for name, state in definition.states.items():
        if state.final or state.approval:
            continue
        roles = [
            set(t.roles)
            for t in definition.transitions
            if name in definition.expand_sources(t) and "system" not in t.roles
        ]
        if roles and all(r <= SUPERVISOR_ROLES for r in roles):
            found.add(name)
    return frozenset(found)


@dataclass(frozen=True)
class ProgressStep:
    state: str
    title: Text
    status: str  # done | current | todo
    branch: bool = False  # a step off the main path (review, failure, cancellation)


def _entered_from(entries: Sequence[JournalEntryOut], state: str) -> str | None:
    """The state a case was in when it last entered ``state``."""
    for entry in reversed(entries):
        if entry.to_state == state and entry.from_state and entry.from_state != state:
            return entry.from_state
    return None


def progress_steps(
    workflow: Workflow,
    state: str,
    entries: Sequence[JournalEntryOut],
    pending: ApprovalOut | None = None,
) -> list[ProgressStep]:
    definition = workflow.definition
    path = list(_main_path(definition))
    branches: set[str] = set()
    visited = {e.to_state for e in entries if e.to_state}
    # The reviews the case went through, each after the step that raised it.
    for review in definition.approval_states():
        if review not in visited and review != state:
            continue
        source = pending.source if pending is not None and review == state else None
        source = source or _entered_from(entries, review)
        at = path.index(source) + 1 if source in path else len(path)
        if review not in path:
            path.insert(at, review)
            branches.add(review)
    if state not in path:
        source = _entered_from(entries, state)
        at = path.index(source) + 1 if source in path else len(path)
        if definition.states[state].final:
            path = path[:at]  # the case ended here: the rest of the path is not ahead of it
        path.insert(at, state)
        branches.add(state)
    current = path.index(state)
    return [
        ProgressStep(
            name,
            definition.state_title(name),
            "done" if index < current else "current" if index == current else "todo",
            name in branches,
        )
        for index, name in enumerate(path)
    ]


@dataclass(frozen=True)
class CodePanel:
    """Where the one-time code went and how long and how often it can still be entered."""

    sent_to: str
    expires_at: datetime | None
    attempts_left: int
    sends: int

    @property
    def last_try(self) -> bool:
        return self.attempts_left == 1


def code_panel(
    view: CaseView, workflow: Workflow, wrong_codes: Callable[[], int] = lambda: 0
) -> CodePanel | None:
    """The code step's facts, when the case is at a step that collects a code.

    ``wrong_codes``: the wrong codes refused since the case's last step (they are
    counted in the journal, not in the case's data); read only at a code step.
    """
    state = workflow.definition.states.get(view.state)
    form = workflow.forms.get(state.form) if state is not None and state.form else None
    if form is None or not any(spec.type == "code" for spec in form.fields):
        return None
    variables = view.data.get("vars")
    kept = variables.get(CODE_VAR) if isinstance(variables, Mapping) else None
    if not isinstance(kept, Mapping):
        return None
    return CodePanel(
        sent_to=str(kept.get("sent_to") or ""),
        expires_at=_expiry(kept),
        attempts_left=max(0, _attempts_left(kept) - wrong_codes()),
        sends=int(kept.get("sends") or 0),
    )


def _expiry(kept: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(kept["issued_at"])) + CODE_TTL
    except (KeyError, ValueError):
        return None


def _attempts_left(kept: Mapping[str, Any]) -> int:
    if isinstance(kept.get("attempts_left"), int):
        return max(0, int(kept["attempts_left"]))
    return max(0, CODE_MAX_ATTEMPTS - int(kept.get("attempts") or 0))
