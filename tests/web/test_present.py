"""Masking in pages and the API: by the form's pii class, by declared key outside forms."""

from __future__ import annotations

from counter.config import MaskingPolicy
from counter.web.present import masked_value

POLICY = MaskingPolicy()


def test_values_outside_forms_are_masked_by_their_declared_class() -> None:
    shown = masked_value(
        {
            "merchant": {
                "account_holder": "张三",
                "legal_rep_name": "张三",
                "merchant_name": "北京示例餐饮有限公司",
                "merchant_no": "102110058120001",
                "registered_phone": "13800138000",
                "legal_rep_id_number": "110105198001010016",
            },
            "digest": "secret-hash",
            "nonce": "abc",
        },
        None,
        POLICY,
    )
    merchant = shown["merchant"]
    assert merchant["account_holder"] == "张*"
    assert merchant["legal_rep_name"] == "张*"
    assert merchant["merchant_name"] == "北京示例餐饮有限公司"
    assert merchant["merchant_no"] == "102110058120001"
    assert merchant["registered_phone"] == "138****8000"
    assert merchant["legal_rep_id_number"] == "110***********0016"
    assert "digest" not in shown and "nonce" not in shown


def test_text_without_a_class_is_shown_as_it_is() -> None:
    """No guessing by shape: a slip's hash or a mandate number is not a card number."""
    sha = "1287a9a1b29865c56a6e5ef9b35064a0fe5d4b90624bee4979448a1dc13af524"
    assert masked_value(sha, None, POLICY) == sha
    assert masked_value("WT-2026-0001", None, POLICY) == "WT-2026-0001"


def test_a_field_class_decides_over_the_declared_table() -> None:
    fields = {"contact": "phone"}
    assert masked_value({"contact": "13800138000"}, None, POLICY, fields) == {
        "contact": "138****8000"
    }
