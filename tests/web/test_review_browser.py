"""The back office's and operations' pages in Chromium: accessible (axe-core) and in words.

A reviewer draws the day, opens the drawn case and raises an issue; the
branch's supervisor answers it. An operations user previews and prepares a
migration; a second one confirms it. Every page on the way is checked for
axe violations and raw identifiers, in Chinese and in English.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from counter.branchday import local_day
from counter.store import users
from counter.store.db import Database

from .browser import Server, check_accessible, check_plain_language, counter_context, keyboard_login
from .conftest import CLEAN_BINDING, CLEAN_IDENTITY, PASSWORD
from .test_browser import sent_code

pytestmark = pytest.mark.browser


def _people(server: Server) -> None:
    db = Database(server.database_url)
    try:
        for name, role in (("backoffice1", "post_reviewer"), ("ops1", "operations"),
                           ("ops2", "operations")):
            users.create_user(db, username=name, password=PASSWORD, roles=[role], branch="B001",
                              display_name=name)
    finally:
        db.dispose()


def _completed_case(server: Server) -> str:
    """A clean unbind through the API, to the end."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = client.post("/api/session", json={"username": "teller1", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
        for trigger, data in (
            ("submit_identity", CLEAN_IDENTITY),
            ("submit_binding", CLEAN_BINDING),
            ("confirm_code", None),
            ("sign_off", {"password": PASSWORD}),
        ):
            body = data if data is not None else {"code": sent_code(server, "13800138000")}
            answer = client.post(
                f"/api/cases/{case['reference']}/triggers/{trigger}",
                json={"data": body, "version": case["version"]}, headers=headers,
            )
            assert answer.status_code == 200, answer.text
            case = answer.json()
        reference: str = case["reference"]
        return reference


def check(page: Page, lang: str) -> None:
    page.wait_for_load_state("load")
    check_accessible(page)
    check_plain_language(page, lang)


def _language(page: Page, lang: str) -> None:
    if lang == "en":
        page.locator("button[name=lang]").click()
        page.wait_for_load_state("load")
        expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_review_is_drawn_raised_and_answered(
    browser: Browser, server: Server, lang: str
) -> None:
    _people(server)
    reference = _completed_case(server)
    context = counter_context(browser)
    page = context.new_page()
    try:
        keyboard_login(page, server, "backoffice1", PASSWORD)
        page.wait_for_url("**/reviews")
        _language(page, lang)
        check(page, lang)
        page.fill("#draw-branch", "B001")
        page.fill("#draw-day", local_day(datetime.now(UTC)).isoformat())
        page.locator("#draw-branch").press("Enter")
        expect(page.locator("#review-drawn")).to_be_visible()
        check(page, lang)
        page.locator(f"#review-queue a:has-text('{reference}')").click()
        expect(page.locator("#review-status")).to_have_attribute("data-status", "open")
        check(page, lang)
        page.locator("#issue-button").click()  # no reason: refused at the field
        expect(page.locator("#reason-error")).to_be_visible()
        check(page, lang)
        page.fill("#reason", "凭条客户签名缺失")
        page.locator("#issue-button").click()
        expect(page.locator("#review-decided")).to_be_visible()
        check(page, lang)

        context.close()
        context = counter_context(browser)  # the supervisor's own screen
        page = context.new_page()
        keyboard_login(page, server, "supervisor1", PASSWORD)
        page.wait_for_url("**/approvals")  # the supervisor's queue holds the issue
        _language(page, lang)
        expect(page.locator("tr[data-kind=review_issue]")).to_have_count(1)
        check(page, lang)
        page.goto(f"{server.url}/reviews")
        check(page, lang)
        page.locator(f"#review-queue a:has-text('{reference}')").click()
        check(page, lang)
        page.fill("#answer", "已补签并留档")
        page.locator("#answer-button").click()
        expect(page.locator("#review-empty")).to_be_visible()
        check(page, lang)
    finally:
        context.close()


def test_the_migration_pages_are_accessible_and_in_words(
    browser: Browser, server: Server
) -> None:
    """Preparing and confirming are in test_migration_pages (a new version needs a catalog)."""
    _people(server)
    _completed_case(server)
    context = counter_context(browser)
    page = context.new_page()
    try:
        keyboard_login(page, server, "ops1", PASSWORD)
        page.wait_for_url("**/migrations")
        check(page, "zh")
        page.locator("#preview-button").click()
        expect(page.locator("#migration-counts")).to_be_visible()
        check(page, "zh")
        _language(page, "en")
        check(page, "en")
    finally:
        context.close()
