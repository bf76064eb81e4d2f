"""Masking in what pages and the API show: by the form's pii class, by key outside forms."""

from __future__ import annotations

from counter.config import MaskingPolicy
from counter.web.present import kind_of_key, masked_value

POLICY = MaskingPolicy()


def test_values_outside_forms_are_masked_by_their_key() -> None:
    shown = masked_value(
        {
            "merchant": {
                "account_holder": "张三",
                "legal_rep_name": "张三",
                "merchant_name": "北京示例餐饮有限公司",
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
    assert merchant["registered_phone"] == "138****8000"
    assert merchant["legal_rep_id_number"] == "110***********0016"
    assert "digest" not in shown and "nonce" not in shown


def test_long_numbers_in_free_text_are_masked() -> None:
    assert "6222021234567890128" not in masked_value("card 6222021234567890128", None, POLICY)


def test_kind_of_key() -> None:
    assert kind_of_key("principal_id_number") == "id"
    assert kind_of_key("name") == "name"
    assert kind_of_key("terminal_sn") is None
