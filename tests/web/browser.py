"""Fixtures for the browser tests: a real uvicorn server on a free port and Debian's Chromium.

The server runs ``counter.web.app:create_app`` in its own process over a
copy of the seeded test database. Chromium is ``/usr/lib/chromium/chromium``
driven by Playwright (never a browser Playwright downloads). Where it cannot
start, the tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import re
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
from playwright.sync_api import Browser, BrowserContext, Error, Page, expect, sync_playwright

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
AXE = ROOT / ".node" / "node_modules" / "axe-core" / "axe.min.js"
README_IMAGES = os.environ.get("COUNTER_README_IMAGES") == "1"
"""Screenshots for the README are written only by ``make readme-images``, never by a test run."""


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


def counter_context(browser: Browser, *, width: int = 1366, height: int = 768) -> BrowserContext:
    """A teller's or a supervisor's screen (1366x768 by default) with axe-core loaded in each page.

    axe is added as an init script (the console's CSP admits no inline script);
    a missing axe fails under ``CI=true`` and skips elsewhere, like Chromium.
    """
    if not AXE.is_file():
        _cannot_start(f"axe-core is not installed at {AXE}: run scripts/system-deps.sh test")
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    context.set_default_timeout(20_000)
    context.add_init_script(path=str(AXE))
    return context


# Rules left out: none. Every violation fails the test, with its rule, impact and nodes.
def check_accessible(page: Page) -> None:
    """Run axe-core on the page as it is now; fail on any violation."""
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))"
        ".slice(0, 5)}))"
    )
    assert result == [], f"axe on {page.url}: {result}"


# A workflow identifier is written in snake_case: a page that shows one shows a raw name.
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# On Chinese pages a bare lowercase English word is an untranslated value (done, refused...).
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9@./:-])[a-z]{3,}(?![A-Za-z0-9@./:-])")


def check_plain_language(page: Page, lang: str = "zh") -> None:
    """Fail if the rendered text shows a raw identifier (or, in Chinese, an English value)."""
    text = page.locator("body").inner_text()
    found = set(_IDENTIFIER.findall(text))
    if lang == "zh":
        found |= set(_LATIN_WORD.findall(text))
    assert not found, f"raw identifiers on {page.url}: {sorted(found)}"


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
    """A full-page screenshot for the README (``make readme-images`` only), images loaded."""
    if not README_IMAGES:
        return
    page.wait_for_function(
        "() => Array.from(document.images).filter(image => image.getAttribute('src'))"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=True)
