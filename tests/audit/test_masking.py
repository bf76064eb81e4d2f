"""``counter.audit._masking``: what an export masks in a note or a finding, and what it leaves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from counter.audit._masking import CaseMasker, evidence_kind
from counter.banking.evidence import KnownValues
from counter.config import MaskingPolicy

POLICY = MaskingPolicy()


def test_known_values_are_masked_as_words_in_latin_and_anywhere_in_chinese() -> None:
    known = KnownValues((("Li Lei", "L*****"), ("王芳", "王*"), ("Li", "L*")))
    masker = CaseMasker(POLICY, known)
    assert masker.text("Li Lei came; Limit; 王芳来了; Li.") == "L***** came; Limit; 王*来了; L*."


def test_text_is_never_masked_by_its_shape() -> None:
    """A slip's SHA-256, a mandate number, a merchant number: an auditor reads them whole."""
    masker = CaseMasker(POLICY)
    note = (
        '{"sha256":"1287a9a1b29865c56a6e5ef9b35064a0fe5d4b90624bee4979448a1dc13af524",'
        '"mandate_ref":"WT-2026-0001","merchant_no":"102110058120001"}'
    )
    assert masker.text(note) == note
    assert masker.text("locked until 2026-11-25T10:15:00+00:00 after 5") == (
        "locked until 2026-11-25T10:15:00+00:00 after 5"
    )


def test_evidence_is_masked_again_by_its_declared_class_and_masked_values_stay() -> None:
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
            "mandate_ref": "WT-2026-0001",
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
        "mandate_ref": "WT-2026-0001",
        "score": 61.5,
    }
    assert {k: masked[k] for k in ("code", "severity", "field", "message")} == {
        k: finding[k] for k in ("code", "severity", "field", "message")
    }


def test_evidence_kinds_are_declared_not_guessed_from_the_key() -> None:
    assert evidence_kind("principal_id_number") == "id"
    assert evidence_kind("new_account_number") == "account"
    assert evidence_kind("legal_rep_name") == "name"
    assert evidence_kind("sent_to") == "phone"
    assert evidence_kind("sent_to_phone") is None  # no such key is declared
    assert evidence_kind("merchant_name") is None
    assert evidence_kind("verification") is None
    assert evidence_kind("contact", {"contact": "phone"}) == "phone"


@given(st.text(alphabet="0123456789abcdef", min_size=1, max_size=80))
def test_a_slips_details_are_exported_as_written_whatever_their_digits(digest: str) -> None:
    note = '{"copy_number":0,"sha256":"' + digest + '"}'
    assert CaseMasker(POLICY).note("slip", note) == note


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_a_number_typed_into_a_reason_is_masked_by_the_reasons_class(phone: str) -> None:
    masked = CaseMasker(POLICY).note("trigger", f"客户改日再来,电话 {phone}")
    assert phone not in masked and masked.startswith("客户改日再来,电话 ")
