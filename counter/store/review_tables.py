"""The back office's post-transaction review queue (事后监督).

One row per case drawn for review: ``open`` until a reviewer marks it
``reviewed`` or raises an ``issue`` (with a reason), which the branch's
supervisor must ``answered``. Each change is a compare-and-set on
``status``; each is journaled on the case's stream by ``counter.cases``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = ["PostReview"]


class PostReview(SQLModel, table=True):
    """A closed case drawn for the back office to review, and what came of it."""

    __tablename__ = "post_reviews"
    __table_args__ = (Index("ix_post_reviews_branch_status", "branch", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    case_reference: str = Field(max_length=40, unique=True, foreign_key="teller_case.reference")
    branch: str = Field(max_length=16)
    day: str = Field(max_length=8)  # the branch's local day the case closed, YYYYMMDD
    workflow: str = Field(max_length=64)
    reason: str = Field(max_length=32)  # sample | approved_finding
    status: str = Field(max_length=16)  # open | reviewed | issue | answered
    drawn_at: datetime = Field(sa_type=UTCDateTime)
    reviewer: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issue: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, max_length=64)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
