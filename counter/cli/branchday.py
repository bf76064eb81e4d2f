"""``counter session`` (tellers' counters and handovers) and ``counter day`` (end of day).

::

    counter session open --user teller1 --window 3
    counter session close --user teller1
    counter session list --branch BJ001
    counter session handover --user teller1 --case REF --to teller2
    counter session accept --user teller2 --case REF        (also: decline, withdraw)
    counter day close --branch BJ001 --as supervisor1 [--day 2026-11-25] [--out FILE.pdf]
    counter day report --branch BJ001 --day 2026-11-25 --out FILE.pdf
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from counter.branchday import handover, sessions
from counter.cases.records import REFERENCE_ZONE
from counter.cli._common import database, fail, friendly_errors
from counter.engine.types import Actor
from counter.progress import ProgressBar
from counter.store.db import Database, utcnow
from counter.store.users import get_user

__all__ = ["register"]

session_app = typer.Typer(
    help="柜台开关与业务移交 / tellers' counter sessions and handovers", no_args_is_help=True
)
day_app = typer.Typer(help="网点日终 / the branch's end of day", no_args_is_help=True)

User = Annotated[str, typer.Option("--user", help="柜员用户名 / the teller's username")]
Case = Annotated[str, typer.Option("--case", help="案件编号 / case reference")]
_DAY = ["%Y-%m-%d"]


def actor_of(db: Database, username: str) -> Actor:
    user = get_user(db, username=username)
    if not user.active:
        raise fail(f"用户 {username} 已停用 / user {username} is inactive")
    return Actor(username=username, roles=frozenset(user.roles), branch=user.branch)


def _when(at: datetime | None) -> str:
    if at is None:
        return "-"
    return at.astimezone(REFERENCE_ZONE).strftime("%Y-%m-%d %H:%M")


@session_app.command("open")
@friendly_errors
def open_session(
    user: User,
    window: Annotated[int, typer.Option("--window", help="窗口号 / window number")],
) -> None:
    """Open a teller's counter at a window (before they take cases)."""
    db = database()
    try:
        opened = sessions.open_counter(db, actor=actor_of(db, user), window=window, now=utcnow())
    finally:
        db.dispose()
    typer.echo(
        f"柜台已开启 / counter open: {opened.teller} {opened.branch} "
        f"窗口 / window {opened.window} ({_when(opened.opened_at)})"
    )


@session_app.command("close")
@friendly_errors
def close_session(user: User) -> None:
    """Close a teller's counter: refused while they answer for an open case."""
    db = database()
    try:
        closed = sessions.close_counter(db, actor=actor_of(db, user), now=utcnow())
    finally:
        db.dispose()
    typer.echo(
        f"柜台已关闭 / counter closed: {closed.teller} 窗口 / window {closed.window} "
        f"({_when(closed.opened_at)} - {_when(closed.closed_at)})"
    )


@session_app.command("list")
@friendly_errors
def list_sessions(
    branch: Annotated[str, typer.Option("--branch", help="网点代码 / branch code")],
) -> None:
    """The branch's open counters and the handovers waiting for acceptance."""
    db = database()
    try:
        found = sessions.branch_sessions(db, branch=branch)
        waiting = handover.pending_handovers(db, branch=branch)
    finally:
        db.dispose()
    if not found:
        typer.echo("没有开启的柜台 / no counter is open")
    for s in found:
        typer.echo(f"{s.window:>3}  {s.teller:<16} {_when(s.opened_at)}")
    for h in waiting:
        typer.echo(
            f"移交待接收 / handover pending: {h.case_reference} {h.from_teller} -> {h.to_teller}"
        )


@session_app.command("handover")
@friendly_errors
def offer(
    user: User,
    case: Case,
    to: Annotated[str, typer.Option("--to", help="接收柜员 / receiving teller")],
    note: Annotated[str | None, typer.Option("--note", help="说明 / note")] = None,
) -> None:
    """Offer an open case to another teller of the branch (pending until they accept)."""
    db = database()
    try:
        offered = handover.offer_handover(
            db, reference=case, actor=actor_of(db, user), to_teller=to, note=note, now=utcnow()
        )
    finally:
        db.dispose()
    typer.echo(
        f"已发起移交,待 {offered.to_teller} 接收 / handover offered, waiting for "
        f"{offered.to_teller}: {offered.case_reference}"
    )


def _decision(name: str, decide: Callable[..., handover.HandoverView], help_text: str) -> None:
    @session_app.command(name, help=help_text)
    @friendly_errors
    def command(user: User, case: Case) -> None:
        db = database()
        try:
            done = decide(db, reference=case, actor=actor_of(db, user), now=utcnow())
        finally:
            db.dispose()
        typer.echo(f"移交 / handover {done.case_reference}: {done.status}")


_decision("accept", handover.accept_handover, "Accept a case handed to you (at your open counter).")
_decision("decline", handover.decline_handover, "Decline a case handed to you.")
_decision("withdraw", handover.withdraw_handover, "Withdraw a handover you offered.")


@day_app.command("close")
@friendly_errors
def close_day(
    branch: Annotated[str, typer.Option("--branch", help="网点代码 / branch code")],
    supervisor: Annotated[str, typer.Option("--as", help="主管用户名 / the supervisor")],
    day: Annotated[
        datetime | None,
        typer.Option("--day", formats=_DAY, help="营业日(默认今日)/ business day, default today"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="报告 PDF 写入此文件 / write the report PDF here")
    ] = None,
) -> None:
    """Close the branch's business day: refused while a case, an approval or a counter is open."""
    from counter.branchday.closing import close_day as close
    from counter.branchday.wiring import wire_counter

    db = database()
    try:
        wired = wire_counter(db, attach=False)
        with ProgressBar("校验日志 / verifying the journal") as bar:
            closed = close(
                db,
                branch=branch,
                actor=actor_of(db, supervisor),
                describe=wired.desk.workflow_of,
                now=utcnow(),
                day=day.date() if day is not None else None,
                on_progress=bar.update,
            )
    finally:
        db.dispose()
    f = closed.figures
    typer.echo(
        f"网点 {branch} {closed.day} 已日终 / day closed: {f.cases} 笔业务 cases "
        f"{dict(f.outcomes)}; 日志校验 / journal chain: {'OK' if f.chain.ok else 'BROKEN'}\n"
        f"报告 SHA-256 / report SHA-256: {closed.report_sha256}"
    )
    if out is not None:
        _write_pdf(out, closed.pdf)


@day_app.command("report")
@friendly_errors
def day_report(
    branch: Annotated[str, typer.Option("--branch", help="网点代码 / branch code")],
    day: Annotated[datetime, typer.Option("--day", formats=_DAY, help="营业日 / business day")],
    out: Annotated[Path, typer.Option("--out", help="报告 PDF 写入此文件 / PDF file to write")],
) -> None:
    """Write the stored end-of-day report of a closed day (the PDF whose hash was journaled)."""
    from counter.branchday.closing import closed_day

    db = database()
    try:
        closed = closed_day(db, branch=branch, day=day.date())
    finally:
        db.dispose()
    _write_pdf(out, closed.pdf)


def _write_pdf(out: Path, pdf: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    typer.echo(f"日终报告 / end-of-day report: {out} ({len(pdf)} bytes)")


def register(app: typer.Typer) -> None:
    """Add ``session`` and ``day`` to ``app``."""
    app.add_typer(session_app, name="session")
    app.add_typer(day_app, name="day")
