"""Identity documents a customer presents at the counter, by number.

* Resident identity card (GB 11643-1999): 6-digit area code, 8-digit birth
  date, 3-digit sequence (odd: male, even: female) and a check character by
  ISO 7064 MOD 11-2. The legacy 15-digit numbers have no check character
  and are refused: the customer must show the 18-digit card.
* Residence permit for Hong Kong, Macao and Taiwan residents: the same
  format, with area code 810000, 820000 or 830000.
* Mainland Travel Permit for Hong Kong and Macao residents: ``H`` (Hong
  Kong) or ``M`` (Macao) and 8 or 10 digits.
* Passports: any 5 to 20 letters and digits (foreign passports have no
  common format); ``is_chinese_passport`` tells the Chinese formats apart.

``check_document`` returns a ``Problem`` or ``None``; ``validate_document``
returns a ``ParsedDocument`` or raises ``NumberInvalid``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from counter.banking._clean import compact
from counter.banking.problems import NumberInvalid, Problem
from counter.text import Text

__all__ = [
    "DocumentType",
    "ParsedDocument",
    "Sex",
    "check_document",
    "is_chinese_passport",
    "resident_id_check_char",
    "validate_document",
]


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"
    HK_MO_TW_RESIDENCE_PERMIT = "hk_mo_tw_residence_permit"
    TRAVEL_PERMIT_HK_MO = "travel_permit_hk_mo"
    PASSPORT = "passport"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class ParsedDocument:
    """A document number that passed its checks, and what it says about the holder.

    ``number`` is normalized (ASCII, upper case, no spaces). ``birth_date``,
    ``sex`` and ``area_code`` are known for resident ID cards and residence
    permits only. ``region`` is ``hk``, ``mo`` or ``tw`` for the documents
    of Hong Kong, Macao and Taiwan residents.
    """

    id_type: DocumentType
    number: str
    birth_date: date | None = None
    sex: Sex | None = None
    area_code: str | None = None
    region: str | None = None


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]")
_LEGACY = re.compile(r"[0-9]{15}")
_TRAVEL_PERMIT = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_CHINESE_PASSPORT = re.compile(r"E[0-9]{8}|E[A-Z][0-9]{7}|G[0-9]{8}")
_EARLIEST_BIRTH = date(1900, 1, 1)

# Province-level codes of GB/T 2260 under which resident ID cards are issued.
_PROVINCES = frozenset(
    str(code)
    for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
    for code in range(first, last + 1)
)
_PERMIT_AREAS = {"810000": "hk", "820000": "mo", "830000": "tw"}
_TRAVEL_PERMIT_REGIONS = {"H": "hk", "M": "mo"}

ID_TYPE_UNKNOWN = Problem(
    "id_type_unknown",
    Text(zh="不支持的证件类型", en="This document type is not supported"),
)
ID_FORMAT = Problem(
    "id_format",
    Text(
        zh="证件号码格式错误:应为18位,前17位为数字,最后一位为数字或X",
        en="The ID number is malformed: 18 characters, 17 digits then a digit or X",
    ),
)
ID_LEGACY_15 = Problem(
    "id_legacy_15",
    Text(
        zh="15位旧身份证号码没有校验位,不予受理,请出示18位居民身份证",
        en="Legacy 15-digit ID numbers have no check digit and are refused; "
        "ask for the 18-digit identity card",
    ),
)
ID_AREA_CODE = Problem(
    "id_area_code",
    Text(
        zh="证件号码的地区码无效(港澳台居民居住证请选择对应证件类型)",
        en="The ID number's area code is not valid (for a Hong Kong, Macao or Taiwan "
        "residence permit, choose that document type)",
    ),
)
PERMIT_AREA_CODE = Problem(
    "id_area_code",
    Text(
        zh="港澳台居民居住证号码的地区码应为810000、820000或830000",
        en="A Hong Kong, Macao or Taiwan residence permit number starts with "
        "810000, 820000 or 830000",
    ),
)
ID_BIRTH_DATE = Problem(
    "id_birth_date",
    Text(
        zh="证件号码中的出生日期不是有效日期",
        en="The birth date in the ID number is not a real date",
    ),
)
ID_BIRTH_FUTURE = Problem(
    "id_birth_future",
    Text(
        zh="证件号码中的出生日期晚于今天",
        en="The birth date in the ID number is in the future",
    ),
)
ID_CHECK_CHAR = Problem(
    "id_check_char",
    Text(zh="证件号码校验位错误", en="The ID number's check character is wrong"),
)
TRAVEL_PERMIT_FORMAT = Problem(
    "travel_permit_format",
    Text(
        zh="港澳居民来往内地通行证号码格式错误:应为H或M加8位或10位数字",
        en="The Mainland Travel Permit number is malformed: H or M and 8 or 10 digits",
    ),
)
PASSPORT_FORMAT = Problem(
    "passport_format",
    Text(
        zh="护照号码格式错误:应为5至20位字母或数字",
        en="The passport number is malformed: 5 to 20 letters or digits",
    ),
)


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the check character is computed on exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def is_chinese_passport(number: str) -> bool:
    """Whether ``number`` has a Chinese passport's format (E + 8 digits, E + letter + 7, G + 8)."""
    return _CHINESE_PASSPORT.fullmatch(compact(number)) is not None


