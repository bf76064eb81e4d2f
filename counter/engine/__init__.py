"""The workflow engine: definitions, loader, registry, forms, compiler, runtime, lint, diagrams.

Domain-free and pure: it imports nothing from ``counter.web``, ``store``,
``slips``, ``adapters`` or ``cases`` (a test keeps it so). The public API is
exactly ``__all__``; the modules behind it are implementation.
"""

from __future__ import annotations

from counter.engine.definition import (
    FieldDefinition,
    FormDefinition,
    HoldDefinition,
    StateDefinition,
    TransitionDefinition,
    WorkflowDefinition,
)
from counter.engine.diagram import diagram
from counter.engine.forms import ValidatedForm, validate_form
from counter.engine.lint import KNOWN_ROLES, LintIssue, check_directory, lint
from counter.engine.loader import Catalog, Workflow, load_workflow
from counter.engine.registry import (
    Registry,
    action,
    check,
    condition,
    default_registry,
    validator,
)
from counter.engine.runtime import Runtime
from counter.engine.types import (
    ActionContext,
    Actor,
    CaseSnapshot,
    Decision,
    Effect,
    Finding,
    PendingApproval,
    Severity,
    StepContext,
)

__all__ = [
    "KNOWN_ROLES",
    "ActionContext",
    "Actor",
    "CaseSnapshot",
    "Catalog",
    "Decision",
    "Effect",
    "FieldDefinition",
    "Finding",
    "FormDefinition",
    "HoldDefinition",
    "LintIssue",
    "PendingApproval",
    "Registry",
    "Runtime",
    "Severity",
    "StateDefinition",
    "StepContext",
    "TransitionDefinition",
    "ValidatedForm",
    "Workflow",
    "WorkflowDefinition",
    "action",
    "check",
    "check_directory",
    "condition",
    "default_registry",
    "diagram",
    "lint",
    "load_workflow",
    "validate_form",
    "validator",
]
