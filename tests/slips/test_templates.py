"""``slip_sources``: the set of files a slip needs, to be stored with a definition bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter.errors import ConfigurationError, NotFound
from counter.slips import (
    FORMATS,
    SLIPS_DIR,
    SlipRenderer,
    slip_format,
    slip_sources,
    sources_digest,
    template_file_name,
)
from counter.slips.render import default_renderer, renderer_for

from .factories import all_text, slip_context


def test_sources_hold_the_template_what_it_uses_and_every_stylesheet() -> None:
    sources = slip_sources("pos_unbind")
    assert set(sources) == {
        "pos_unbind.html.j2",
        "base.html.j2",
        "macros.html.j2",
        "slip.css",
        "roll80.css",
    }
    assert sources["slip.css"] == (SLIPS_DIR / "slip.css").read_text(encoding="utf-8")


@pytest.mark.parametrize("slip", ["pos_unbind", "settlement_card_change"])
def test_every_workflow_slip_has_its_files(slip: str) -> None:
    sources = slip_sources(slip)
    assert template_file_name(slip) in sources
    for stylesheets in FORMATS.values():
        assert set(stylesheets) <= set(sources)


def test_digest_depends_on_content_not_order() -> None:
    sources = slip_sources("pos_unbind")
    reordered = dict(reversed(list(sources.items())))
    assert sources_digest(reordered) == sources_digest(sources)
    changed = sources | {"slip.css": sources["slip.css"] + "\n/* changed */\n"}
    assert sources_digest(changed) != sources_digest(sources)
    # Name and text are delimited: moving a character from one to the other changes it.
    assert sources_digest({"ab": "c"}) != sources_digest({"a": "bc"})


def test_template_file_name() -> None:
    assert template_file_name("pos_unbind") == "pos_unbind.html.j2"
    assert template_file_name("pos_unbind.html.j2") == "pos_unbind.html.j2"


def test_missing_files_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        slip_sources("pos_unbind", tmp_path)
    (tmp_path / "lonely.html.j2").write_text('{% extends "gone.html.j2" %}', encoding="utf-8")
    with pytest.raises(NotFound) as caught:
        slip_sources("lonely", tmp_path)
    assert "gone.html.j2" in caught.value.message.en


def test_slip_format_checks_settings_values() -> None:
    assert slip_format("roll80") == "roll80"
    with pytest.raises(ConfigurationError) as caught:
        slip_format("A4")
    assert "a5" in caught.value.message.en


def test_renderer_rereads_a_changed_file(tmp_path: Path) -> None:
    for path in SLIPS_DIR.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    renderer = SlipRenderer(tmp_path)
    first = renderer.sources("pos_unbind")
    assert renderer.sources("pos_unbind") is first  # unchanged files are not read again
    template = tmp_path / "pos_unbind.html.j2"
    template.write_text(
        template.read_text(encoding="utf-8").replace("商户名称", "特约商户"), encoding="utf-8"
    )
    assert "特约商户" in renderer.sources("pos_unbind")["pos_unbind.html.j2"]
    assert "特约商户" in all_text(renderer.render("pos_unbind", slip_context()))


def test_each_template_directory_has_one_renderer_per_process(tmp_path: Path) -> None:
    """Issuing slips reads the templates through it: once, then again only when changed."""
    for path in SLIPS_DIR.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert renderer_for(tmp_path) is renderer_for(tmp_path / ".")
    assert renderer_for(SLIPS_DIR) is default_renderer()
    first = renderer_for(tmp_path).sources("pos_unbind")
    assert renderer_for(tmp_path).sources("pos_unbind") is first
