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


def test_a_refused_entry_reads_as_its_step_refused() -> None:
    """The shape the refusals slice journals (kind ``refused``), read without guessing."""
    from datetime import UTC, datetime

    from counter.config import Settings
    from counter.engine.loader import Catalog
    from counter.engine.registry import default_registry
    from counter.web.schemas import FindingOut, JournalEntryOut
    from counter.web.wording import entry_shown

    settings = Settings()
    workflow = Catalog.load(settings.workflows_dir, settings.forms_dir, default_registry).current(
        "pos_unbind"
    )
    entry = JournalEntryOut(
        seq=5, at=datetime(2026, 12, 2, 6, 40, tzinfo=UTC), actor="teller1", kind="refused",
        trigger="confirm_code", from_state="code_check", to_state=None,
        findings=[FindingOut(code="unbind_code_wrong", severity="block",
                             message={"zh": "验证码错误", "en": "Wrong code"}, field="code",
                             evidence={"attempts_left": 1})],
        note=None, data_digest=None, prev_hash="0" * 64, hash="a" * 64,
    )
    shown = entry_shown(entry, workflow)
    assert shown.title.zh == "核对验证码:未通过" and shown.title.en == "Code entered: refused"
    assert [t.zh for t in shown.findings] == ["验证码错误"]
    assert shown.hashes[0].value == "a" * 64
