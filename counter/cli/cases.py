"""``counter cases migrate``: move running cases to the current version of their workflow.

::

    counter cases migrate --workflow pos_unbind --dry-run            # what would happen
    counter cases migrate --workflow pos_unbind --as ops1            # prepare: prints plan N
    counter cases migrate --confirm N --as ops2                      # another user: they move
    counter cases migrate --workflow pos_unbind --revert --as ops1   # prepare moving them back
    counter cases migrate --withdraw N --as ops1                     # drop a plan not confirmed

``--from HASH`` limits it to cases on versions whose hash starts so;
``--reference REF`` (repeatable) to those cases. Both users need the
``operations`` role; the one who prepares a plan cannot confirm it.

``counter review``: the back office's post-transaction review (事后监督)::

    counter review draw --branch BJ001 [--day 2026-11-25]    # the day's sample (idempotent)
    counter review list --as backoffice1                     # open reviews (a supervisor: issues)
    counter review pass 7 --as backoffice1
    counter review issue 8 --reason "..." --as backoffice1
    counter review answer 8 --answer "..." --as supervisor1
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import typer

from counter.cases.migration import CaseMigrations, MigrationView
from counter.cases.post_review import PostReviews, ReviewView
from counter.cases.records import REFERENCE_ZONE
from counter.cases.wiring import wire
from counter.cli._common import database, fail, friendly_errors, settings
from counter.cli.branchday import actor_of
from counter.store.db import Database

__all__ = ["register"]

cases_app = typer.Typer(help="案件运维 / operating on running cases", no_args_is_help=True)
review_app = typer.Typer(
    help="事后监督 / post-transaction review by the back office", no_args_is_help=True
)
As = Annotated[str, typer.Option("--as", help="用户名 / the user")]

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
    withdraw: Annotated[
        int | None, typer.Option("--withdraw", help="撤销未确认的计划 / drop plan N unconfirmed")
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="运维用户 / the operations user")
    ] = None,
) -> None:
    """Show, prepare or confirm moving running cases to their workflow's current version."""
    if confirm is None and withdraw is None and workflow is None:
        raise fail("需要 --workflow 或 --confirm / --workflow or --confirm is required")
    if not dry_run and as_user is None:
        raise fail("需要 --as(运维用户)/ --as is required (an operations user)")
    db = database()
    try:
        migrations = CaseMigrations(wire(db, settings=settings(), attach=False).desk)
        refs = tuple(references or ())
        if withdraw is not None:
            assert as_user is not None
            _show(migrations.withdraw(migration_id=withdraw, actor=actor_of(db, as_user)))
        elif confirm is not None:
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


def _reviews() -> tuple[PostReviews, Database]:
    db = database()
    return PostReviews(wire(db, settings=settings(), attach=False).desk), db


def _decide(call: Callable[[PostReviews, Database], ReviewView]) -> None:
    """Run one review decision and print the review as it now stands."""
    reviews, db = _reviews()
    try:
        done = call(reviews, db)
    finally:
        db.dispose()
    typer.echo(_review_line(done))


def _review_line(review: ReviewView) -> str:
    line = (
        f"  {review.id}  {review.case_reference}  {review.branch}  {review.day}  "
        f"{review.reason}  {review.status}"
    )
    if review.issue:
        line += f"  问题 / issue: {review.issue}"
    if review.answer:
        line += f"  答复 / answer ({review.answered_by}): {review.answer}"
    return line


@review_app.command("draw")
@friendly_errors
def review_draw(
    branch: Annotated[str, typer.Option("--branch", help="网点代码 / branch code")],
    day: Annotated[
        datetime | None,
        typer.Option("--day", formats=["%Y-%m-%d"], help="营业日 / local day (default today)"),
    ] = None,
) -> None:
    """Draw the day's sample and every approved case into the review queue."""
    reviews, db = _reviews()
    try:
        chosen = day.date() if day else datetime.now(REFERENCE_ZONE).date()
        drawn = reviews.draw(branch=branch, day=chosen)
    finally:
        db.dispose()
    typer.echo(f"事后监督抽样 / drawn for review: {len(drawn)} ({branch} {chosen})")
    for review in drawn:
        typer.echo(_review_line(review))


@review_app.command("list")
@friendly_errors
def review_list(as_user: As) -> None:
    """Your queue: open reviews for a reviewer, the branch's issues for a supervisor."""
    reviews, db = _reviews()
    try:
        found = reviews.queue(actor=actor_of(db, as_user))
    finally:
        db.dispose()
    typer.echo(f"待处理 / waiting: {len(found)}")
    for review in found:
        typer.echo(_review_line(review))


@review_app.command("pass")
@friendly_errors
def review_pass(review_id: Annotated[int, typer.Argument()], as_user: As) -> None:
    """Mark a case reviewed: nothing to raise."""
    _decide(lambda reviews, db: reviews.mark_reviewed(
        review_id=review_id, actor=actor_of(db, as_user)
    ))


@review_app.command("issue")
@friendly_errors
def review_issue(
    review_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="问题 / what is wrong")],
    as_user: As,
) -> None:
    """Raise an issue with a reason; the branch's supervisor must answer it."""
    _decide(lambda reviews, db: reviews.raise_issue(
        review_id=review_id, actor=actor_of(db, as_user), reason=reason
    ))


@review_app.command("answer")
@friendly_errors
def review_answer(
    review_id: Annotated[int, typer.Argument()],
    answer: Annotated[str, typer.Option("--answer", help="答复 / the answer")],
    as_user: As,
) -> None:
    """Answer an issue raised on one of your branch's cases (supervisor)."""
    _decide(lambda reviews, db: reviews.answer(
        review_id=review_id, actor=actor_of(db, as_user), answer=answer
    ))


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
    app.add_typer(review_app, name="review")
