"""The local SMS gateway records messages, once per key."""

from __future__ import annotations

import logging

import pytest

from counter.adapters import LocalSmsGateway, SmsGateway
from counter.store.db import Database


def test_send_records_the_message_once_per_key(db: Database) -> None:
    gateway = LocalSmsGateway(db)
    assert isinstance(gateway, SmsGateway)
    first = gateway.send("138 0013 8000", "验证码 123456", key="C-1:code:1")
    again = gateway.send("13800138000", "验证码 123456", key="C-1:code:1")
    assert not first.replayed and again.replayed
    assert again.gateway_reference == first.gateway_reference
    [message] = gateway.outbox()
    assert (message.phone, message.text, message.key) == (
        "13800138000",
        "验证码 123456",
        "C-1:code:1",
    )


def test_outbox_is_newest_first_and_filters_by_phone(db: Database) -> None:
    gateway = LocalSmsGateway(db)
    gateway.send("13800138000", "one", key="a")
    gateway.send("13900139000", "two", key="b")
    gateway.send("13800138000", "three", key="c")
    assert [m.text for m in gateway.outbox()] == ["three", "two", "one"]
    assert [m.text for m in gateway.outbox(phone="13800138000", limit=1)] == ["three"]


def test_log_line_masks_the_phone(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="counter.adapters"):
        LocalSmsGateway(db).send("13800138000", "验证码 654321", key="k")
    assert "138****8000" in caplog.text
    assert "13800138000" not in caplog.text and "654321" not in caplog.text
