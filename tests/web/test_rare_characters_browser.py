"""The rare-character list in Chromium: every character drawn from the fonts the console serves.

A merchant is renamed to the whole list (tests/data/rare_names.txt), a
case is opened for it, and the teller finds it by name. Chromium then says,
through the DevTools protocol, which fonts drew the merchant's cell: the
rare characters must come from the served ``Counter Rare`` pieces (so a
branch PC without these fonts shows them), the rest from the console's own
stack, and no other font on this machine may have stepped in.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from counter.slips.fonts import CHAIN, face_for, piece_of

from .browser import Server, keyboard_login, screenshot
from .conftest import CLEAN_BINDING, CLEAN_IDENTITY, PASSWORD

pytestmark = pytest.mark.browser

RARE_NAMES = Path(__file__).resolve().parents[1] / "data" / "rare_names.txt"
LOCAL_STACK = {"WenQuanYi Micro Hei", "Noto Sans CJK SC"}
"""The console's own fonts (static/app.css) that this machine has."""


def rare_text() -> str:
    lines = RARE_NAMES.read_text(encoding="utf-8").splitlines()
    texts = [line.split("|")[1].strip() for line in lines if line.strip() and line[0] != "#"]
    # NFC (the form layer's rule) would fold the compatibility ideographs; a stored
    # name holds them as the registry gave them, and this is what the page shows.
    return "".join(texts)


@pytest.fixture
def seeded_database(seeded_database: Path, tmp_path: Path) -> Iterator[Path]:
    """The seeded database with the clean merchant renamed to every rare character."""
    copy = tmp_path / "rare-seed.db"
    shutil.copyfile(seeded_database, copy)
    conn = sqlite3.connect(copy)
    try:
        with conn:
            conn.execute(
                "UPDATE registry_merchant SET merchant_name = ? WHERE merchant_no = ?",
                (rare_text(), CLEAN_BINDING["merchant_no"]),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the server gets a copy of the file
    finally:
        conn.close()
    yield copy


def open_rare_case(server: Server) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = client.post(
            "/api/session", json={"username": "teller1", "password": PASSWORD}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
        steps = (("submit_identity", CLEAN_IDENTITY), ("submit_binding", CLEAN_BINDING))
        for trigger, data in steps:
            answer = client.post(
                f"/api/cases/{case['reference']}/triggers/{trigger}",
                json={"data": data, "version": case["version"]},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            case = answer.json()
    reference: str = case["reference"]
    return reference


def warm_pieces(server: Server) -> set[str]:
    """Have the server cut the pieces the page needs (a second each on a cold cache), so
    that the page's load does not wait for them; their paths."""
    paths = {f"/fonts/rare/{slug}-{number}.woff" for slug, number in
             filter(None, map(piece_of, rare_text()))}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for path in sorted(paths):
            answer = client.get(path)
            assert answer.status_code == 200 and answer.headers["content-type"] == "font/woff"
            assert answer.content[:4] == b"wOFF"
    return paths


def test_every_rare_character_is_drawn_from_a_served_font(page: Page, server: Server) -> None:
    reference = open_rare_case(server)
    needed = warm_pieces(server)
    pieces: list[str] = []
    page.on(
        "response",
        lambda r: pieces.append(r.url) if "/fonts/rare/" in r.url and r.ok else None,
    )
    keyboard_login(page, server, "teller1", PASSWORD)
    page.goto(f"{server.url}/search?reference=𠮷祥")
    cell = page.locator("td.merchant-name")
    expect(cell).to_have_count(1)
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    assert cell.inner_text() == rare_text()
    page.evaluate("() => document.fonts.ready.then(() => true)")
    screenshot(page, "rare-characters-console.png")

    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "td.merchant-name"})
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    # A served piece reports its own name table's family, and isCustomFont.
    served = [font for font in used if font["isCustomFont"]]
    local = {font["familyName"] for font in used if not font["isCustomFont"]}
    assert local <= LOCAL_STACK, used  # no other font of this machine stepped in
    assert {font["familyName"] for font in served} == {f.family for f in CHAIN if f.web}
    rare = [c for c in rare_text() if face_for(c) not in (None, CHAIN[0])]
    assert sum(font["glyphCount"] for font in served) == len(rare)
    assert sum(font["glyphCount"] for font in used) == len(rare_text())
    assert {url.removeprefix(server.url) for url in pieces} == needed
