"""Request and response models of the JSON API (what /openapi.json describes).

These are the API's own models, never table models and never the service's
views handed out as they are: every personal value in them has been masked
by ``counter.web.present`` before it gets here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from counter.cases.views import CaseSummary, WaitingView
from counter.text import Text

__all__ = [
    "ApprovalDecisionIn",
    "ApprovalOut",
    "CaseCreateIn",
    "CaseOut",
    "CaseSummaryOut",
    "ChoiceOut",
    "FieldOut",
    "FindingOut",
    "FormOut",
    "JournalEntryOut",
    "RejectIn",
    "StateOut",
    "StatusOut",
    "TriggerIn",
    "TriggerOut",
    "WorkflowOut",
    "WorkflowSummaryOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- workflows ---------------------------------------------------------------


class WorkflowSummaryOut(BaseModel):
    """A workflow a case can be opened with (its current version)."""

    name: str
    title: Text
    hash: str


class ChoiceOut(BaseModel):
    value: str
    label: Text


class FieldOut(BaseModel):
    """One input of a form: what to send under ``data`` when firing the trigger."""

    name: str
    label: Text
    type: str
    required: bool
    required_if: dict[str, Any] | None
    max_length: int | None
    choices: list[ChoiceOut]
    pii: str
    secret: bool


class FormOut(BaseModel):
    name: str
    title: Text
    fields: list[FieldOut]


class StateOut(BaseModel):
    name: str
    title: Text
    form: str | None
    approval: bool
    final: bool


class TriggerOut(BaseModel):
    """One declared transition (a trigger may have several, chosen by their conditions)."""

    trigger: str
    sources: list[str]
    dest: str
    roles: list[str]
    form: str | None


class WorkflowOut(WorkflowSummaryOut):
    """A workflow's states, triggers and forms with their fields."""

    initial: str
    states: list[StateOut]
    triggers: list[TriggerOut]
    forms: list[FormOut]


# --- cases -------------------------------------------------------------------


class FindingOut(BaseModel):
    """What a check found; ``evidence`` values are masked."""

    code: str
    severity: str
    message: Text
    field: str | None
    evidence: dict[str, Any]


class ApprovalOut(BaseModel):
    """A supervisor decision on a case's findings, waiting or taken."""

    id: int
    case_reference: str
    workflow: str | None
    branch: str | None
    channel: str
    trigger: str
    source: str
    dest: str
    raised_by: str
    raised_at: datetime
    waiting_minutes: int
    findings: list[FindingOut]
    decided_by: str | None
    decided_at: datetime | None
    decision: str | None
    reason: str | None
    level: str | None = None  # the authority level it needs (tiered authority)
    escalated_to: str | None = None  # where it escalated: a higher level, or "remote"
    escalated_at: datetime | None = None


class CaseOut(BaseModel):
    """A case as the caller sees it; ``data`` holds the accepted values, masked."""

    reference: str
    workflow: str
    title: Text
    state: str
    state_title: Text
    final: bool
    version: int
    definition_hash: str  # the workflow version (content hash) the case runs on
    available_triggers: list[str]
    data: dict[str, Any]
    findings: list[FindingOut]
    pending: ApprovalOut | None
    opened_by: str
    branch: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    waiting: list[WaitingView] = []  # outside work under way: the acquirer, the slip


class CaseSummaryOut(CaseSummary):
    """A line of a case list (no personal data in it, so the service's own view)."""


class JournalEntryOut(BaseModel):
    """One entry of a case's hash-chained journal."""

    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    findings: list[FindingOut]
    note: str | None
    data_digest: str | None
    prev_hash: str
    hash: str


class StatusOut(BaseModel):
    """What a customer may learn about their case: the service, where it is, when it finished."""

    service: Text
    state: Text
    completed: bool
    completed_at: datetime | None


# --- requests ----------------------------------------------------------------


class CaseCreateIn(_In):
    workflow: str = Field(min_length=1, max_length=64)


Version = Annotated[int, Field(strict=True, ge=0, description="The case's version as last read; "
                                "an integer (\"1\" and true are refused)")]


class TriggerIn(_In):
    """The step's form values and the version of the case the caller last read."""

    data: dict[str, Any] = Field(default_factory=dict)
    version: Version


class ApprovalDecisionIn(_In):
    """Approve: a reason is optional (journaled with the decision)."""

    reason: str | None = Field(default=None, max_length=500)
    version: Version | None = None
    rekey: dict[str, str] | None = Field(
        default=None,
        description="Blind re-keying: the values the approver re-entered, by field "
        '(``{"pos_binding.account_number": "..."}``), compared with the maker\'s',
    )


class RejectIn(_In):
    """Reject: a reason is required."""

    reason: str = Field(min_length=1, max_length=500)
    version: Version | None = None


# --- post-transaction review -------------------------------------------------


class ReviewDrawIn(_In):
    """Which branch's business day to draw into the review queue."""

    branch: str = Field(min_length=1, max_length=20, examples=["BJ001"])
    day: date = Field(examples=["2026-11-25"])


class ReviewIssueIn(_In):
    """The issue a reviewer raises, and why (required; journaled on the case)."""

    reason: str = Field(min_length=1, max_length=500)


class ReviewAnswerIn(_In):
    """The branch supervisor's answer to a raised issue (required; journaled)."""

    answer: str = Field(min_length=1, max_length=500)
