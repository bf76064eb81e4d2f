"""From the desk's views to what a person or an API client is shown: masked, never whole.

Masking is decided by a value's declared class, never by what the string
looks like: a form field's ``pii`` class (``id | card | account | phone |
name``), or, for values the banking rules keep outside forms (evidence, case
variables), the class ``counter.banking.evidence`` declares for their key.
Anything else (hashes, references, merchant numbers, free text) is shown as
it is; secret fields and machine-only variables never leave. Only the form a
teller is filling in right now shows back what they typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from counter.banking.evidence import KnownValues, declared_class, note_class
from counter.banking.masking import mask
from counter.cases.views import (
    ApprovalView,
    CaseSummary,
    CaseView,
    FindingView,
    JournalEntryView,
)
from counter.config import MaskingPolicy
from counter.engine.definition import FieldDefinition, FormDefinition
from counter.engine.loader import Workflow
from counter.store.db import utcnow
from counter.web.schemas import (
    ApprovalOut,
    CaseOut,
    CaseSummaryOut,
    ChoiceOut,
    FieldOut,
    FindingOut,
    FormOut,
    JournalEntryOut,
    StateOut,
    TriggerOut,
    WorkflowOut,
    WorkflowSummaryOut,
)

__all__ = [
    "approval_out",
    "case_journal_out",
    "case_out",
    "case_summary_out",
    "field_out",
    "finding_out",
    "journal_out",
    "masked_data",
    "masked_value",
    "pii_fields",
    "workflow_out",
    "workflow_summary_out",
]

# Workflow variables that only machines read (code hashes and the like) are never shown.
_HIDDEN = ("hash", "digest", "nonce", "secret", "password", "token", "salt")


def _hidden(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _HIDDEN)


def pii_fields(workflow: Workflow | None) -> dict[str, str]:
    """The declared class of every personal field of ``workflow``'s forms, by field name."""
    fields: dict[str, str] = {}
    for form in workflow.forms.values() if workflow is not None else ():
        for spec in form.fields:
            if spec.pii != "none":
                fields.setdefault(spec.name, spec.pii)
    return fields


def masked_value(
    value: Any,
    kind: str | None,
    policy: MaskingPolicy,
    fields: Mapping[str, str] | None = None,
) -> Any:
    """``value`` as it may be shown: masked as ``kind`` if it has a class, else as it is.

    Mappings are walked with each key's declared class (``fields``, then
    ``counter.banking.evidence``); machine-only keys (hashes, nonces, tokens)
    are left out.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {
            str(k): masked_value(v, declared_class(str(k), fields), policy, fields)
            for k, v in value.items()
            if not _hidden(str(k))
        }
    if isinstance(value, list | tuple):
        return [masked_value(v, kind, policy, fields) for v in value]
    if kind and kind != "none":
        return mask(str(value), kind, policy)
    return value


def _field_value(spec: FieldDefinition, value: Any, policy: MaskingPolicy) -> Any:
    """A form field's value by its own declared class (``pii``)."""
    return masked_value(value, spec.pii, policy)


