"""How long identity documents are valid, and whether a stated expiry is believable.

A resident identity card is valid for a period set by the holder's age on
the day it was issued: under 16, 5 years; 16 to 25, 10 years; 26 to 45, 20
years; 46 and over, long-term (长期). The card's printed expiry is therefore
issue date + 5, 10 or 20 years, and a long-term card belongs to someone at
least 46 years old. Residence permits for Hong Kong, Macao and Taiwan
residents are valid 5 years; travel permits and passports at most 10 years,
and none of them is ever long-term.

The expiry is passed as a ``date`` or the string ``"long_term"``; an expired
document blocks the case (``check_not_expired``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from counter.banking.identity import DocumentType, ParsedDocument
from counter.banking.problems import Problem
from counter.text import Text

__all__ = [
    "LONG_TERM",
    "Expiry",
    "age_on",
    "check_not_expired",
    "check_validity_period",
    "validity_years",
]

LONG_TERM: Literal["long_term"] = "long_term"
Expiry = date | Literal["long_term"]

_LONGEST_OTHER_VALIDITY = {
    DocumentType.HK_MO_TW_RESIDENCE_PERMIT: 5,
    DocumentType.TRAVEL_PERMIT_HK_MO: 10,
    DocumentType.PASSPORT: 10,
}

ID_EXPIRED = Problem(
    "id_expired",
    Text(zh="证件已过有效期", en="The identity document has expired"),
)
ID_LONG_TERM_TOO_YOUNG = Problem(
    "id_long_term_too_young",
    Text(
        zh="长期有效的身份证只签发给46周岁以上的公民,与持证人年龄不符",
        en="Long-term identity cards are only issued from age 46; "
        "this does not match the holder's age",
    ),
)
ID_VALIDITY_PERIOD = Problem(
    "id_validity_period",
    Text(
        zh="证件有效期限与持证人年龄或证件类型不符",
        en="The document's expiry date does not match the holder's age or the document type",
    ),
)


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on ``day`` (someone born on 29 February ages on 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def validity_years(age_at_issue: int) -> int | None:
    """Years a resident identity card issued at this age is valid; ``None`` means long-term."""
    if age_at_issue < 0:
        raise ValueError("an age is never negative")
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _last_day(expiry: Expiry) -> date | None:
    """The last valid day, or ``None`` for long-term."""
    if isinstance(expiry, datetime):
        return expiry.date()
    if isinstance(expiry, date):
        return expiry
    if expiry != LONG_TERM:
        raise ValueError(f"an expiry is a date or {LONG_TERM!r}, not {expiry!r}")
    return None


def _resident_id_period(birth_date: date, expiry: date | None, today: date) -> Problem | None:
    if expiry is None:
        return ID_LONG_TERM_TOO_YOUNG if age_on(birth_date, today) < 46 else None
    for years in (5, 10, 20):
        issued = _years_before(expiry, years)
        if birth_date <= issued <= today and validity_years(age_on(birth_date, issued)) == years:
            return None
    return ID_VALIDITY_PERIOD


def check_validity_period(
    document: ParsedDocument, expiry: Expiry, *, today: date
) -> Problem | None:
    """Whether the stated expiry (or long-term) fits the document and its holder.

    For a resident identity card, some issue date on or before ``today``
    must give exactly this expiry at the holder's age then. For other
    documents, the expiry must be a date at most their longest validity
    after ``today``. An expiry already past is left to ``check_not_expired``.
    """
    last_day = _last_day(expiry)
    if document.id_type is DocumentType.RESIDENT_ID and document.birth_date is not None:
        return _resident_id_period(document.birth_date, last_day, today)
    if last_day is None:
        return ID_VALIDITY_PERIOD
    longest = _LONGEST_OTHER_VALIDITY.get(document.id_type, 20)
    if _years_before(last_day, longest) > today:
        return ID_VALIDITY_PERIOD
    if document.birth_date is not None and last_day < document.birth_date:
        return ID_VALIDITY_PERIOD
    return None


def check_not_expired(expiry: Expiry, *, today: date) -> Problem | None:
    """``id_expired`` if the document's last valid day is before ``today``."""
    last_day = _last_day(expiry)
    if last_day is None or last_day >= today:
        return None
    return ID_EXPIRED
