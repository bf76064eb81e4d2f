"""Tables of printed slips: every PDF issued for a case, and the template texts it came from.

A slip is rendered once, when its case completes, and the PDF is kept here
so that the console serves the stored file instead of rendering while a
teller waits. Each reprint is a row of its own with its number. The template
texts a slip was rendered from are kept once per version (by the SHA-256 of
the texts, ``counter.slips.sources_digest``), so that a reprint a year later
uses the template the case's slip was first printed with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = ["CaseSlip", "SlipTemplateVersion"]


class SlipTemplateVersion(SQLModel, table=True):
    """One version of a slip's template texts (file name -> text), by their digest."""

    __tablename__ = "slip_template_version"

    digest: str = Field(primary_key=True, max_length=64)  # counter.slips.sources_digest
    slip: str = Field(max_length=64)  # the workflow's slip name, e.g. pos_unbind
    sources: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    stored_at: datetime = Field(sa_type=UTCDateTime)


class CaseSlip(SQLModel, table=True):
    """One printed slip of a case: copy number 0 is the original, n the n-th reprint.

    ``context`` is what the slip showed (masked values only), so that a
    reprint shows exactly what the original did; ``sha256`` is the PDF's,
    also written to the journal.
    """

    __tablename__ = "case_slip"
    __table_args__ = (UniqueConstraint("reference", "copy_number", name="uq_case_slip_copy"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40, foreign_key="teller_case.reference")
    copy_number: int  # 0: the original; n: the n-th reprint
    fmt: str = Field(max_length=16)  # a5 | roll80
    sha256: str = Field(max_length=64)
    template_version: str = Field(max_length=64, foreign_key="slip_template_version.digest")
    context: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    issued_at: datetime = Field(sa_type=UTCDateTime)
    issued_by: str = Field(max_length=64)  # "system" for the original, who asked for a reprint