def _masked_section(
    form: FormDefinition | None,
    values: Mapping[str, Any],
    policy: MaskingPolicy,
    fields: Mapping[str, str],
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in values.items():
        spec = form.field(name) if form is not None else None
        if spec is not None:
            if not spec.secret:
                shown[name] = _field_value(spec, value, policy)
        elif not _hidden(name):
            shown[name] = masked_value(value, declared_class(name, fields), policy, fields)
    return shown


def masked_data(
    workflow: Workflow, data: Mapping[str, Any], policy: MaskingPolicy
) -> dict[str, Any]:
    """A case's data by form, every personal value masked by its field's class."""
    shown: dict[str, Any] = {}
    fields = pii_fields(workflow)
    for section, values in data.items():
        if isinstance(values, Mapping):
            shown[section] = _masked_section(workflow.forms.get(section), values, policy, fields)
        else:
            shown[section] = masked_value(values, None, policy, fields)
    return shown


def finding_out(
    finding: FindingView | Any, policy: MaskingPolicy, fields: Mapping[str, str] | None = None
) -> FindingOut:
    """A finding as journaled (``FindingView``) or as just raised (the engine's ``Finding``).

    Evidence is masked by each key's class: ``fields`` (the case's forms), else declared.
    """
    if not isinstance(finding, FindingView):
        finding = FindingView.model_validate(finding.as_dict())
    return FindingOut(
        code=finding.code,
        severity=finding.severity,
        message=finding.message,
        field=finding.field,
        evidence={
            k: masked_value(v, declared_class(k, fields), policy, fields)
            for k, v in finding.evidence.items()
            if not _hidden(k)
        },
    )


def approval_out(approval: ApprovalView, policy: MaskingPolicy) -> ApprovalOut:
    waited = (approval.decided_at or utcnow()) - approval.raised_at
    return ApprovalOut(
        id=approval.id,
        case_reference=approval.case_reference,
        workflow=approval.workflow,
        branch=approval.branch,
        channel=approval.channel,
        trigger=approval.trigger,
        source=approval.source,
        dest=approval.dest,
        raised_by=approval.raised_by,
        raised_at=approval.raised_at,
        waiting_minutes=max(0, int(waited.total_seconds() // 60)),
        findings=[finding_out(f, policy) for f in approval.findings],
        decided_by=approval.decided_by,
        decided_at=approval.decided_at,
        decision=approval.decision,
        reason=mask(approval.reason, "text", policy) if approval.reason else None,
        level=approval.level,
        escalated_to=approval.escalated_to,
        escalated_at=approval.escalated_at,
    )


def case_out(case: CaseView, workflow: Workflow, policy: MaskingPolicy) -> CaseOut:
    return CaseOut(
        reference=case.reference,
        workflow=case.workflow,
        title=case.title,
        state=case.state,
        state_title=case.state_title,
        final=case.final,
        version=case.version,
        definition_hash=case.definition_hash,
        available_triggers=list(case.available_triggers),
        data=masked_data(workflow, case.data, policy),
        findings=[finding_out(f, policy) for f in case.findings],
        pending=approval_out(case.pending, policy) if case.pending else None,
        opened_by=case.opened_by,
        branch=case.branch,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
        waiting=list(case.waiting),
    )


def case_summary_out(case: CaseSummary) -> CaseSummaryOut:
    return CaseSummaryOut(**case.model_dump())


def journal_out(
    entries: Iterable[JournalEntryView],
    policy: MaskingPolicy,
    known: KnownValues | None = None,
    fields: Mapping[str, str] | None = None,
) -> list[JournalEntryOut]:
    """The journal as shown: notes masked by their class (``note_class``) and the case's
    ``known`` personal values, evidence by its keys' classes. Structured notes stay JSON
    (their documented shape); pages show them as facts (``wording.entry_shown``)."""
    known = known or KnownValues()
    return [
        JournalEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            kind=e.kind,
            trigger=e.trigger,
            from_state=e.from_state,
            to_state=e.to_state,
            findings=[finding_out(f, policy, fields) for f in e.findings],
            note=mask(known.text(e.note), note_class(e.kind), policy) if e.note else None,
            data_digest=e.data_digest,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in entries
    ]


def case_journal_out(
    entries: Iterable[JournalEntryView],
    workflow: Workflow,
    data: Mapping[str, Any],
    policy: MaskingPolicy,
) -> list[JournalEntryOut]:
    """A case's journal, its personal values masked by their forms' classes wherever typed."""
    known = KnownValues.of_case(policy, workflow, data)
    return journal_out(entries, policy, known, pii_fields(workflow))


def field_out(spec: FieldDefinition) -> FieldOut:
    return FieldOut(
        name=spec.name,
        label=spec.label,
        type=spec.type,
        required=spec.required,
        required_if=dict(spec.required_if) if spec.required_if else None,
        max_length=spec.max_length,
        choices=[ChoiceOut(value=c.value, label=c.label) for c in spec.choices],
        pii=spec.pii,
        secret=spec.secret,
    )


def workflow_summary_out(workflow: Workflow) -> WorkflowSummaryOut:
    return WorkflowSummaryOut(
        name=workflow.name, title=workflow.definition.title, hash=workflow.hash
    )


def workflow_out(workflow: Workflow) -> WorkflowOut:
    definition = workflow.definition
    return WorkflowOut(
        name=workflow.name,
        title=definition.title,
        hash=workflow.hash,
        initial=definition.initial,
        states=[
            StateOut(
                name=name,
                title=definition.state_title(name),
                form=state.form,
                approval=state.approval,
                final=state.final,
            )
            for name, state in definition.states.items()
        ],
        triggers=[
            TriggerOut(
                trigger=t.trigger,
                sources=definition.expand_sources(t),
                dest=t.dest,
                roles=list(t.roles),
                form=definition.form_of(t, definition.expand_sources(t)[0])
                if definition.expand_sources(t)
                else t.form,
            )
            for t in definition.transitions
        ],
        forms=[
            FormOut(name=form.name, title=form.title, fields=[field_out(f) for f in form.fields])
            for form in workflow.forms.values()
        ],
    )
