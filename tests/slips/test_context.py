"""``build_context``: raw case values in, a frozen context with every personal value masked."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from counter.config import MaskingPolicy
from counter.slips import PartyInput
from counter.slips.sample import sample_context
from counter.text import Text

from .factories import (
    RAW_ACCOUNT,
    RAW_AGENT_ID,
    RAW_ID,
    RAW_PHONE,
    slip_context,
)


def test_personal_values_are_masked_by_the_default_policy() -> None:
    context = slip_context()
    assert context.customer.name == "王**"
    assert context.customer.id_number == "110***********002X"
    assert context.agent is not None
    assert context.agent.name == "李**"
    assert context.agent.id_number == "110***********4513"
    assert context.customer_phone == "138****5678"
    assert context.account_unbound == "622202*********0128"


def test_no_raw_value_is_left_in_the_context() -> None:
    dumped = slip_context().model_dump_json()
    for raw in (RAW_ID, RAW_AGENT_ID, RAW_ACCOUNT, RAW_PHONE, "王秀英", "李明远"):
        assert raw not in dumped


def test_the_banks_policy_decides_what_stays_visible() -> None:
    policy = MaskingPolicy(card_head=4, card_tail=2, id_head=1, id_tail=1, name_head=0)
    context = sample_context(policy=policy)
    assert context.account_unbound == "6222*************28"
    assert context.customer.id_number == "1****************X"
    assert context.customer.name == "***"


def test_corporate_account_and_new_card_are_masked_too() -> None:
    context = slip_context(
        account_unbound="110060149018002345678",
        account_kind="account",
        account_bound="6217001234567890",
    )
    assert RAW_ACCOUNT not in context.model_dump_json()
    assert context.account_unbound == "110060***********5678"
    assert context.account_bound == "621700******7890"


def test_without_an_agent_the_customer_acts_alone() -> None:
    context = slip_context(agent=None, customer_phone=None)
    assert context.agent is None
    assert context.customer_phone is None


def test_status_url_points_at_the_case() -> None:
    assert slip_context().status_url == ("https://bank.example.cn/counter/status/PU-20261125-0042")


def test_context_is_frozen() -> None:
    context = slip_context()
    with pytest.raises(ValidationError):
        context.reference = "PU-other"  # type: ignore[misc]


def test_raw_party_never_shows_its_values_in_repr() -> None:
    party = PartyInput(name="王秀英", id_number=RAW_ID)
    assert RAW_ID not in repr(party)
    assert "王秀英" not in repr(party)
    assert party.id_type == Text(zh="居民身份证", en="Resident ID card")


def test_issue_time_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError):
        slip_context(issued_at=datetime(2026, 11, 25, 14, 32, 7))
