"""``counter.slips.fonts``: the chain's coverage and the console's web-font pieces and cache."""

from __future__ import annotations

from pathlib import Path

from counter.slips.fonts import CHAIN, face_for, piece_of, uncovered, web_font_css, web_font_piece


def test_each_character_comes_from_the_first_face_that_has_it() -> None:
    assert face_for("张") == CHAIN[0]
    assert face_for("㐀") is not None and face_for("㐀") != CHAIN[0]
    assert uncovered("张三 𠮷") == []
    assert uncovered("张\U00030041") == ["\U00030041"]  # an Extension G character no face has


def test_the_stylesheet_and_pieces_are_kept_under_the_fonts_fingerprint(tmp_path: Path) -> None:
    css = web_font_css(cache_dir=tmp_path)
    [kept] = list(tmp_path.glob("*/rare-*.css"))
    assert kept.read_text(encoding="utf-8") == css
    kept.write_text("/* kept */\n", encoding="utf-8")
    assert web_font_css(cache_dir=tmp_path) == "/* kept */\n"  # read, not made again
    slug, number = piece_of("𠮷") or ("", 0)
    piece = web_font_piece(slug, number, tmp_path)
    assert piece is not None and piece[:4] == b"wOFF"
    assert (kept.parent / f"{slug}-{number}.woff").read_bytes() == piece
    assert web_font_piece("wqy", 0, tmp_path) is None
    assert web_font_piece(slug, 10**6, tmp_path) is None
