"""Banking rules for the counter: identity documents, merchant codes, accounts, masking.

Pure functions without I/O. Checks return ``Problem | None`` (a code and a
bilingual message; ``approvable`` when a supervisor may accept it);
``validate_document``, ``parse_merchant_number`` and ``require`` raise
``NumberInvalid`` (an ``InvalidInput``) instead. Problem codes:

==========================  ==========================================  ==========
code                        meaning                                     approvable
==========================  ==========================================  ==========
``id_type_unknown``         document type not supported
``id_format``               not 18 characters, 17 digits + digit/X
``id_legacy_15``            a legacy 15-digit resident ID number
``id_area_code``            area code not a province (or 81/82/83xxxx)
``id_birth_date``           birth date not a real date (or before 1900)
``id_birth_future``         birth date after today
``id_check_char``           MOD 11-2 check character wrong
``travel_permit_format``    not H/M + 8 or 10 digits
``passport_format``         not 5 to 20 letters and digits
``id_expired``              the document's expiry is past
``id_long_term_too_young``  long-term card for someone under 46
``id_validity_period``      expiry does not fit the age or document
``uscc_format``             social credit code malformed
``uscc_check_char``         social credit code check wrong               yes
``card_format``             card number not 16 to 19 digits
``card_luhn``               card number fails Luhn                      yes
``account_format``          corporate account not 8 to 32 digits
``merchant_no_format``      merchant number not 15 digits
``terminal_id_format``      terminal ID not 8 letters or digits
``terminal_sn_format``      serial number not 4-32 of [A-Z0-9_-]
``phone_format``            not a mainland mobile number
==========================  ==========================================  ==========
"""

from counter.banking.accounts import (
    AccountKind,
    account_kind,
    account_last4,
    check_card_number,
    check_corporate_account,
    luhn_check_digit,
    luhn_valid,
    normalize_account_number,
)
from counter.banking.identity import (
    DocumentType,
    ParsedDocument,
    Sex,
    check_document,
    is_chinese_passport,
    resident_id_check_char,
    validate_document,
)
from counter.banking.masking import (
    PII_KINDS,
    PiiKind,
    PIIMaskingFilter,
    mask,
    mask_account,
    mask_card,
    mask_id,
    mask_name,
    mask_phone,
    mask_text,
)
from counter.banking.merchant import (
    MerchantNumber,
    check_merchant_number,
    check_terminal_id,
    check_terminal_sn,
    normalize_merchant_number,
    normalize_terminal_id,
    normalize_terminal_sn,
    parse_merchant_number,
)
from counter.banking.phone import check_mobile, is_mobile, normalize_mobile
from counter.banking.problems import NumberInvalid, Problem, require
from counter.banking.uscc import USCC_ALPHABET, check_uscc, normalize_uscc, uscc_check_char
from counter.banking.validity import (
    LONG_TERM,
    Expiry,
    age_on,
    check_not_expired,
    check_validity_period,
    validity_years,
)

__all__ = [
    "LONG_TERM",
    "PII_KINDS",
    "USCC_ALPHABET",
    "AccountKind",
    "DocumentType",
    "Expiry",
    "MerchantNumber",
    "NumberInvalid",
    "PIIMaskingFilter",
    "ParsedDocument",
    "PiiKind",
    "Problem",
    "Sex",
    "account_kind",
    "account_last4",
    "age_on",
    "check_card_number",
    "check_corporate_account",
    "check_document",
    "check_merchant_number",
    "check_mobile",
    "check_not_expired",
    "check_terminal_id",
    "check_terminal_sn",
    "check_uscc",
    "check_validity_period",
    "is_chinese_passport",
    "is_mobile",
    "luhn_check_digit",
    "luhn_valid",
    "mask",
    "mask_account",
    "mask_card",
    "mask_id",
    "mask_name",
    "mask_phone",
    "mask_text",
    "normalize_account_number",
    "normalize_merchant_number",
    "normalize_mobile",
    "normalize_terminal_id",
    "normalize_terminal_sn",
    "normalize_uscc",
    "parse_merchant_number",
    "require",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_document",
    "validity_years",
]
