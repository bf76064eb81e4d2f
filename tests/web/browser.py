"""Fixtures for the browser tests: a real uvicorn server on a free port and Debian's Chromium.

The server runs ``counter.web.app:create_app`` in its own process over a
copy of the seeded test database. Chromium is ``/usr/lib/chromium/chromium``
driven by Playwright (never a browser Playwright downloads). Where it cannot
start, the tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Error, Page, expect, sync_playwright

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(seeded_database: Path, tmp_path: Path) -> Iterator[Server]:
    database = tmp_path / "counter.db"
    shutil.copyfile(seeded_database, database)
    database_url = f"sqlite:///{database}"
    port = _free_port()
    env = {
        **os.environ,
        "COUNTER_DATABASE_URL": database_url,
        "COUNTER_DEMO_MODE": "true",
        "COUNTER_SECRET_KEY": "browser-test-secret",
        "COUNTER_VAR_DIR": str(tmp_path),
    }
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "counter.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError((tmp_path / "server.log").read_text(errors="replace"))
            time.sleep(0.1)
        yield Server(url=url, database_url=database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# One Playwright per test module, not per session: the sync API keeps an asyncio
# loop running in the main thread until it stops, and later tests that call
# asyncio.run() (the load and crash tests), or another module's Playwright,
# would find it still running.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        playwright = sync_playwright().start()
    except Error as exc:  # pragma: no cover - depends on the machine
        _cannot_start(f"Playwright could not start: {exc}")
        raise
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Error as exc:  # pragma: no cover - depends on the machine
        playwright.stop()
        _cannot_start(f"Chromium at {CHROMIUM} could not start: {exc}")
        raise
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


def _cannot_start(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests fail, not skip)")
    pytest.skip(reason)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus: proves it is reachable by keyboard."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with Tab in {limit} presses")


def keyboard_login(page: Page, server: Server, username: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot for the README, once every image on the page has loaded."""
    page.wait_for_function(
        "() => Array.from(document.images).every(image => image.complete && image.naturalWidth > 0)"
    )
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=True)
