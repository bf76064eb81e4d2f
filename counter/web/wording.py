"""The workflows' identifiers in staff's words: findings, evidence, triggers, states, the journal.

Nothing a teller or a supervisor reads is a raw identifier: a finding shows
its name (``finding_code.<code>`` in ``vocabulary.yaml``) and the check's
message, each piece of evidence its label (``evidence.<key>``) and its value
in words where it is a known vocabulary (``value.<key>.<value>``, a form's
choice, a state's title), a journal entry what happened (slip issued, its
copy and template version) with its hashes whole for an auditor to copy.
Values arrive here masked already (``counter.web.present``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from counter.cases.views import CaseSummary
from counter.engine.definition import FormDefinition
from counter.engine.loader import Catalog, Workflow
from counter.errors import CounterError, InvalidTrigger, PermissionDenied
from counter.text import Text
from counter.web.i18n import catalog
from counter.web.schemas import FindingOut, JournalEntryOut

__all__ = [
    "Fact",
    "FindingShown",
    "JournalShown",
    "entry_shown",
    "entry_title",
    "evidence_label",
    "finding_shown",
    "finding_title",
    "listed_titles",
    "page_message",
    "shown_findings",
    "state_words",
    "trigger_words",
    "value_words",
]

# Evidence a machine reads: the check's message already says it in words.
_MACHINE_EVIDENCE = frozenset({"problem"})
_GENERIC_FINDING = "finding.generic"


@dataclass(frozen=True)
class Fact:
    """One labelled value: ``mono`` values (hashes, references) are shown whole to copy."""

    label: Text
    value: Text | str
    mono: bool = False


@dataclass(frozen=True)
class FindingShown:
    severity: str
    title: Text
    message: Text
    facts: list[Fact] = field(default_factory=list)
    field: str | None = None


@dataclass(frozen=True)
class JournalShown:
    seq: int
    at: Any
    actor: Text | str
    kind: str
    title: Text
    to_state: Text | None
    note: str | None
    facts: list[Fact]
    hashes: list[Fact]
    findings: list[Text]


def finding_title(code: str) -> Text:
    """A finding's name; a code the catalog lacks reads "check result", never the code."""
    return catalog().find(f"finding_code.{code}") or catalog().text(_GENERIC_FINDING)


def evidence_label(key: str) -> Text:
    return catalog().find(f"evidence.{key}") or catalog().text("evidence.other")


def _choice(workflow: Workflow | None, key: str, value: str) -> Text | None:
    for form in workflow.forms.values() if workflow is not None else ():
        spec = form.field(key)
        if spec is None:
            continue
        label = next((c.label for c in spec.choices if c.value == value), None)
        if label is not None:
            return label
    return None


def value_words(key: str, value: Any, workflow: Workflow | None = None) -> Text | str:
    """A value in words where it is one of a known vocabulary, else as it is (already masked)."""
    if isinstance(value, bool):
        return catalog().text("value.yes" if value else "value.no")
    if key.endswith("_cents") and isinstance(value, int):
        return catalog().text("value.yuan", amount=f"{value / 100:,.2f}")
    if value is None:
        return ""
    text = str(value)
    words = catalog().find(f"value.{key}.{text}")
    if words is not None:
        return words
    if key == "channel" and f"channel.{text}" in catalog():
        return catalog().text(f"channel.{text}")
    if key == "state" and workflow is not None and text in workflow.definition.states:
        return workflow.definition.state_title(text)
    choice = _choice(workflow, key, text)
    return choice if choice is not None else text


def finding_shown(finding: FindingOut, workflow: Workflow | None = None) -> FindingShown:
    facts = [
        Fact(evidence_label(key), value_words(key, value, workflow))
        for key, value in finding.evidence.items()
        if key not in _MACHINE_EVIDENCE and value not in (None, "")
    ]
    return FindingShown(
        severity=finding.severity,
        title=finding_title(finding.code),
        message=finding.message,
        facts=facts,
        field=finding.field,
    )


