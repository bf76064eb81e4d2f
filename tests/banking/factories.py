"""Valid numbers built for tests, with the check algorithms written again here.

Written from the standards' arithmetic rather than from the code under test
(MOD 11-2 weights as powers of 2, USCC weights as powers of 3, Luhn by
trying every last digit), so a shared mistake is unlikely.
"""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

PROVINCES = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65",
]  # fmt: skip
PERMIT_AREAS = ["810000", "820000", "830000"]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TODAY = date(2026, 11, 25)


def mod11_2(first17: str) -> str:
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def resident_id(area: str, birth: date, sequence: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + mod11_2(first17)


def uscc(first17: str) -> str:
    total = sum(USCC_CHARS.index(char) * pow(3, index, 31) for index, char in enumerate(first17))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = sum(divmod(digit * 2, 10))
        total += digit
    return total % 10 == 0


def with_luhn(payload: str) -> str:
    return next(payload + d for d in "0123456789" if luhn_ok(payload + d))


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
resident_ids = st.builds(
    resident_id,
    st.builds(lambda p, rest: p + rest, st.sampled_from(PROVINCES), st.from_regex(r"\A[0-9]{4}\Z")),
    birth_dates,
    st.integers(0, 999),
)
permit_numbers = st.builds(
    resident_id, st.sampled_from(PERMIT_AREAS), birth_dates, st.integers(0, 999)
)
usccs = st.builds(uscc, st.text(USCC_CHARS, min_size=17, max_size=17))
cards = (
    st.integers(15, 18)
    .flatmap(lambda size: st.text("0123456789", min_size=size, max_size=size))
    .map(with_luhn)
)
