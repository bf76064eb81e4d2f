"""The console as a teller and a supervisor use it, at 1366x768, in Chinese and English.

Every page of the clean, agent and refused paths is checked by axe-core (any
violation fails) and for raw identifiers in its rendered text; the clean case
is counted in keystrokes that are not data; a supervisor's decision reaches
the teller's open page without a reload; wrong codes say so, with the tries
left, and the third hands the case to a supervisor.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from counter.web.i18n import catalog

from .browser import (
    Server,
    check_accessible,
    check_plain_language,
    counter_context,
    keyboard_login,
    screenshot,
)
from .conftest import AGENT_IDENTITY, CLEAN_BINDING, CLEAN_IDENTITY, PASSWORD
from .test_browser import expect_state, sent_code

pytestmark = pytest.mark.browser

HEIGHT = 768


class Keys:
    """The keyboard, counting the keys that are not data (Tab, Enter, Space, shortcuts)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def press(self, key: str) -> None:
        self.count += 1
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


def check(page: Page, lang: str = "zh") -> None:
    """What every page of these paths must be: accessible, and in words."""
    page.wait_for_load_state("load")
    check_accessible(page)
    check_plain_language(page, lang)


def submit_in_view(page: Page) -> None:
    """The step form's submit button is visible at 1366x768 without scrolling."""
    box = page.locator("form[data-step-form] button[type=submit]").bounding_box()
    assert box is not None and box["y"] + box["height"] <= HEIGHT, box


def use_english(page: Page) -> None:
    page.locator("button[name=lang]").click()
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def open_case_by_keys(page: Page, keys: Keys) -> str:
    expect(page.locator("a.button[href='/cases/new']")).to_be_focused()
    keys.press("Enter")
    page.wait_for_url("**/cases/new")
    expect(page.locator("form[action='/cases'] button").first).to_be_focused()
    keys.press("Enter")
    page.wait_for_url(re.compile(r".*/cases/[A-Z0-9-]+$"))
    return page.url.rsplit("/", 1)[1]


def identity_by_keys(page: Page, keys: Keys, values: dict[str, str]) -> None:
    """Resident ID and "in person" are preselected; the focus starts on the number."""
    expect(page.locator("#submit_identity-id_number")).to_be_focused()
    keys.type(values["id_number"])
    keys.press("Tab")
    keys.type(values["name"])
    keys.press("Tab")
    if values["id_expiry"] == "long_term":
        keys.press("Tab")
        keys.press("Space")
    else:
        keys.type(values["id_expiry"])
        keys.press("Tab")
    if values["acting_as"] == "agent":
        keys.press("Tab")
        keys.press("ArrowDown")  # the agent's fields appear
        for name in ("principal_id_number", "mandate_ref"):
            keys.press("Tab")
            expect(page.locator(f"#submit_identity-{name}")).to_be_focused()
            keys.type(values[name])
    keys.press("Enter")


def binding_by_keys(page: Page, keys: Keys, values: dict[str, str]) -> None:
    expect(page.locator("#submit_binding-merchant_no")).to_be_focused()
    for index, name in enumerate(("merchant_no", "uscc", "terminal_sn", "account_number")):
        if index:
            keys.press("Tab")
        keys.type(values[name])
    keys.press("Enter")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_clean_case_by_keyboard_in_at_most_15_keys(
    browser: Browser, server: Server, lang: str
) -> None:
    context = counter_context(browser)
    page = context.new_page()
    try:
        keyboard_login(page, server, "teller1", PASSWORD)
        if lang == "en":
            use_english(page)
            page.goto(f"{server.url}/")
        check(page, lang)
        keys = Keys(page)
        open_case_by_keys(page, keys)
        expect_state(page, "identity_check")
        check(page, lang)
        submit_in_view(page)
        expect(page.locator("#submit_identity-principal_id_number")).to_be_hidden()
        identity_by_keys(page, keys, CLEAN_IDENTITY)
        expect_state(page, "info_check")
        check(page, lang)
        submit_in_view(page)
        if lang == "zh":
            screenshot(page, "case-page.png")
        binding_by_keys(page, keys, CLEAN_BINDING)
        expect_state(page, "code_check")
        check(page, lang)
        expect(page.locator("#code-panel")).to_contain_text("138****8000")
        expect(page.locator("#confirm_code-code")).to_be_focused()
        keys.type(sent_code(server, "13800138000"))
        keys.press("Enter")
        expect_state(page, "teller_signoff")
        check(page, lang)
        expect(page.locator("#sign_off-password")).to_be_focused()
        keys.type(PASSWORD)
        keys.press("Enter")
        expect_state(page, "completed")
        check(page, lang)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        slip = page.locator("a[href$='/slip'][data-next-action]")
        expect(slip).to_be_focused()
        if lang == "zh":
            page.locator("details.hashes").first.evaluate("d => d.open = true")
            screenshot(page, "case-completed.png")
        keys.press("Enter")
        page.wait_for_url("**/slip")
        check(page, lang)
        assert keys.count <= 15, f"{keys.count} keys that are not data"
    finally:
        context.close()