def trigger_words(workflow: Workflow, trigger: str) -> Text:
    """What a trigger does: the workflow's title for it, else the catalog's (``trigger.<name>``).

    A trigger with neither reads as the form it collects, and at worst as "a step":
    never as its identifier.
    """
    definition = workflow.definition
    for transition in definition.transitions:
        if transition.trigger == trigger and transition.title is not None:
            return transition.title
    words = catalog().find(f"trigger.{trigger}")
    if words is not None:
        return words
    form = _form_of(workflow, trigger)
    return form.title if form is not None else catalog().text("trigger.other")


def _form_of(workflow: Workflow, trigger: str) -> FormDefinition | None:
    definition = workflow.definition
    declared = next((t for t in definition.transitions if t.trigger == trigger), None)
    if declared is None:
        return None
    sources = definition.expand_sources(declared)
    name = definition.form_of(declared, sources[0]) if sources else declared.form
    return workflow.forms.get(name) if name else None


def state_words(workflow: Workflow | None, state: str | None) -> Text | None:
    if workflow is None or state is None or state not in workflow.definition.states:
        return None
    return workflow.definition.state_title(state)


STRUCTURED_NOTES = frozenset({"slip", "reprint", "migrated", "escalated", "post_review"})
"""Entry kinds whose note is JSON of a documented shape: shown as facts, never as JSON."""


def _level_words(level: object) -> Text | str:
    return catalog().find(f"authority.{level}") or str(level)


def _system_facts(kind: str, details: Mapping[str, Any]) -> tuple[list[Fact], list[Fact]]:
    """A migration's, an escalation's or a post review's note as words (and hashes)."""
    said = catalog().text
    if kind == "post_review":
        outcome = str(details.get("outcome"))
        shown = catalog().find(f"review.status.{outcome}") or outcome
        facts = [Fact(said("review.outcome"), shown)]
        if details.get("text"):
            facts.append(Fact(said("review.text"), str(details["text"])))
        return facts, []
    if kind == "escalated":
        return [
            Fact(said("journal.escalated_from"), _level_words(details.get("from_level"))),
            Fact(said("journal.escalated_to"), _level_words(details.get("to_level"))),
            Fact(said("journal.escalated_after"),
                 said("approvals.minutes", n=details.get("after_minutes"))),
        ], []
    kind_words = catalog().find(f"migration.kind.{details.get('kind')}")
    facts = [
        Fact(said("migration.plan"), f"#{details.get('migration')}"),
        *([Fact(said("migration.kind"), kind_words)] if kind_words else []),
        Fact(said("migration.prepared_by"), str(details.get("prepared_by"))),
        Fact(said("migration.confirmed_by"), str(details.get("confirmed_by"))),
    ]
    hashes = [
        Fact(said("migration.from_hash"), str(details.get("from_hash")), mono=True),
        Fact(said("migration.to_hash"), str(details.get("to_hash")), mono=True),
    ]
    return facts, hashes


def _detail_facts(kind: str, note: str | None) -> tuple[list[Fact], list[Fact]]:
    """A structured note's details (``STRUCTURED_NOTES``) as words and hashes."""
    if kind not in STRUCTURED_NOTES or not note:
        return [], []
    try:
        details = json.loads(note)
    except ValueError:
        return [], []
    if not isinstance(details, Mapping):
        return [], []
    if kind not in ("slip", "reprint"):
        return _system_facts(kind, details)
    facts: list[Fact] = []
    hashes: list[Fact] = []
    copy = details.get("copy_number")
    if isinstance(copy, int):
        words = (
            catalog().text("slip.original")
            if copy == 0
            else catalog().text("slip.reprint_no", n=copy)
        )
        facts.append(Fact(catalog().text("journal.copy"), words))
    if details.get("fmt"):
        fmt = str(details["fmt"])
        shown = catalog().find(f"slip.fmt.{fmt}") or fmt
        facts.append(Fact(catalog().text("journal.format"), shown))
    if details.get("reason"):
        facts.append(Fact(catalog().text("journal.reprint_reason"), str(details["reason"])))
    if details.get("sha256"):
        hashes.append(Fact(catalog().text("journal.pdf_sha256"), str(details["sha256"]), mono=True))
    if details.get("template_version"):
        hashes.append(
            Fact(catalog().text("journal.template_version"), str(details["template_version"]), True)
        )
    return facts, hashes


