"""What the application service returns: plain pydantic models, never table rows.

Case data is returned as stored (full values): masking is the presenters'
job (console, API, slips), by the bank's masking policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from counter.text import Text

__all__ = [
    "ApprovalView",
    "CaseSummary",
    "CaseView",
    "FindingView",
    "JournalEntryView",
    "WaitingView",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class FindingView(_View):
    """One finding of a check, as journaled."""

    code: str
    severity: str
    message: Text
    field: str | None = None
    evidence: dict[str, Any] = {}


class ApprovalView(_View):
    """A supervisor decision, open (``decision`` is None) or closed."""

    id: int
    case_reference: str
    trigger: str
    source: str
    dest: str
    raised_by: str
    raised_at: datetime
    findings: list[FindingView]
    channel: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision: str | None = None
    reason: str | None = None
    workflow: str | None = None
    branch: str | None = None
    level: str | None = None  # the authority level it needs (tiered authority)
    escalated_to: str | None = None  # a higher level, or "remote" (the authorization centre)
    escalated_at: datetime | None = None


class WaitingView(_View):
    """Work the case waits on that is nobody's at the counter: an outbox message being
    delivered (``kind`` ``acquirer``, ``slip``), shown until it is done."""

    kind: str
    message: Text


class CaseView(_View):
    """A case as one actor sees it, with what that actor may do next."""

    reference: str
    workflow: str
    title: Text
    definition_hash: str
    state: str
    state_title: Text
    final: bool
    version: int
    data: dict[str, Any]
    findings: list[FindingView]
    pending: ApprovalView | None
    available_triggers: list[str]
    opened_by: str
    branch: str
    channel: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    waiting: list[WaitingView] = []


class CaseSummary(_View):
    """A line of a case list."""

    reference: str
    workflow: str
    state: str
    version: int
    branch: str
    channel: str
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    awaiting_approval: bool = False
    merchant_name: str | None = None
    """The merchant the case is about, as the registry named it when the case was decided."""


class JournalEntryView(_View):
    """One journal entry as an auditor reads it."""

    id: int
    stream: str
    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    findings: list[FindingView]
    data_digest: str | None
    note: str | None
    prev_hash: str
    hash: str
