"""The console in a real Chromium: whole cases by keyboard, approvals, errors next to fields."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from counter.adapters.sms import LocalSmsGateway
from counter.store.db import Database

from .browser import Server, keyboard_login, screenshot, tab_to
from .conftest import AGENT_BINDING, AGENT_IDENTITY, CLEAN_BINDING, CLEAN_IDENTITY, PASSWORD

pytestmark = pytest.mark.browser


def sent_code(server: Server, phone: str) -> str:
    db = Database(server.database_url)
    try:
        text = LocalSmsGateway(db).outbox(phone=phone)[0].text
    finally:
        db.dispose()
    found = re.search(r"验证码(\d{6})", text)
    assert found, text
    return found.group(1)


def open_new_case_by_keyboard(page: Page) -> str:
    tab_to(page, "a[href='/cases/new'].button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/cases/new")
    # The first service (the flagship) has the focus once the page has applied autofocus.
    expect(page.locator("form[action='/cases'] button").first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/cases/[A-Z0-9-]+$"))
    return page.url.rsplit("/", 1)[1]


def choose_radio(page: Page, group: str, index: int) -> None:
    """Tab into a radio group (it holds one tab stop) and pick the ``index``-th with the arrows."""
    tab_to(page, f"{group}-1")
    page.keyboard.press("Space")
    for _ in range(index - 1):
        page.keyboard.press("ArrowDown")


def tick(page: Page, selector: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Space")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def identity_by_keyboard(page: Page, values: dict[str, str]) -> None:
    ids = {"resident_id": 1, "self": 1, "agent": 2}
    prefix = "#submit_identity-"
    choose_radio(page, f"{prefix}id_type", ids[values["id_type"]])
    type_into(page, f"{prefix}id_number", values["id_number"])
    type_into(page, f"{prefix}name", values["name"])
    if values["id_expiry"] == "long_term":
        tick(page, f"{prefix}id_expiry-long")
    else:
        type_into(page, f"{prefix}id_expiry", values["id_expiry"])
    choose_radio(page, f"{prefix}acting_as", ids[values["acting_as"]])
    for name in ("principal_id_number", "mandate_ref"):
        if name in values:
            type_into(page, f"{prefix}{name}", values[name])
    tab_to(page, "form[data-step-form] button[type=submit]")
    page.keyboard.press("Enter")


def binding_by_keyboard(page: Page, values: dict[str, str]) -> None:
    for name in ("merchant_no", "uscc", "terminal_sn", "account_number"):
        type_into(page, f"#submit_binding-{name}", values[name])
    page.keyboard.press("Enter")


def expect_state(page: Page, state: str) -> None:
    try:
        expect(page.locator("#case-state")).to_have_attribute("data-state", state)
    except AssertionError:
        alert = page.locator("[role=alert]")
        raise AssertionError(
            f"not in {state} at {page.url}: {alert.all_inner_texts()} {page.content()[:3000]}"
        ) from None


def finish_by_keyboard(page: Page, server: Server, phone: str) -> None:
    expect_state(page, "code_check")
    type_into(page, "#confirm_code-code", sent_code(server, phone))
    page.keyboard.press("Enter")
    expect_state(page, "teller_signoff")
    type_into(page, "#sign_off-password", PASSWORD)
    page.keyboard.press("Enter")
    expect_state(page, "completed")


def test_teller_completes_a_clean_unbind_by_keyboard(page: Page, server: Server) -> None:
    keyboard_login(page, server, "teller1", PASSWORD)
    open_new_case_by_keyboard(page)
    expect_state(page, "identity_check")
    identity_by_keyboard(page, CLEAN_IDENTITY)
    expect_state(page, "info_check")
    binding_by_keyboard(page, CLEAN_BINDING)
    finish_by_keyboard(page, server, "13800138000")
    content = page.content()
    assert "110105198001010016" not in content and "6222021234567890128" not in content


def test_agent_case_approved_by_supervisor1_then_finished(page: Page, server: Server) -> None:
    keyboard_login(page, server, "teller1", PASSWORD)
    reference = open_new_case_by_keyboard(page)
    identity_by_keyboard(page, AGENT_IDENTITY)
    expect_state(page, "supervisor_review")

    assert page.context.browser is not None
    supervisor = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    review = supervisor.new_page()
    try:
        keyboard_login(review, server, "supervisor1", PASSWORD)
        review.goto(f"{server.url}/approvals")
        row = review.get_by_role("link", name=reference)
        expect(row).to_be_visible()
        row.focus()
        review.keyboard.press("Enter")
        review.wait_for_url("**/approvals/*")
        expect(review.locator("#approve-button")).to_be_visible()
        type_into(review, "#comment", "委托书已核验")
        review.keyboard.press("Enter")
        review.wait_for_url("**/approvals?decided=*")
    finally:
        supervisor.close()

    page.reload()
    expect_state(page, "info_check")
    binding_by_keyboard(page, AGENT_BINDING)
    finish_by_keyboard(page, server, "15900159000")

    tab_to(page, f"a[href='/cases/{reference}/slip']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{reference}/slip")
    expect(page.locator("#print-button")).to_be_visible()
    frame = page.locator("#slip-frame")
    expect(frame).to_have_attribute("src", f"/cases/{reference}/slip.pdf?copy=0")
    pdf = page.request.get(f"{server.url}/cases/{reference}/slip.pdf?copy=0")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    page.wait_for_timeout(1500)  # let the PDF viewer draw the page for the screenshot
    screenshot(page, "slip-preview.png")


def test_teller_cannot_approve_their_own_case(page: Page, server: Server) -> None:
    keyboard_login(page, server, "teller1", PASSWORD)
    open_new_case_by_keyboard(page)
    identity_by_keyboard(page, AGENT_IDENTITY)
    expect_state(page, "supervisor_review")
    page.goto(f"{server.url}/approvals")
    link = page.locator("#queue a").first
    approval_id = (link.get_attribute("href") or "").rsplit("/", 1)[1]
    link.click()
    expect(page.locator("#approve-button")).to_have_count(0)
    expect(page.locator("#cannot-decide")).to_be_visible()
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    answer = page.request.post(
        f"{server.url}/approvals/{approval_id}/approve",
        form={"csrf_token": token, "version": "2"},
    )
    assert answer.status == 403


def test_form_error_is_shown_next_to_its_field_in_chinese(page: Page, server: Server) -> None:
    keyboard_login(page, server, "teller1", PASSWORD)
    open_new_case_by_keyboard(page)
    identity_by_keyboard(page, {**CLEAN_IDENTITY, "name": ""})
    error = page.locator("#submit_identity-name-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("姓名为必填项")
    expect(page.locator("#submit_identity-name")).to_have_attribute(
        "aria-describedby", "submit_identity-name-error"
    )
    # The error sits right after its own field, and the keyboard is taken to it.
    expect(page.locator("#submit_identity-name")).to_be_focused()
