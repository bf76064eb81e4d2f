"""``counter workflows``: check, list and draw the workflow definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from sqlalchemy import select

from counter.cli._common import database, fail, friendly_errors, registry, settings
from counter.engine import Catalog, Workflow, check_directory, diagram
from counter.errors import NotFound
from counter.store.tables import TellerCase, WorkflowDefinition
from counter.text import Text

__all__ = ["register"]

workflows_app = typer.Typer(help="业务流程 / workflows", no_args_is_help=True)

WorkflowsDir = Annotated[
    Path | None, typer.Option("--workflows", help="workflow files (default: settings)")
]
FormsDir = Annotated[Path | None, typer.Option("--forms", help="form files (default: settings)")]


def _dirs(workflows: Path | None, forms: Path | None) -> tuple[Path, Path]:
    current = settings()
    return workflows or current.workflows_dir, forms or current.forms_dir


@workflows_app.command("check")
@friendly_errors
def check(workflows: WorkflowsDir = None, forms: FormsDir = None) -> None:
    """Lint every workflow; exit 1 when any has an error (warnings are printed only)."""
    workflows_dir, forms_dir = _dirs(workflows, forms)
    issues = check_directory(workflows_dir, forms_dir, registry())
    for issue in issues:
        where = f"{issue.file}:{issue.line}" if issue.line is not None else issue.file
        typer.echo(f"{where}: {issue.severity}: {issue.message}", err=True)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise fail(f"{len(errors)} 个错误 / {len(errors)} error(s)")
    count = len(list(workflows_dir.glob("*.yaml")))
    typer.echo(f"流程检查通过 / {count} workflow(s) pass ({len(issues)} warning(s))")


@workflows_app.command("list")
@friendly_errors
def list_workflows(workflows: WorkflowsDir = None, forms: FormsDir = None) -> None:
    """The workflows with their current version (content hash)."""
    workflows_dir, forms_dir = _dirs(workflows, forms)
    for workflow in Catalog.load(workflows_dir, forms_dir, registry()):
        definition = workflow.definition
        typer.echo(
            f"{definition.name}\t{workflow.hash[:12]}\t{len(definition.states)} states\t"
            f"{definition.title}"
        )


def _case_workflow(catalog: Catalog, name: str, reference: str) -> tuple[Workflow, str]:
    """The definition version a case runs on and its current state."""
    cases = TellerCase.__table__  # type: ignore[attr-defined]
    stored = WorkflowDefinition.__table__  # type: ignore[attr-defined]
    db = database()
    try:
        with db.read() as conn:
            row = conn.execute(
                select(cases.c.workflow, cases.c.definition_hash, cases.c.state, stored.c.bundle)
                .join(stored, stored.c.hash == cases.c.definition_hash)
                .where(cases.c.reference == reference)
            ).first()
    finally:
        db.dispose()
    if row is None:
        raise NotFound(Text(zh=f"没有案件 {reference}", en=f"No case {reference}"))
    if row.workflow != name:
        raise fail(
            f"案件 {reference} 属于流程 {row.workflow} / case {reference} is a {row.workflow} case"
        )
    if row.definition_hash in catalog:
        return catalog.get(row.definition_hash), row.state
    return catalog.add_bundle(row.bundle), row.state


@workflows_app.command("diagram")
@friendly_errors
def draw(
    name: Annotated[str, typer.Argument(help="workflow name")],
    fmt: Annotated[
        Literal["svg", "mermaid"], typer.Option("--format", help="svg or mermaid")
    ] = "svg",
    case: Annotated[
        str | None, typer.Option("--case", help="highlight this case's state")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write here (default: stdout)")] = None,
    workflows: WorkflowsDir = None,
    forms: FormsDir = None,
) -> None:
    """Draw a workflow, with a case's current state highlighted when ``--case`` is given."""
    workflows_dir, forms_dir = _dirs(workflows, forms)
    catalog = Catalog.load(workflows_dir, forms_dir, registry())
    highlight = None
    if case is not None:
        workflow, highlight = _case_workflow(catalog, name, case)
    else:
        workflow = catalog.current(name)
    drawing = diagram(workflow, fmt, highlight=highlight)
    if out is None:
        typer.echo(drawing)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(drawing, encoding="utf-8")
        typer.echo(f"已写入 {out} / written to {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(workflows_app, name="workflows")