def entry_title(workflow: Workflow | None, entry: JournalEntryOut) -> Text:
    """What a journal entry records, in words: its trigger's, or its kind's.

    A ``refused`` entry (a step the desk refused and journaled: a wrong code, a
    blocking finding) reads "<step>: refused", its findings listed by name below.
    """
    if entry.kind == "refused" and entry.trigger and workflow is not None:
        action = trigger_words(workflow, entry.trigger)
        return catalog().text("journal.refused_step", action_zh=action.zh, action_en=action.en)
    if entry.kind not in ("trigger", "approval"):
        words = catalog().find(f"journal.{entry.kind}")
        if words is not None:
            return words
    if entry.trigger and workflow is not None:
        return trigger_words(workflow, entry.trigger)
    return catalog().find(f"journal.{entry.kind}") or catalog().text("journal.other")


def entry_shown(entry: JournalEntryOut, workflow: Workflow | None) -> JournalShown:
    facts, hashes = _detail_facts(entry.kind, entry.note)
    note = None if entry.kind in STRUCTURED_NOTES | {"open", "refused"} else entry.note
    hashes += [Fact(catalog().text("journal.entry_hash"), entry.hash, mono=True)]
    if entry.prev_hash:
        hashes.append(Fact(catalog().text("journal.prev_hash"), entry.prev_hash, mono=True))
    if entry.data_digest and entry.kind not in ("slip", "reprint"):
        hashes.append(Fact(catalog().text("journal.data_digest"), entry.data_digest, mono=True))
    return JournalShown(
        seq=entry.seq,
        at=entry.at,
        actor=catalog().find(f"actor.{entry.actor}") or entry.actor,
        kind=entry.kind,
        title=entry_title(workflow, entry),
        to_state=state_words(workflow, entry.to_state),
        note=note,
        facts=facts,
        hashes=hashes,
        findings=[finding_title(f.code) for f in entry.findings],
    )


def page_message(error: CounterError, workflow: Workflow | None = None) -> Text:
    """The words a page shows for a refusal: the action named in words, not its identifier."""
    from counter.web.errors import message_for

    trigger = error.context.get("trigger")
    if trigger and isinstance(error, PermissionDenied | InvalidTrigger):
        action = (
            trigger_words(workflow, str(trigger))
            if workflow is not None
            else catalog().find(f"trigger.{trigger}") or catalog().text("trigger.other")
        )
        key = "error.may_not" if isinstance(error, PermissionDenied) else "error.not_now"
        return catalog().text(key, action_zh=action.zh, action_en=action.en)
    return message_for(error)


def shown_findings(
    findings: Sequence[FindingOut], workflow: Workflow | None
) -> list[FindingShown]:
    return [finding_shown(f, workflow) for f in findings]


def listed_titles(
    catalog_: Catalog, cases: Sequence[CaseSummary]
) -> tuple[dict[str, Text], dict[str, Text]]:
    """For a list of cases: each one's service and step by title, by reference.

    Lists carry no definition version, so the current definition names them;
    a workflow or state it no longer has reads as its identifier (never blank).
    """
    names = set(catalog_.names())
    services: dict[str, Text] = {}
    steps: dict[str, Text] = {}
    for case in cases:
        definition = catalog_.current(case.workflow).definition if case.workflow in names else None
        services[case.reference] = (
            definition.title if definition else Text(zh=case.workflow, en=case.workflow)
        )
        known = definition is not None and case.state in definition.states
        steps[case.reference] = (
            definition.state_title(case.state)
            if definition is not None and known
            else Text(zh=case.state, en=case.state)
        )
    return services, steps
