from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from counter.banking import (
    LONG_TERM,
    ParsedDocument,
    age_on,
    check_not_expired,
    check_validity_period,
    validate_document,
    validity_years,
)
from counter.banking.identity import DocumentType

from .factories import TODAY, resident_id


def id_card(birth: date) -> ParsedDocument:
    return validate_document("resident_id", resident_id("110105", birth, 12), today=TODAY)


def code(document: ParsedDocument, expiry: date | str) -> str | None:
    problem = check_validity_period(document, expiry, today=TODAY)  # type: ignore[arg-type]
    return None if problem is None else problem.code


@pytest.mark.parametrize(
    ("age", "years"),
    [(0, 5), (15, 5), (16, 10), (25, 10), (26, 20), (45, 20), (46, None), (90, None)],
)
def test_validity_by_age_at_issue(age: int, years: int | None) -> None:
    assert validity_years(age) == years


def test_a_negative_age_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="negative"):
        validity_years(-1)


def test_age_counts_completed_years() -> None:
    assert age_on(date(1990, 6, 15), date(2016, 6, 14)) == 25
    assert age_on(date(1990, 6, 15), date(2016, 6, 15)) == 26
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18


def test_expiry_dates_that_fit_the_age_at_issue() -> None:
    born_1990 = id_card(date(1990, 6, 15))
    assert code(born_1990, date(2036, 7, 1)) is None  # issued 2016 at 26: 20 years
    assert code(born_1990, date(2025, 7, 1)) is None  # issued 2015 at 25: 10 years (expired)
    child = id_card(date(2015, 3, 1))
    assert code(child, date(2028, 5, 5)) is None  # issued 2023 at 8: 5 years


def test_expiry_dates_that_do_not_fit() -> None:
    born_1990 = id_card(date(1990, 6, 15))
    assert code(born_1990, date(2026, 7, 1)) == "id_validity_period"  # 10 years at 26
    assert code(born_1990, date(2047, 1, 1)) == "id_validity_period"  # issued in the future
    child = id_card(date(2015, 3, 1))
    assert code(child, date(2033, 5, 5)) == "id_validity_period"  # 10 years at 8


def test_long_term_only_from_46() -> None:
    assert code(id_card(date(1949, 12, 31)), LONG_TERM) is None
    assert code(id_card(date(1980, 11, 25)), LONG_TERM) is None  # 46 today
    assert code(id_card(date(1980, 11, 26)), LONG_TERM) == "id_long_term_too_young"


def test_other_documents_are_never_long_term_nor_longer_than_their_term() -> None:
    passport = validate_document("passport", "E12345678")
    assert code(passport, LONG_TERM) == "id_validity_period"
    assert code(passport, date(2036, 11, 25)) is None
    assert code(passport, date(2036, 11, 26)) == "id_validity_period"
    permit = validate_document(
        "hk_mo_tw_residence_permit", resident_id("810000", date(1990, 1, 1), 1), today=TODAY
    )
    assert permit.id_type is DocumentType.HK_MO_TW_RESIDENCE_PERMIT
    assert code(permit, date(2031, 11, 25)) is None
    assert code(permit, date(2032, 1, 1)) == "id_validity_period"


def test_an_expiry_that_is_neither_a_date_nor_long_term_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="long_term"):
        check_not_expired("长期", today=TODAY)  # type: ignore[arg-type]


def test_expired_documents() -> None:
    problem = check_not_expired(date(2026, 11, 24), today=TODAY)
    assert problem is not None and problem.code == "id_expired"
    assert check_not_expired(date(2026, 11, 25), today=TODAY) is None  # valid through that day
    assert check_not_expired(datetime(2030, 1, 1, 12, 0), today=TODAY) is None
    assert check_not_expired(LONG_TERM, today=TODAY) is None


@settings(max_examples=200)
@given(st.dates(date(1900, 1, 1), TODAY), st.dates(date(1950, 1, 1), TODAY))
def test_a_card_issued_by_the_rules_is_believed(birth: date, issued: date) -> None:
    assume(birth <= issued)
    years = validity_years(age_on(birth, issued))
    expiry: date | str = LONG_TERM
    if years is not None:
        assume(not (issued.month == 2 and issued.day == 29))
        expiry = issued.replace(year=issued.year + years)
    assert code(id_card(birth), expiry) is None