def sign_in(page: Page, server: Server, username: str, lang: str) -> None:
    """Sign in (the login page checked too); in English, switch once signed in (remembered)."""
    page.goto(f"{server.url}/login")
    check(page)
    keyboard_login(page, server, username, PASSWORD)
    if lang == "en":
        use_english(page)
        page.goto(f"{server.url}/")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_agent_case_the_supervisors_decision_reaches_the_open_page(
    browser: Browser, server: Server, lang: str
) -> None:
    teller = counter_context(browser)
    supervisor = counter_context(browser)
    page = teller.new_page()
    review = supervisor.new_page()
    try:
        sign_in(page, server, "teller1", lang)
        keys = Keys(page)
        reference = open_case_by_keys(page, keys)
        identity_by_keys(page, keys, AGENT_IDENTITY)
        expect_state(page, "supervisor_review")
        check(page, lang)
        # Waiting for a supervisor, the focus is on the waiting note, never on the cancel reason.
        expect(page.locator("#pending-title")).to_be_focused()
        expect(page.locator("details.danger-zone")).not_to_have_attribute("open", "")
        page.evaluate("window.stillTheSamePage = true")
        background: list[str | None] = []
        page.on(
            "request",
            lambda request: background.append(request.headers.get("x-counter-background"))
            if request.resource_type == "fetch"
            else None,
        )

        sign_in(review, server, "supervisor1", lang)
        review.goto(f"{server.url}/approvals")
        check(review, lang)
        if lang == "zh":
            screenshot(review, "supervisor-queue.png")
        row = review.locator(f"tr[data-kind=approval] a:text('{reference}')")
        expect(row).to_be_visible()
        row.click()
        review.wait_for_url("**/approvals/*")
        check(review, lang)
        if lang == "zh":
            screenshot(review, "approval-page.png")
        review.goto(f"{server.url}/dashboard")
        check(review, lang)
        review.go_back()
        review.locator("#approve-button").click()
        review.wait_for_url("**/approvals?decided=*")
        check(review, lang)

        # No reload: the page polls, sees the journal move and takes the new content in.
        expect(page.locator("#case-state")).to_have_attribute(
            "data-state", "info_check", timeout=20_000
        )
        assert page.evaluate("window.stillTheSamePage === true")
        # Every request the page made by itself said so (the session's idle time stays put).
        assert background and set(background) == {"1"}, background
        check(page, lang)
        expect(page.locator("#submit_binding-merchant_no")).to_be_focused()
    finally:
        teller.close()
        supervisor.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refused_steps_explain_themselves(browser: Browser, server: Server, lang: str) -> None:
    context = counter_context(browser)
    page = context.new_page()
    words = catalog()
    try:
        sign_in(page, server, "teller1", lang)
        keys = Keys(page)
        # The shortcut listed at the foot of the page: Alt+N, a new case.
        expect(page.locator("footer.shortcuts")).to_contain_text("Alt")
        page.locator("#reference").focus()
        keys.press("Alt+KeyN")
        page.wait_for_url("**/cases/new")
        expect(page.locator("form[action='/cases'] button").first).to_be_focused()
        keys.press("Enter")
        page.wait_for_url(re.compile(r".*/cases/[A-Z0-9-]+$"))
        # A radio group in error takes the focus too (on its first radio).
        page.locator("#submit_identity-id_number").fill(CLEAN_IDENTITY["id_number"])
        page.locator("#submit_identity-name").fill(CLEAN_IDENTITY["name"])
        page.locator("#submit_identity-id_expiry-long").check()
        page.evaluate(
            "document.querySelectorAll('[name=acting_as]').forEach(r => { r.checked = false; })"
        )
        page.locator("form[data-step-form] button[type=submit]").click()
        expect_state(page, "identity_check")
        expect(page.locator("#submit_identity-acting_as-1")).to_be_focused()
        expect(page.locator("#step-alert a[href='#submit_identity-acting_as-1']")).to_be_visible()
        check(page, lang)
        page.locator("#submit_identity-acting_as-1").check()
        page.locator("#submit_identity-id_number").fill("")
        page.locator("#submit_identity-name").fill("")
        page.locator("#submit_identity-id_expiry-long").uncheck()
        page.locator("#submit_identity-id_number").focus()
        identity_by_keys(page, keys, {**CLEAN_IDENTITY, "id_number": "110105198001010017"})
        expect_state(page, "identity_check")
        # The summary names the field and links to it; the field says what is wrong.
        link = page.locator("#step-alert a[href='#submit_identity-id_number']")
        expect(link).to_be_visible()
        expect(page.locator("#submit_identity-id_number-error")).not_to_be_empty()
        check(page, lang)
        # The summary links to the field; the focus is on it.
        expect(page.locator("#submit_identity-id_number")).to_be_focused()
        page.locator("#submit_identity-id_number").fill(CLEAN_IDENTITY["id_number"])
        page.locator("#submit_identity-id_expiry-long").check()
        page.keyboard.press("Enter")
        expect_state(page, "info_check")
        binding_by_keys(page, keys, CLEAN_BINDING)
        expect_state(page, "code_check")

        for left in (2, 1):
            page.locator("#confirm_code-code").fill("000000")
            page.keyboard.press("Enter")
            expect_state(page, "code_check")
            # refused on the code field (422, journaled); the panel counts the tries left
            message = page.locator("#step-alert[role=alert]")
            expect(message).to_contain_text(words.get("finding_code.unbind_code_wrong", lang))
            expect(page.locator("#confirm_code-code-error")).to_contain_text(str(left))
            panel = page.locator("#code-panel")
            expect(panel).to_contain_text(words.get("code.attempts_left", lang, n=left))
            check(page, lang)
            if lang == "zh" and left == 1:
                screenshot(page, "wrong-code.png")
        expect(page.locator("#code-panel")).to_contain_text(words.get("code.last_try", lang))
        expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"\(\d:\d\d\)"))
        page.locator("#confirm_code-code").fill("000000")
        page.keyboard.press("Enter")
        expect_state(page, "supervisor_review")
        expect(page.locator("#pending-title")).to_be_visible()
        expect(page.locator(".note-card")).to_contain_text(
            words.get("finding_code.unbind_code_attempts_exhausted", lang)
        )
        check(page, lang)
        page.locator("details.diagram summary").click()
        image = page.locator("details.diagram img")
        expect(image).to_be_visible()
        page.wait_for_function("() => document.querySelector('details.diagram img').complete")
        check(page, lang)
        # Cancelling says what it does and asks first: dismissed, nothing happens.
        page.locator("details.danger-zone summary").click()
        page.locator("#cancel-reason").fill("客户改日再来")
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.locator("details.danger-zone button.danger").click()
        expect_state(page, "supervisor_review")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("details.danger-zone button.danger").click()
        expect_state(page, "cancelled")
        check(page, lang)
    finally:
        context.close()
