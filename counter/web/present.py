"""From the desk's views to what a person or an API client is shown: masked, never whole.

Every value a form marks as personal (``pii: id | card | account | phone |
name``) is masked by the bank's policy; secret fields never leave; any other
text still passes through ``mask_text`` so that a number typed into a free
field is not shown whole either. Only the form a teller is filling in right
now shows back what they typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from counter.banking.masking import mask, mask_text
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
    "case_out",
    "case_summary_out",
    "field_out",
    "finding_out",
    "journal_out",
    "masked_data",
    "masked_value",
    "workflow_out",
    "workflow_summary_out",
]

# Workflow variables that only machines read (code hashes and the like) are never shown.
_HIDDEN = ("hash", "digest", "nonce", "secret", "password", "token", "salt")


def _hidden(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _HIDDEN)


# Keys of values outside any form (workflow variables, outside systems' answers), by the
# masking class their name says; anything else still has its long numbers masked.
_KEY_CLASSES = (
    (("id_number",), "id"),
    (("phone", "mobile"), "phone"),
    (("account_number", "card_number"), "card"),
    (("holder", "legal_rep_name", "person_name", "customer_name"), "name"),
    (("reference",), "none"),  # a case's or an outside system's reference, never a person's
)


def kind_of_key(key: str) -> str | None:
    lowered = key.lower()
    for words, kind in _KEY_CLASSES:
        if any(word in lowered for word in words):
            return kind
    if lowered == "name" or (lowered.endswith("_name") and "merchant" not in lowered):
        return "name"
    return None


def masked_value(value: Any, kind: str | None, policy: MaskingPolicy) -> Any:
    """``value`` as it may be shown: masked as ``kind``, or with any long number in it masked.

    Mappings are walked with each key's own class (``kind_of_key``); secret-looking
    keys (hashes, nonces, tokens) are left out.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {
            str(k): masked_value(v, kind_of_key(str(k)), policy)
            for k, v in value.items()
            if not _hidden(str(k))
        }
    if isinstance(value, list | tuple):
        return [masked_value(v, kind, policy) for v in value]
    text = str(value)
    if kind == "none":  # a reference by its key's name: shown as it is
        return text
    if kind:
        return mask(text, kind, policy)
    return mask_text(text, policy)


def _field_value(spec: FieldDefinition, value: Any, policy: MaskingPolicy) -> Any:
    """A form field's value by the form's own policy: its ``pii`` class decides.

    Identifiers with a declared format (merchant number, credit code) are shown as
    they are; free text still has any long number in it masked.
    """
    if spec.pii != "none":
        return masked_value(value, spec.pii, policy)
    if spec.type == "text" and not spec.validators:
        return masked_value(value, None, policy)
    return value


def _masked_section(
    form: FormDefinition | None, values: Mapping[str, Any], policy: MaskingPolicy
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in values.items():
        spec = form.field(name) if form is not None else None
        if spec is not None:
            if not spec.secret:
                shown[name] = _field_value(spec, value, policy)
        elif not _hidden(name):
            shown[name] = masked_value(value, kind_of_key(name), policy)
    return shown


def masked_data(
    workflow: Workflow, data: Mapping[str, Any], policy: MaskingPolicy
) -> dict[str, Any]:
    """A case's data by form, every personal value masked by its field's class."""
    shown: dict[str, Any] = {}
    for section, values in data.items():
        if isinstance(values, Mapping):
            shown[section] = _masked_section(workflow.forms.get(section), values, policy)
        else:
            shown[section] = masked_value(values, None, policy)
    return shown


def finding_out(finding: FindingView | Any, policy: MaskingPolicy) -> FindingOut:
    """A finding as journaled (``FindingView``) or as just raised (the engine's ``Finding``)."""
    if not isinstance(finding, FindingView):
        finding = FindingView.model_validate(finding.as_dict())
    return FindingOut(
        code=finding.code,
        severity=finding.severity,
        message=finding.message,
        field=finding.field,
        evidence={
            k: masked_value(v, kind_of_key(k), policy)
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
        reason=mask_text(approval.reason, policy) if approval.reason else None,
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


def _readable_note(kind: str, note: str) -> str:
    """A structured note (JSON, documented shape) as one line for people; others unchanged."""
    if kind not in ("migrated", "escalated", "post_review"):
        return note
    try:
        raw = json.loads(note)
    except ValueError:
        return note
    if not isinstance(raw, dict):
        return note
    if kind == "migrated":
        return (
            f"#{raw.get('migration')} {str(raw.get('from_hash'))[:12]} → "
            f"{str(raw.get('to_hash'))[:12]} ({raw.get('prepared_by')} / {raw.get('confirmed_by')})"
        )
    if kind == "escalated":
        return f"{raw.get('from_level')} → {raw.get('to_level')} ({raw.get('after_minutes')} min)"
    text = raw.get("text")
    return f"{raw.get('outcome')}: {text}" if text else str(raw.get("outcome"))


def journal_out(
    entries: Iterable[JournalEntryView], policy: MaskingPolicy, *, readable: bool = False
) -> list[JournalEntryOut]:
    """The journal as the API gives it; ``readable``: structured notes as one line (pages)."""
    return [
        JournalEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            kind=e.kind,
            trigger=e.trigger,
            from_state=e.from_state,
            to_state=e.to_state,
            findings=[finding_out(f, policy) for f in e.findings],
            note=(
                mask_text(_readable_note(e.kind, e.note) if readable else e.note, policy)
                if e.note
                else None
            ),
            data_digest=e.data_digest,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in entries
    ]


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
