"""The business objects open cases hold (``counter.cases.reservations``).

One row per object a case took. ``held`` is ``object:key`` while the case
holds it and NULL once given back: its unique index is what lets only one
case hold an object at a time, decided by the database in the step's own
transaction (two tellers racing for one terminal cannot both win).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from counter.store.columns import UTCDateTime

__all__ = ["CaseReservation"]


class CaseReservation(SQLModel, table=True):
    """An object (a terminal, a referral) held by a case: taken at a step, given back at the end."""

    __tablename__ = "case_reservation"

    id: int | None = Field(default=None, primary_key=True)
    object: str = Field(max_length=64)  # what kind of thing (the workflow's holds.object)
    key: str = Field(max_length=200)  # which one (the named field's value, normalised)
    case_reference: str = Field(max_length=40, foreign_key="teller_case.reference", index=True)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    held: str | None = Field(default=None, max_length=270, unique=True)  # object:key while held
