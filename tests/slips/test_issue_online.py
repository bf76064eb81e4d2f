"""The online channel's slip (``forms/slips/pos_unbind_online.html.j2``): the base layout,
the merchant identified by its social credit code, the reviewer as who handled it.

The case walks ``pos_unbind_online`` with ``tests/channels``' fixtures and people.
"""

from __future__ import annotations

import pytest
from channels.conftest import channel_db, channel_roles, desk, make_desk, settings
from channels.helpers import open_case
from flagship.helpers import CLEAN, REGISTERED_PHONE, Counter

from counter.errors import PermissionDenied
from counter.slips.issue import get_slip, reprint_slip

from .factories import all_text

__all__ = ["channel_db", "channel_roles", "desk", "make_desk", "settings"]  # fixtures used here

PHONE = REGISTERED_PHONE[CLEAN.merchant_no]


def test_an_online_application_gets_the_online_slip(desk: Counter) -> None:
    case = open_case(desk, "pos_unbind_online", "merchant1", "online")
    case = desk.fire(case, "request_code", CLEAN.form(), actor="merchant1")
    case = desk.fire(case, "submit_application", {"code": desk.last_code(PHONE)}, actor="merchant1")
    case = desk.fire(case, "approve", {"comment": "looks right"}, actor="reviewer1")
    assert case.state == "completed"
    slip = get_slip(desk.desk, reference=case.reference, actor=desk.actors["reviewer1"])
    text = "".join(all_text(slip.pdf).split())
    for shown in (
        "网上申请",  # only the online template prints the channel
        "POS机结算卡解绑(网上申请)确认单",
        "统一社会信用代码",
        "商户登录+短信验证码",
        "622202*********0128",
        "经办柜员Tellerreviewer1",
        "主管Supervisorreviewer1",
    ):
        assert shown in text, shown
    assert CLEAN.account_number not in text and PHONE not in text
    with pytest.raises(PermissionDenied):  # merchants may not reprint, even their own
        reprint_slip(desk.desk, reference=case.reference, actor=desk.actors["merchant1"])
