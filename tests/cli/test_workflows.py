"""``counter workflows check|list|diagram``."""

from __future__ import annotations

from pathlib import Path

from engine.parcel import FORMS, TELLER, parcel_runtime

from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.store.db import Database

from .conftest import Invoke

ROOT = Path(__file__).resolve().parents[2]


def test_the_product_workflows_pass(counter: Invoke) -> None:
    result = counter("workflows", "check")
    assert result.exit_code == 0, result.output
    listed = counter("workflows", "list")
    assert listed.exit_code == 0 and "pos_unbind" in listed.output


def test_a_broken_workflow_fails_with_file_and_line(counter: Invoke, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\ntitle: {zh: 坏, en: Broken}\ninitial: start\nstates:\n"
        "  start: {}\n  lost: {final: true}\n  end: {final: true}\n"
        "transitions:\n  - {trigger: go, source: start, dest: end, roles: [teller]}\n",
        encoding="utf-8",
    )
    result = counter("workflows", "check", "--workflows", str(tmp_path), "--forms", str(FORMS))
    assert result.exit_code == 1
    assert "broken.yaml:" in result.output and "lost" in result.output


def test_diagrams_in_both_formats(counter: Invoke, tmp_path: Path) -> None:
    mermaid = counter("workflows", "diagram", "pos_unbind", "--format", "mermaid")
    assert mermaid.exit_code == 0, mermaid.output
    assert "stateDiagram" in mermaid.output
    out = tmp_path / "pos.svg"
    svg = counter("workflows", "diagram", "pos_unbind", "--format", "svg", "--out", str(out))
    assert svg.exit_code == 0, svg.output
    assert out.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    assert counter("workflows", "diagram", "no_such_flow").exit_code == 1


def test_a_case_diagram_uses_the_case_version_and_state(
    counter: Invoke, db: Database, tmp_path: Path
) -> None:
    """The case's definition comes from its stored bundle: no file on disk is needed."""
    desk = Desk(db, parcel_runtime(), Services(db=db))
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    empty = tmp_path / "no-workflows"
    empty.mkdir()
    result = counter("workflows", "diagram", "parcel_pickup", "--case", case.reference,
                     "--format", "mermaid", "--workflows", str(empty))
    assert result.exit_code == 0, result.output
    assert "identify" in result.output
    wrong = counter("workflows", "diagram", "pos_unbind", "--case", case.reference,
                    "--format", "mermaid", "--workflows", str(empty))
    assert wrong.exit_code == 1
