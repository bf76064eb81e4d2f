"""The example in docs/workflows.md loads and passes the graph rules of lint."""

from __future__ import annotations

import re
from pathlib import Path

from counter.engine.lint import lint
from counter.engine.loader import load_workflow
from counter.engine.parsing import parse_form
from counter.engine.registry import Registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


def test_the_documented_example_loads(tmp_path: Path) -> None:
    workflow_text, form_text = re.findall(r"```yaml\n(.*?)```", DOC.read_text("utf-8"), re.S)[:2]
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "identity.yaml").write_text(form_text, "utf-8")
    path = tmp_path / "card_replacement.yaml"
    path.write_text(workflow_text, "utf-8")
    workflow = load_workflow(path, tmp_path / "forms")
    assert parse_form(form_text, "identity.yaml").name == "identity"
    rules = {issue.rule for issue in lint(workflow, Registry())}
    assert rules == {"unknown_name", "unknown_form"}  # no registry, two forms not shown
