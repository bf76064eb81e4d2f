"""The merchant portal in a real Chromium: merchant1 unbinds a terminal online, start to slip.

The code is read from the local SMS gateway (the database the server runs
on), as ``counter sms outbox`` shows it in the demo; reviewer1 approves
through the review queue's pages.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from counter.adapters.demo.channels import load_channel_demo
from counter.store.db import Database

from .browser import Server, keyboard_login, screenshot, tab_to
from .conftest import CLEAN_BINDING, PASSWORD
from .test_browser import sent_code

pytestmark = pytest.mark.browser

PHONE = "13800138000"


def channel_users(server: Server) -> None:
    """merchant1 and reviewer1 of the remote centre RC001, as ``counter demo-data`` adds them."""
    db = Database(server.database_url)
    try:
        load_channel_demo(db, password=PASSWORD)
    finally:
        db.dispose()


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def expect_status(page: Page, state: str) -> None:
    try:
        expect(page.locator("#status")).to_have_attribute("data-state", state)
    except AssertionError:
        alert = page.locator("[role=alert]")
        raise AssertionError(f"not in {state}: {alert.all_inner_texts()}") from None


def test_a_merchant_unbinds_online_and_keeps_the_slip(page: Page, server: Server) -> None:
    channel_users(server)
    keyboard_login(page, server, "merchant1", PASSWORD)
    page.wait_for_url("**/portal")
    terminals = page.locator("#terminals")
    expect(terminals).to_contain_text(CLEAN_BINDING["terminal_sn"])
    expect(terminals).to_contain_text(CLEAN_BINDING["account_number"][-4:])
    assert CLEAN_BINDING["account_number"] not in page.content()
    screenshot(page, "portal-home.png")

    start = f"#unbind-{CLEAN_BINDING['terminal_sn']}"
    tab_to(page, start)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/portal/cases/[A-Z0-9-]+\?terminal=.*"))
    reference = page.url.split("/portal/cases/")[1].split("?")[0]
    expect_status(page, "application")
    expect(page.locator("#request_code-terminal_sn")).to_have_value(CLEAN_BINDING["terminal_sn"])
    type_into(page, "#request_code-uscc", CLEAN_BINDING["uscc"])
    type_into(page, "#request_code-account_number", CLEAN_BINDING["account_number"])
    page.keyboard.press("Enter")
    expect_status(page, "code_check")

    type_into(page, "#submit_application-code", sent_code(server, PHONE))
    page.keyboard.press("Enter")
    expect_status(page, "online_review")
    expect(page.locator("#status-text")).to_contain_text("正在等待银行审核")

    assert page.context.browser is not None
    back_office = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    review = back_office.new_page()
    try:
        keyboard_login(review, server, "reviewer1", PASSWORD)
        review.goto(f"{server.url}/approvals")
        row = review.locator("#queue tr", has=review.get_by_role("link", name=reference))
        expect(row.locator("td[data-channel]")).to_have_attribute("data-channel", "online")
        row.get_by_role("link", name=reference).click()
        review.wait_for_url("**/approvals/*")
        type_into(review, "#comment", "网上申请已核对")
        review.keyboard.press("Enter")
        review.wait_for_url("**/approvals?decided=*")
    finally:
        back_office.close()

    page.reload()
    expect_status(page, "completed")
    expect(page.locator("#status-text")).to_contain_text("解绑已完成")
    assert CLEAN_BINDING["account_number"] not in page.content()
    screenshot(page, "portal-case.png")
    with page.expect_download() as download:
        page.locator("#slip-download").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert download.value.suggested_filename == f"{reference}.pdf"

    page.goto(f"{server.url}/")  # the teller console's home sends a merchant to the portal
    expect(page).to_have_url(re.compile(r"/portal$"))
