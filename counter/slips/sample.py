"""Built-in demo values for a POS unbinding slip (``counter slip-sample``, benchmark, tests).

The values are fictitious but shaped like real ones: a valid resident ID
check digit, a 19-digit debit card, a 15-character merchant number.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from counter.config import MaskingPolicy
from counter.slips.context import ApprovedFinding, PartyInput, SlipContext, build_context
from counter.text import Text

__all__ = ["SAMPLE_SLIP", "sample_context", "sample_inputs", "sample_now"]

#: The template the sample is printed with.
SAMPLE_SLIP = "pos_unbind"

_BEIJING = timezone(timedelta(hours=8))


def sample_inputs() -> dict[str, Any]:
    """Keyword arguments for ``build_context``: raw, unmasked demo values."""
    return {
        "bank_name": Text(zh="示例银行", en="Example Bank"),
        "branch_name": Text(zh="北京中关村支行", en="Beijing Zhongguancun Sub-branch"),
        "title": Text(
            zh="POS机结算卡解绑确认单", en="Confirmation of POS settlement card unbinding"
        ),
        "reference": "PU-20261125-0042",
        "issued_at": datetime(2026, 11, 25, 14, 32, 7, tzinfo=_BEIJING),
        "service": Text(zh="POS机结算卡解绑", en="Unbind POS settlement card"),
        "customer": PartyInput(name="王秀英", id_number="11010519491231002X"),
        "customer_phone": "13812345678",
        "agent": PartyInput(name="李明远", id_number="110101199003074513"),
        "merchant_name": "北京市海淀区晨光便利店",
        "merchant_number": "102110054119876",
        "terminal_serial": "PAX-A920-00417731",
        "account_unbound": "6222021234567890128",
        "account_kind": "card",
        "outcome": Text(zh="解绑成功", en="Unbound"),
        "approvals": [
            ApprovedFinding(
                code="card_luhn_failed",
                message=Text(
                    zh="结算卡号校验位不符,已核对卡面", en="Card check digit failed; card seen"
                ),
                supervisor_id="S20017",
            )
        ],
        "teller_id": "T10086",
        "identity_verification": Text(
            zh="联网核查 + 人像比对(相似度 92 分)", en="Online ID check + face match (score 92)"
        ),
        "status_base_url": "https://bank.example.cn/counter/status",
    }


def sample_context(*, policy: MaskingPolicy | None = None, **overrides: Any) -> SlipContext:
    """The demo slip context, masked by ``policy``; ``overrides`` replace raw inputs."""
    inputs = sample_inputs()
    inputs.update(overrides)
    return build_context(policy=policy, **inputs)


def sample_now() -> datetime:
    """A fixed instant for demo reprints, so the sample PDF is reproducible."""
    return datetime(2026, 11, 26, 9, 5, 0, tzinfo=UTC).astimezone(_BEIJING)
