"""The tables of counter (SQLModel), each a small family of classes.

``*Base`` holds the fields a caller supplies, the ``table=True`` class is
what is stored. Nothing outside ``counter.store`` and ``counter.cases``
should hand a table object to a person: views are built from them.

Timestamps are UTC (:class:`UTCDateTime`); JSON columns hold plain JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime
from counter.store.db import utcnow

__all__ = [
    "GENESIS",
    "Approval",
    "Branch",
    "BranchBase",
    "CaseEvent",
    "CaseSequence",
    "IdempotencyKey",
    "JournalHead",
    "Outbox",
    "TellerCase",
    "User",
    "UserBase",
    "WorkflowDefinition",
]


GENESIS = "0" * 64
"""The previous hash of a journal stream's first entry."""


# --- branches -------------------------------------------------------------


class BranchBase(SQLModel):
    """What an operator gives for a branch."""

    code: str = Field(primary_key=True, max_length=16)
    name_zh: str
    name_en: str


class Branch(BranchBase, table=True):
    """A bank branch; its code prefixes every case reference opened there."""

    __tablename__ = "branches"


# --- users ----------------------------------------------------------------


class UserBase(SQLModel):
    """What an operator gives for a user (the password goes to ``create_user`` apart)."""

    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = ""
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    branch: str = Field(foreign_key="branches.code", max_length=16)
    merchant_no: str | None = Field(default=None, max_length=32)
    lang: str = Field(default="zh", max_length=8)


class User(UserBase, table=True):
    """A person who signs in: teller, supervisor, auditor, admin."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- workflow definitions ---------------------------------------------------


class WorkflowDefinition(SQLModel, table=True):
    """One version of a workflow, by content hash: old cases run on the bundle stored here."""

    __tablename__ = "workflow_definitions"

    hash: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, max_length=64)
    bundle: str = Field(sa_column=Column(Text, nullable=False))
    stored_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- cases ----------------------------------------------------------------


class TellerCase(SQLModel, table=True):
    """A case at the counter: where it is in its workflow and the data accepted so far.

    ``version`` rises by one with every step; writers compare-and-set it.
    ``journal_seq`` and ``journal_hash`` are the head of the case's journal
    stream (its last entry), moved by the same statement as the step.
    """

    __tablename__ = "teller_case"
    # Lists are per branch (the auditor's all-branch list sorts by time anyway). No
    # index holds the state: every step changes it, and an index on it (alone, or after
    # the branch) cost every step a page written; a list by state reads the branch's.
    __table_args__ = (Index("ix_teller_case_branch", "branch"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40, unique=True)
    workflow: str = Field(max_length=64)
    definition_hash: str = Field(foreign_key="workflow_definitions.hash", max_length=64)
    state: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pending: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    version: int = 0
    branch: str = Field(max_length=16)
    channel: str = Field(default="counter", max_length=16)
    opened_by: str = Field(max_length=64)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    journal_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    journal_hash: str = Field(
        default=GENESIS, max_length=64, sa_column_kwargs={"server_default": GENESIS}
    )


class CaseSequence(SQLModel, table=True):
    """The last case number given out per branch and day (compare-and-set on ``last``)."""

    __tablename__ = "case_sequences"

    branch: str = Field(primary_key=True, max_length=16)
    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


# --- the journal ------------------------------------------------------------


class CaseEvent(SQLModel, table=True):
    """One journal entry: append-only, chained to the entry before it in its stream.

    ``stream`` is a case reference, or ``user:NAME`` / ``branch:CODE`` for
    events outside a case.
    """

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("stream", "seq", name="uq_case_events_stream_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    stream: str = Field(max_length=80)
    seq: int
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    trigger: str | None = Field(default=None, max_length=64)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str | None = Field(default=None, max_length=64)
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    data_digest: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class JournalHead(SQLModel, table=True):
    """The last entry of each journal stream, so that a deleted tail is detected too."""

    __tablename__ = "journal_heads"

    stream: str = Field(primary_key=True, max_length=80)
    seq: int
    hash: str = Field(max_length=64)


# --- approvals, outbox, idempotency ---------------------------------------


class Approval(SQLModel, table=True):
    """A supervisor's decision on a case's findings: opened on entering review, closed once."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_open", "case_reference", "decided_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_reference: str = Field(max_length=40, foreign_key="teller_case.reference")
    trigger: str = Field(max_length=64)
    source: str = Field(max_length=64)
    dest: str = Field(max_length=64)
    raised_by: str = Field(max_length=64)
    raised_at: datetime = Field(sa_type=UTCDateTime)
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    level: str | None = Field(default=None, max_length=64)  # the authority level it needs
    escalated_to: str | None = Field(default=None, max_length=64)  # a level, or "remote"
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Outbox(SQLModel, table=True):
    """A message for an outside system, written with the step and delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_reference: str = Field(max_length=40, index=True)
    kind: str = Field(max_length=64)
    key: str = Field(max_length=200, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    on_success: str | None = Field(default=None, max_length=64)
    on_failure: str | None = Field(default=None, max_length=64)


class IdempotencyKey(SQLModel, table=True):
    """A request carrying an Idempotency-Key, per actor: what it was and which version it made.

    ``response`` holds ``{"reference", "version"}`` only (no case data, so no
    personal values); keys older than ``COUNTER_IDEMPOTENCY_KEEP_HOURS`` are
    deleted by the sweeper.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("key", "actor", name="uq_idempotency_key_actor"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    actor: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
