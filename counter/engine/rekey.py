"""Blind re-keying: the approver types again what the maker entered, without seeing it.

An approval state may declare ``rekey``: fields of earlier forms that the
approver must re-enter on ``approve``, always or only when the pending
findings include one of the codes in ``when``. Each becomes a field of that
state's approve form, ``rekey_<field>``, validated like the original and
``secret`` (compared, never stored or journaled). A missing or different
value refuses the approval with a ``block`` finding; the values themselves
never appear in the finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counter.engine.definition import FieldDefinition, FormDefinition, StateDefinition
from counter.engine.forms import APPROVE_FORM
from counter.engine.loader import Workflow
from counter.engine.types import Finding, PendingApproval, Severity
from counter.text import Text

__all__ = ["REKEY_PREFIX", "approve_form", "rekey_findings", "rekey_name", "rekey_required"]

REKEY_PREFIX = "rekey_"


def rekey_name(path: str) -> str:
    """The approve form's field for ``form.field``: ``rekey_field``."""
    return REKEY_PREFIX + path.split(".", 1)[1]


def _original(workflow: Workflow, path: str) -> FieldDefinition | None:
    form, field = path.split(".", 1)
    spec = workflow.forms.get(form)
    return spec.field(field) if spec is not None else None


def _blind(spec: FieldDefinition, path: str) -> FieldDefinition:
    return spec.model_copy(
        update={
            "name": rekey_name(path),
            "label": Text(zh=f"复核录入:{spec.label.zh}", en=f"Re-enter: {spec.label.en}"),
            "required": False,
            "required_if": None,
            "secret": True,
            "help": Text(
                zh="请按客户凭证重新录入,系统与柜员录入值比对",
                en="Type it again from the customer's document; it is compared with the "
                "teller's entry",
            ),
        }
    )


def approve_form(workflow: Workflow, state: str) -> FormDefinition:
    """The form of ``approve`` in ``state``: a comment, and every field it may re-key."""
    extra = []
    for rekey in workflow.definition.states[state].rekey:
        spec = _original(workflow, rekey.field)
        if spec is not None:
            extra.append(_blind(spec, rekey.field))
    if not extra:
        return APPROVE_FORM
    return APPROVE_FORM.model_copy(update={"fields": (*APPROVE_FORM.fields, *extra)})


def rekey_required(
    workflow: Workflow, state: StateDefinition, pending: PendingApproval | None
) -> dict[str, FieldDefinition]:
    """The re-key fields this approval asks for, given its findings, by ``form.field``."""
    codes = {f.code for f in pending.findings} if pending is not None else set()
    wanted = {}
    for rekey in state.rekey:
        spec = _original(workflow, rekey.field)
        if spec is not None and (not rekey.when or codes & set(rekey.when)):
            wanted[rekey.field] = _blind(spec, rekey.field)
    return wanted


def _same(entered: Any, stored: Any) -> bool:
    return "".join(str(entered).split()) == "".join(str(stored).split())


def rekey_findings(
    workflow: Workflow,
    state: StateDefinition,
    pending: PendingApproval | None,
    data: Mapping[str, Any],
    values: Mapping[str, Any],
) -> list[Finding]:
    """``block`` findings for each re-key field left empty or different from the maker's."""
    found = []
    wanted = rekey_required(workflow, state, pending)
    for rekey in state.rekey:
        name = rekey_name(rekey.field)
        if rekey.field not in wanted:
            continue
        form, field = rekey.field.split(".", 1)
        section = data.get(form)
        stored = section.get(field) if isinstance(section, Mapping) else None
        entered = values.get(name)
        spec = _original(workflow, rekey.field)
        label = spec.label if spec is not None else Text(zh=field, en=field)
        if entered is None:
            found.append(
                Finding(
                    "rekey_missing",
                    Severity.BLOCK,
                    Text(zh=f"请复核录入{label.zh}", en=f"Re-enter {label.en} to approve"),
                    field=name,
                )
            )
        elif stored is None or not _same(entered, stored):
            found.append(
                Finding(
                    "rekey_mismatch",
                    Severity.BLOCK,
                    Text(
                        zh=f"复核录入的{label.zh}与柜员录入不一致,不能批准",
                        en=f"The {label.en} re-entered differs from the teller's entry; "
                        "not approved",
                    ),
                    field=name,
                    evidence={"field": rekey.field},
                )
            )
    return found
