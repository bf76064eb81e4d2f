"""``counter.audit._masking``: what an export masks in a note or a finding, and what it leaves."""

from __future__ import annotations

from counter.audit._masking import CaseMasker, evidence_kind
from counter.config import MaskingPolicy

POLICY = MaskingPolicy()


def test_known_values_are_masked_as_words_in_latin_and_anywhere_in_chinese() -> None:
    masker = CaseMasker(POLICY, [("Li Lei", "L*****"), ("王芳", "王*"), ("Li", "L*")])
    assert masker.text("Li Lei came; Limit; 王芳来了; Li.") == "L***** came; Limit; 王*来了; L*."


def test_long_numbers_are_masked_whoever_they_belong_to() -> None:
    masker = CaseMasker(POLICY)
    assert masker.text("call 13800138000 or 6222 0212 3456 7890 123") == (
        "call 138****8000 or 6222 02** **** ***0 123"
    )
    assert masker.text("locked until 2026-11-25T10:15:00+00:00 after 5") == (
        "locked until 2026-11-25T10:15:00+00:00 after 5"
    )


def test_evidence_is_masked_again_by_its_key_and_masked_values_stay_as_they_are() -> None:
    finding = {
        "code": "identity_mismatch",
        "severity": "block",
        "field": "name",
        "message": {"zh": "不一致", "en": "mismatch"},
        "evidence": {
            "id_number": "110***********002X",
            "name": "张*",
            "holder": "李四",
            "merchant_name": "某某便利店",
            "account_number": "6222021234567890123",
            "score": 61.5,
        },
    }
    masked = CaseMasker(POLICY).finding(finding)
    assert masked["evidence"] == {
        "id_number": "110***********002X",
        "name": "张*",
        "holder": "李*",
        "merchant_name": "某某便利店",
        "account_number": "622202*********0123",
        "score": 61.5,
    }
    assert {k: masked[k] for k in ("code", "severity", "field", "message")} == {
        k: finding[k] for k in ("code", "severity", "field", "message")
    }


def test_evidence_kinds_by_key() -> None:
    assert evidence_kind("principal_id_number") == "id"
    assert evidence_kind("new_account_number") == "account"
    assert evidence_kind("legal_rep_name") == "name"
    assert evidence_kind("sent_to_phone") == "phone"
    assert evidence_kind("merchant_name") is None
    assert evidence_kind("verification") is None
    assert evidence_kind("contact", {"contact": "phone"}) == "phone"
