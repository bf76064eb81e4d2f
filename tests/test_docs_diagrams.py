"""The workflow diagrams in README.md and docs/ are the workflows as they are (`make diagrams`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from counter.cli import app

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- diagram: (\w+) -->\n```mermaid\n(.*?)```", re.DOTALL)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DRAWN = [
    (page.relative_to(ROOT).as_posix(), name, body)
    for page in PAGES
    for name, body in BLOCK.findall(page.read_text(encoding="utf-8"))
]


def test_the_readme_draws_all_three_doors() -> None:
    assert {name for page, name, _ in DRAWN if page == "README.md"} == {
        "pos_unbind", "pos_unbind_online", "pos_unbind_phone"
    }


@pytest.mark.parametrize(("page", "name", "body"), DRAWN, ids=[f"{p}:{n}" for p, n, _ in DRAWN])
def test_a_drawn_diagram_is_the_workflow_as_it_is(page: str, name: str, body: str) -> None:
    drawn = CliRunner().invoke(app, ["workflows", "diagram", name, "--format", "mermaid"])
    assert drawn.exit_code == 0, drawn.output
    assert body == drawn.output.rstrip("\n") + "\n", f"{page}: run `make diagrams`"
