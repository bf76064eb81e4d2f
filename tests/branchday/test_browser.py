"""The dashboard and the end-of-day report in Debian's Chromium, with screenshots for the docs.

The app runs in a uvicorn server in this process (a thread), over a database
filled through a ``CounterDesk`` whose clock the test sets: five earlier
business days of cases, then a day in progress at 15:30 Beijing time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from flagship.helpers import PASSWORD, Counter
from playwright.sync_api import Page, expect
from web.browser import browser, page, screenshot

from counter.branchday import close_counter
from counter.web.app import create_app
from counter.web.context import WebContext

from .helpers import awaiting_approval, cancelled, completed, identified, open_at

__all__ = ["browser", "page"]  # web/browser.py's fixtures, used here

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)  # 15:30 in Beijing


def _history(counter: Counter) -> None:
    """Five earlier days: cases from 09:00 to 16:00 Beijing, some cancelled at once."""
    for back in range(5, 0, -1):
        counter.clock.now = NOW - timedelta(days=back) - timedelta(hours=6, minutes=30)  # 09:00
        open_at(counter, "teller2", window=2)
        for hour in range(7):
            for _ in range((hour + back) % 3 + 1):
                case = identified(counter, "teller2")
                counter.clock.advance(minutes=2 + hour)
                counter.fire(case, "cancel", {"reason": "客户改期"}, actor="teller2")
            counter.clock.advance(minutes=50)
        close_counter(counter.desk.db, actor=counter.actors["teller2"], now=counter.clock.now)


def _today(counter: Counter) -> list[str]:
    counter.clock.now = NOW - timedelta(hours=6, minutes=15)
    open_at(counter, "teller1", window=1)
    open_at(counter, "teller2", window=2)
    completed(counter, "teller1")
    still: list[str] = []
    for hour in range(6):
        counter.clock.advance(minutes=40)
        still.append(identified(counter, "teller2").reference)
        if hour % 2:
            cancelled(counter, "teller1")
    counter.clock.now = NOW - timedelta(minutes=25)
    still.append(awaiting_approval(counter, "teller1").reference)
    counter.clock.now = NOW
    return still


@pytest.fixture
def live(counter: Counter) -> Iterator[tuple[str, Counter]]:
    web = WebContext(
        settings=counter.desk.services.settings,
        db=counter.desk.db,
        desk=counter.desk,
        dispatcher=counter.wired.dispatcher,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(web.settings, context=web),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(f"{url}/login").status_code == 200
    try:
        yield url, counter
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _login(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)


def test_dashboard_and_report_in_the_browser(live: tuple[str, Counter], page: Page) -> None:
    url, counter = live
    _history(counter)
    still = _today(counter)
    _login(page, url, "supervisor1")
    page.goto(f"{url}/dashboard")
    expect(page.locator("[data-figure=waiting]")).to_have_text("1")
    expect(page.locator("#live svg")).to_have_count(3)
    screenshot(page, "dashboard.png")

    for reference in still:
        view = counter.desk.get(reference=reference, actor=counter.actors["teller1"])
        if view.state == "supervisor_review":
            counter.fire(view, "approve", {}, actor="supervisor1")
        counter.fire(reference, "cancel", {"reason": "客户改日再来"}, actor="teller1")
    for teller in ("teller1", "teller2"):
        close_counter(counter.desk.db, actor=counter.actors[teller], now=counter.clock.now)
    page.goto(f"{url}/branch-day")
    page.get_by_role("button").filter(has_text="日终").click()
    page.wait_for_url(lambda u: u.endswith("/branch-day/2026-11-25"))
    expect(page.locator(".eod-report h1")).to_have_text("网点日终报告")
    expect(page.locator(".eod-report svg")).to_have_count(4)
    screenshot(page, "end-of-day-report.png")
