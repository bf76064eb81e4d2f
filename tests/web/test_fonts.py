"""The console's rare-character fonts: a stylesheet of unicode-range pieces, each piece a WOFF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from counter.slips.fonts import piece_of


def test_the_stylesheet_names_a_piece_for_every_rare_ideograph(client: TestClient) -> None:
    answer = client.get("/fonts/rare.css")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")
    css = answer.text
    assert css.count("@font-face") > 100
    assert css.rstrip().endswith('sans-serif; }') and ':root { font-family: "Counter Rare",' in css
    slug, number = piece_of("𠮷") or ("", 0)
    rule = next(r for r in css.splitlines() if f"/fonts/rare/{slug}-{number}.woff" in r)
    ranges = re.search(r"unicode-range: ([^;]+);", rule)
    assert ranges is not None
    spans = [
        tuple(int(x, 16) for x in span.strip()[2:].split("-"))
        for span in ranges.group(1).split(",")
    ]
    assert any(span[0] <= 0x20BB7 <= span[-1] for span in spans)
    assert piece_of("张") is None  # the console's own fonts have the common characters


def test_a_piece_is_a_woff_and_anything_else_is_not_found(client: TestClient) -> None:
    slug, number = piece_of("𰻞") or ("", 0)
    piece = client.get(f"/fonts/rare/{slug}-{number}.woff")
    assert piece.status_code == 200 and piece.content[:4] == b"wOFF"
    assert piece.headers["cache-control"].startswith("public")
    for path in ("wqy-0", "hana-b-99999", "..%2Fconfig-1", "hana-b-x"):
        assert client.get(f"/fonts/rare/{path}.woff").status_code in (404, 422)


def test_every_console_page_links_the_stylesheet(client: TestClient) -> None:
    assert '<link rel="stylesheet" href="/fonts/rare.css">' in client.get("/login").text


def test_the_rare_family_goes_in_front_of_the_consoles_own_stack() -> None:
    """If static/app.css changes its font stack, CONSOLE_STACK must follow it."""
    from counter.web.app import STATIC_DIR
    from counter.web.routes.fonts import CONSOLE_STACK

    assert f"font-family: {CONSOLE_STACK};" in (STATIC_DIR / "app.css").read_text(encoding="utf-8")
