"""``counter cases migrate``: move running cases to the current version of their workflow.

::

    counter cases migrate --workflow pos_unbind --dry-run            # what would happen
    counter cases migrate --workflow pos_unbind --as ops1            # prepare: prints plan N
    counter cases migrate --confirm N --as ops2                      # another user: they move
    counter cases migrate --workflow pos_unbind --revert --as ops1   # prepare moving them back

``--from HASH`` limits it to cases on versions whose hash starts so;
``--reference REF`` (repeatable) to those cases. Both users need the
``operations`` role; the one who prepares a plan cannot confirm it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from counter.cases.migration import CaseMigrations, MigrationView
from counter.cases.wiring import wire
from counter.cli._common import database, fail, friendly_errors, settings
from counter.cli.branchday import actor_of

__all__ = ["register"]

cases_app = typer.Typer(help="案件运维 / operating on running cases", no_args_is_help=True)

_OUTCOME = {"move": "迁移 / moves", "stay": "保留 / stays", "refused": "拒绝 / refused"}


def _show(plan: MigrationView) -> None:
    kind = "撤回 / revert" if plan.kind == "revert" else "迁移 / migrate"
    target = f" -> {plan.to_hash[:12]}" if plan.to_hash else f" of plan {plan.reverts}"
    ident = f"计划 / plan {plan.id}" if plan.id is not None else "试运行 / dry run"
    typer.echo(f"{ident}: {kind} {plan.workflow}{target} ({plan.status})")
    for issue in plan.issues:
        typer.echo(f"  {issue}")
    for case in plan.cases:
        dest = f" -> {case.to_state}" if case.to_state else ""
        line = (
            f"  {case.reference}  {case.branch}  v{case.version}  {case.from_hash[:12]}  "
            f"{case.from_state}{dest}  {_OUTCOME.get(case.outcome, case.outcome)}"
        )
        if case.back_for:
            line += f" (补录 / re-collects {case.back_for})"
        if case.reason is not None:
            line += f": {case.reason}"
        if case.result is not None:
            line += f"  [{case.result}{f': {case.result_reason}' if case.result_reason else ''}]"
        typer.echo(line)
    counts = ", ".join(f"{_OUTCOME[o]} {plan.count(o)}" for o in _OUTCOME)
    typer.echo(f"合计 / total {len(plan.cases)}: {counts}")


@cases_app.command("migrate")
@friendly_errors
def migrate(
    workflow: Annotated[
        str | None, typer.Option("--workflow", help="流程名 / workflow name")
    ] = None,
    from_hash: Annotated[
        str | None, typer.Option("--from", help="旧版本哈希前缀 / old version hash prefix")
    ] = None,
    references: Annotated[
        list[str] | None, typer.Option("--reference", help="只迁移这些案件 / only these cases")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只显示,不保存 / show only, store nothing")
    ] = False,
    revert: Annotated[
        bool, typer.Option("--revert", help="撤回上一次迁移 / move back the last migration")
    ] = False,
    confirm: Annotated[
        int | None, typer.Option("--confirm", help="确认计划 / confirm plan N (second user)")
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="运维用户 / the operations user")
    ] = None,
) -> None:
    """Show, prepare or confirm moving running cases to their workflow's current version."""
    if confirm is None and workflow is None:
        raise fail("需要 --workflow 或 --confirm / --workflow or --confirm is required")
    if not dry_run and as_user is None:
        raise fail("需要 --as(运维用户)/ --as is required (an operations user)")
    db = database()
    try:
        migrations = CaseMigrations(wire(db, settings=settings(), attach=False).desk)
        refs = tuple(references or ())
        if confirm is not None:
            assert as_user is not None
            _show(migrations.confirm(migration_id=confirm, actor=actor_of(db, as_user)))
        elif dry_run:
            assert workflow is not None
            _show(migrations.plan(
                workflow=workflow, from_hash=from_hash, references=refs, revert=revert
            ))
        else:
            assert workflow is not None and as_user is not None
            plan = migrations.prepare(
                workflow=workflow, actor=actor_of(db, as_user), from_hash=from_hash,
                references=refs, revert=revert,
            )
            _show(plan)
            typer.echo(
                f"待另一运维用户确认 / another operations user confirms it: "
                f"counter cases migrate --confirm {plan.id} --as USER"
            )
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