def _parse_eighteen(id_type: DocumentType, number: str, today: date) -> ParsedDocument | Problem:
    if _EIGHTEEN.fullmatch(number) is None:
        if id_type is DocumentType.RESIDENT_ID and _LEGACY.fullmatch(number):
            return ID_LEGACY_15
        return ID_FORMAT
    area_code = number[:6]
    if id_type is DocumentType.RESIDENT_ID:
        region = None
        if area_code[:2] not in _PROVINCES:
            return ID_AREA_CODE
    else:
        region = _PERMIT_AREAS.get(area_code)
        if region is None:
            return PERMIT_AREA_CODE
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return ID_BIRTH_DATE
    if birth_date < _EARLIEST_BIRTH:
        return ID_BIRTH_DATE
    if birth_date > today:
        return ID_BIRTH_FUTURE
    if resident_id_check_char(number[:17]) != number[17]:
        return ID_CHECK_CHAR
    return ParsedDocument(
        id_type=id_type,
        number=number,
        birth_date=birth_date,
        sex=Sex.MALE if int(number[16]) % 2 else Sex.FEMALE,
        area_code=area_code,
        region=region,
    )


def _parse(id_type: str, number: str, today: date | None) -> ParsedDocument | Problem:
    try:
        kind = DocumentType(id_type)
    except ValueError:
        return ID_TYPE_UNKNOWN
    normalized = compact(number)
    if kind in (DocumentType.RESIDENT_ID, DocumentType.HK_MO_TW_RESIDENCE_PERMIT):
        return _parse_eighteen(kind, normalized, today or date.today())
    if kind is DocumentType.TRAVEL_PERMIT_HK_MO:
        if _TRAVEL_PERMIT.fullmatch(normalized) is None:
            return TRAVEL_PERMIT_FORMAT
        return ParsedDocument(
            id_type=kind, number=normalized, region=_TRAVEL_PERMIT_REGIONS[normalized[0]]
        )
    if _PASSPORT.fullmatch(normalized) is None:
        return PASSPORT_FORMAT
    return ParsedDocument(id_type=kind, number=normalized)


def check_document(id_type: str, number: str, *, today: date | None = None) -> Problem | None:
    """What is wrong with ``number`` as a document of ``id_type``, or ``None``.

    ``today`` (default: the system's date) bounds the birth date.
    """
    parsed = _parse(id_type, number, today)
    return parsed if isinstance(parsed, Problem) else None


def validate_document(
    id_type: str, number: str, *, today: date | None = None, field: str = "id_number"
) -> ParsedDocument:
    """The parsed document, or ``NumberInvalid`` naming ``field`` (``id_type`` if unknown)."""
    parsed = _parse(id_type, number, today)
    if isinstance(parsed, Problem):
        raise NumberInvalid(parsed, field="id_type" if parsed is ID_TYPE_UNKNOWN else field)
    return parsed
